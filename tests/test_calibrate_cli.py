"""`twin calibrate` as a user runs it, in a fresh process: telemetry recorded from the small line with
known values → the calibrated scene, calibration.json/.h5 and the pictures in the run directory, the
values recovered within their σ; a sensor the scene lacks is a warning; bad input is one line, exit 2,
nothing written; a calibration killed with SIGKILL and resumed ends where an uninterrupted one did."""

from __future__ import annotations

import dataclasses
import functools
import json
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import yaml
from test_calibrate import NOISE, TRUTH, _scene, _true_run
from test_cli import errors, twin

from twin.scene.files import dump_yaml, load_scene
from twin.telemetry import files
from twin.telemetry.record import Recording, SensorRecording, record

CALIBRATION = {
    "parameters": {
        "efficiency": {"path": "heaters.h1.efficiency", "lower": 0.3, "upper": 1.0},
        "c_p": {"path": "conveyors.belt.parts.c_p", "lower": 300.0, "upper": 3000.0},
    },
    "max_iterations": 30,
}
GHOST = "ghost_tc"  # a sensor the scene lacks


@functools.cache
def _telemetry() -> files.Telemetry:
    own = {name: SensorRecording(noise_sd=sd) for name, sd in NOISE.items()}
    recording = Recording(start="2026-03-02T06:00:00Z", noise=0.0, seed=4, dropouts=0.02, deadband=1.0, sensors=own)
    telemetry = record(_true_run(), recording)
    tc = telemetry.sensors["tc"]
    return dataclasses.replace(telemetry, sensors={**telemetry.sensors, GHOST: tc})


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    """A folder with the small line's scene, its calibration spec and telemetry recorded from TRUTH."""
    folder = tmp_path_factory.mktemp("calibrate")
    (folder / "small.yaml").write_text(dump_yaml(_scene()))
    (folder / "small_cal.yaml").write_text(yaml.safe_dump(CALIBRATION))
    files.write(folder / "telemetry.h5", _telemetry())
    return folder


ARGS = ("calibrate", "scene=small.yaml", "calibrate=small_cal.yaml", "telemetry=telemetry.h5", "progress=false")


@pytest.fixture(scope="module")
def calibrated(line):
    proc = twin(line, *ARGS, "hydra.run.dir=first")
    assert proc.returncode == 0, proc.stderr
    return line / "first", proc


def test_calibrate_writes_the_calibrated_scene_and_its_reports(calibrated):
    run, proc = calibrated
    assert "Traceback" not in proc.stderr
    assert f"warning: telemetry.h5: sensor {GHOST!r} is not in the scene: skipped" in proc.stderr
    report = json.loads((run / "calibration.json").read_text())
    for name, path in (("efficiency", "heaters.h1.efficiency"), ("c_p", "conveyors.belt.parts.c_p")):
        p = report["parameters"][name]
        assert p["path"] == path and abs(p["estimate"] - TRUTH[path]) < 3 * p["sd"], (name, p)
        low, high = p["interval_95"]
        assert low < p["estimate"] < high
    assert report["converged"] and report["unidentifiable"] == []
    assert set(report["sensors"]) == set(NOISE)  # the ghost skipped
    for quality in report["sensors"].values():
        assert quality["rmse"] < 3 * quality["noise_sd"] and abs(quality["bias"]) < quality["rmse"]
    scene = load_scene(run / "scene.yaml")  # what `twin simulate scene=PATH` reads
    assert scene.heaters["h1"].efficiency == report["parameters"]["efficiency"]["estimate"]
    assert scene.conveyors["belt"].parts.c_p == report["parameters"]["c_p"]["estimate"]
    with h5py.File(run / "calibration.h5", "r") as f:
        k = len(report["parameters"])
        assert f["evaluations/z"].shape == (report["evaluations"], k)
        assert f["optimum/covariance"].shape == (k, k)
        np.testing.assert_allclose(f["optimum/estimate"][()], [p["estimate"] for p in report["parameters"].values()])
        assert set(f["sensors"]) == set(NOISE)
    for picture in ("loss.png", "sensors.png", "residuals.png"):
        assert (run / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (run / "calibration_journal.json").exists()  # a finished run leaves no journal
    assert "wrote " in proc.stdout and "efficiency" in proc.stdout


def test_a_float32_calibration_runs_and_says_which_estimate_is_at_its_bound(line):
    """float32 runs the same fit (the Hessian's differences of gradients are coarser); c_p's upper bound
    below its truth (1100) holds it there, and the run says so."""
    proc = twin(line, *ARGS, "precision=float32", "calibrate.parameters.c_p.upper=1050", "hydra.run.dir=f32")
    assert proc.returncode == 0, proc.stderr
    assert "warning: at a bound: c_p: the data push past it" in proc.stderr
    report = json.loads((line / "f32" / "calibration.json").read_text())
    c_p, efficiency = report["parameters"]["c_p"], report["parameters"]["efficiency"]
    assert c_p["at_bound"] and c_p["estimate"] == pytest.approx(1050.0)
    truth = TRUTH["heaters.h1.efficiency"]
    assert abs(efficiency["estimate"] - truth) < 3 * efficiency["sd"] and not efficiency["at_bound"]


def _not_hdf5(folder) -> list[str]:
    (folder / "notes.h5").write_text("sensor,value\n")
    return ["telemetry=notes.h5"]


def _truncated(folder) -> list[str]:
    data = (folder / "telemetry.h5").read_bytes()
    (folder / "cut.h5").write_bytes(data[: len(data) // 2])
    return ["telemetry=cut.h5"]


def _edited(name: str, edit):
    """A copy of the telemetry with its sensor tc edited by `edit(group)`."""

    def make(folder) -> list[str]:
        files.write(folder / name, _telemetry())
        with h5py.File(folder / name, "r+") as f:
            edit(f["sensors/tc"])
        return [f"telemetry={name}"]

    return make


def _replace(g, dataset, values) -> None:
    del g[dataset]
    g[dataset] = values


def _given(*overrides: str):
    return lambda folder: ["telemetry=telemetry.h5", *overrides]


BAD_INPUTS = {
    "no telemetry": (lambda folder: [], "telemetry: <missing> — required: the recorded telemetry file"),
    "not HDF5": (_not_hdf5, "notes.h5: None — not an HDF5 file"),
    "truncated": (_truncated, "cut.h5: None — cannot be read as HDF5 (truncated or damaged?)"),
    "no value": (
        _edited("no_value.h5", lambda g: g.__delitem__("value")),
        "no_value.h5:/sensors/tc/value: None — missing",
    ),
    "times back": (_edited("back.h5", lambda g: _replace(g, "t", g["t"][()][::-1])), "back.h5:/sensors/tc/t: "),
    "unit": (
        _edited("amps.h5", lambda g: g.attrs.__setitem__("unit", "A")),
        "amps.h5:/sensors/tc: 'A' — the attribute unit",
    ),
    "all bad": (
        _edited("all_bad.h5", lambda g: _replace(g, "quality", np.full(g["t"].shape, 2, np.uint8))),
        "all_bad.h5:/sensors/tc/value: ",
    ),
    "unknown key": (_given("+calibrate.max_iteration=5"), "calibrate.max_iteration: 5 — unknown key; did you mean"),
    "bounds": (_given("calibrate.parameters.c_p.lower=4000"), "calibrate.parameters.c_p.lower: 4000.0 — must be below"),
    "not a number": (
        _given("calibrate.parameters.c_p.path=name"),
        "scene.name: 'small_line' — not a number in the scene",
    ),
    "layout": (_given("calibrate.parameters.c_p.path=grid.spacing"), "scene.grid.spacing: 0.5 — changes the layout"),
    "noise of no sensor": (_given("+calibrate.noise.nope.sd=1"), "calibrate.noise.nope: 'nope' — no recorded sensor"),
    "nothing to resume": (_given("calibrate.resume=true"), "calibrate.resume: True — "),
}


@pytest.mark.parametrize("bad", list(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_and_nothing_written(line, bad):
    make, expected = BAD_INPUTS[bad]
    given = make(line)
    before = sorted(p.name for p in line.iterdir())
    proc = twin(line, *[a for a in ARGS if not a.startswith("telemetry=")], *given, "hydra.run.dir=refused")
    lines = errors(proc.stderr)
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("twin calibrate: error: "), proc.stderr
    assert expected in lines[0] and "Traceback" not in proc.stderr
    assert sorted(p.name for p in line.iterdir()) == before  # no run directory, nothing else


@pytest.mark.slow
def test_killed_calibration_resumes_to_the_uninterrupted_estimates(line, calibrated):
    """SIGKILL after a few evaluations; the journal survives; calibrate.resume=true ends where the
    uninterrupted run ended (L-BFGS-B is deterministic, the journal holds every evaluation exactly)."""
    run = line / "killed"
    journal = run / "calibration_journal.json"
    command = [sys.executable, "-m", "twin", *ARGS, f"hydra.run.dir={run.name}"]
    proc = subprocess.Popen(command, cwd=line, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 170
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.is_file() and len(json.loads(journal.read_text())["evaluations"]) >= 4:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the calibration ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(json.loads(journal.read_text())["evaluations"])
    assert done >= 4 and not (run / "calibration.json").exists()

    other = twin(line, *ARGS, "calibrate.max_iterations=7", "calibrate.resume=true", f"hydra.run.dir={run.name}")
    assert other.returncode == 2 and "another calibration's" in other.stderr and journal.is_file()

    resumed = twin(line, *ARGS, "calibrate.resume=true", f"hydra.run.dir={run.name}")
    assert resumed.returncode == 0, resumed.stderr
    first = json.loads((calibrated[0] / "calibration.json").read_text())
    again = json.loads((run / "calibration.json").read_text())
    assert again["evaluations"] == first["evaluations"]
    for name, p in first["parameters"].items():
        assert again["parameters"][name]["estimate"] == pytest.approx(p["estimate"], rel=1e-8)
        assert again["parameters"][name]["sd"] == pytest.approx(p["sd"], rel=1e-8)
    assert not journal.exists()
