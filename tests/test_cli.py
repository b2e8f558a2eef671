"""The `twin` command as a user runs it: `python -m twin ...` in a fresh process, in an empty folder.

A good run writes its files under outputs/simulate/DATE/TIME; bad input ends with exactly one line on
stderr, exit status 2, no traceback and no run directory; a sweep writes one directory per run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import h5py
import pytest
import yaml
from fixtures import small_line

TIMEOUT = 180  # s per process; a normal one takes a few seconds of JAX start-up and compilation


def twin(cwd, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}  # its tracebacks are opt-in
    return subprocess.run(
        [sys.executable, "-m", "twin", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )


def errors(stderr: str) -> list[str]:
    """The lines of stderr but plausibility warnings (`twin simulate: warning: ...`), which may precede an error."""
    return [ln for ln in stderr.strip().splitlines() if ": warning: " not in ln]


def run_dirs(root, kind: str = "simulate") -> list:
    """outputs/simulate/DATE/TIME, or outputs/multirun/DATE/TIME/N."""
    pattern = "*/*/*" if kind == "multirun" else "*/*"
    return sorted(p for p in (root / "outputs" / kind).glob(pattern) if p.is_dir())


def test_simulate_writes_the_run_files(tmp_path):
    proc = twin(tmp_path, "simulate", "duration=120", "snapshot_every=60", "render=false")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    (run,) = run_dirs(tmp_path)
    assert run.relative_to(tmp_path).parts[:2] == ("outputs", "simulate")
    assert (run / "results.h5").is_file() and (run / "metrics.json").is_file()
    assert not (run / "final_field.png").exists()  # render=false
    assert f"wrote {run}/results.h5, metrics.json" in proc.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["duration_h"] == pytest.approx(120 / 3600)
    with h5py.File(run / "results.h5", "r") as f:
        assert f.attrs["scene"] == "gigafactory_cell"
        assert f.attrs["duration_s"] == pytest.approx(120.0)
        assert f["fields/temperature"].shape[0] == 3
        config = yaml.safe_load(f["config"].asstr()[()])
    assert config == yaml.safe_load((run / ".hydra" / "config.yaml").read_text())  # the resolved config
    assert (config["duration"], config["render"], config["precision"]) == (120, False, "float32")


def _bad_key_scene(tmp_path) -> str:
    scene = small_line()
    scene["conveyor"] = {}  # singular: not a scene key
    (tmp_path / "my_line.yaml").write_text(yaml.safe_dump(scene))
    return "scene=my_line.yaml"


def _broken_yaml(tmp_path) -> str:
    (tmp_path / "broken.yaml").write_text("name: broken\ngrid: {size: [8.0, 4.0], spacing: 0.5\nbackground: {k: 1}\n")
    return "scene=broken.yaml"


def _line_on_a_1d_grid(tmp_path) -> str:
    scene = small_line()
    scene["grid"] = {"size": [8.0], "spacing": 0.5}
    for key in ("zones", "ambient", "heaters", "hvac", "robots", "sensors"):
        scene.pop(key)
    scene["boundaries"] = {"x_min": scene["boundaries"]["x_min"]}
    (tmp_path / "line_1d.yaml").write_text(yaml.safe_dump(scene))
    return "scene=line_1d.yaml"


BAD_INPUTS = [
    pytest.param(
        ["simulate", "+scene.zones.oven_shell.k=-3"],
        "twin simulate: error: scene.zones.oven_shell.k: -3.0 — conductivity must be > 0",
        id="negative-k",
    ),
    pytest.param(["simulate", "scene=no_such_line"], "scene: 'no_such_line' — no such scene", id="unknown-scene"),
    pytest.param(["simulate", "solver=runge_kutta"], "solver/runge_kutta", id="unknown-solver"),
    pytest.param(["simulate", "duration=-60"], "twin simulate: error: duration: -60", id="negative-duration"),
    pytest.param(
        ["simulate", "precision=float16"],
        "precision: 'float16' — did you mean 'float64'? allowed: float32, float64",
        id="bad-precision",
    ),
    pytest.param(["simulate", _bad_key_scene], "scene.conveyor", id="scene-file-bad-key"),
    pytest.param(["simulate", _broken_yaml], "broken.yaml:3", id="scene-file-yaml-syntax"),
    pytest.param(["simulat"], "twin: error: unknown command 'simulat'", id="unknown-command"),
    pytest.param(["simulate", "-m", "duration=60,-5"], "twin simulate: error: duration: -5", id="sweep-bad-value"),
    pytest.param(["simulate", "-m", "nokey=1,2"], "Could not override 'nokey'", id="sweep-unknown-key"),
    pytest.param(
        ["simulate", "+scene.sources.press.box=[[20.0,4.0],[22.0,5.0]]", "+scene.sources.press.power=-5"],
        "scene.sources.press.power: -5.0 — power must be ≥ 0 W",
        id="source-negative-power",
    ),
    pytest.param(
        ["simulate", "solver=steady"], "scene.conveyors.main.parts: 'parts' — parts move", id="steady-with-parts"
    ),
    pytest.param(
        ["simulate", _line_on_a_1d_grid],
        "scene.conveyors.belt.path[0]: [0.25, 2.0] — expected 1 coordinates [x]",
        id="1d-grid-2d-conveyor",
    ),
    pytest.param(
        ["simulate", "+scene.sensors.wall={kind: surface_temperature, position: [10.0, 6.0], period: 10.0}"],
        "scene.sensors.wall.position: [10.0, 6.0] — a surface sensor must lie on a boundary face",
        id="surface-sensor-off-every-face",
    ),
    pytest.param(
        ["simulate", "solver=backward_euler", "solver.dt=600"],
        "solver.dt: 600.0 — must be ≤ 30 s, half the part interval on conveyor 'main'",
        id="dt-above-a-bound",
    ),
    pytest.param(
        ["simulate", "scene.boundaries.x_min.temperature=1.0e30", "duration=600"],
        "simulation: temperature field became non-finite at t = ",
        id="non-finite-run",
    ),
    pytest.param(
        ["record", "record.dropouts=1.5"],
        "record.dropouts: 1.5 — probability that a stored sample is lost must be in [0, 1)",
        id="record-dropouts",
    ),
    pytest.param(
        ["record", "+record.sensors.nope.noise_sd=0.1"],
        "record.sensors.nope: None — no such sensor in the scene",
        id="record-unknown-sensor",
    ),
    pytest.param(["record", "record.start=soon"], "record.start: 'soon' — not an ISO 8601 time", id="record-start"),
]


@pytest.mark.parametrize("args, expected", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_no_run_dir(tmp_path, args, expected):
    args = [a(tmp_path) if callable(a) else a for a in args]
    proc = twin(tmp_path, *args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = errors(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0]
    assert run_dirs(tmp_path) == []
    outputs = tmp_path / "outputs"
    assert not outputs.exists() or [p for p in outputs.rglob("*") if p.is_file()] == []


def test_record_writes_telemetry_the_reader_accepts(tmp_path):
    from twin.telemetry import files

    (tmp_path / "my_line.yaml").write_text(yaml.safe_dump(small_line()))
    args = ["record", "scene=my_line.yaml", "duration=60", "progress=false", "record.start=2026-03-02T06:00:00Z"]
    proc = twin(tmp_path, *args, "record.noise=0.02", "record.deadband=1")
    assert proc.returncode == 0, proc.stderr
    (run,) = run_dirs(tmp_path, "record")
    assert f"wrote {run}/telemetry.h5" in proc.stdout
    telemetry = files.read(run / "telemetry.h5")
    assert telemetry.scene == "small_line" and telemetry.start.isoformat() == "2026-03-02T06:00:00+00:00"
    assert {"tc", "w"} <= set(telemetry.sensors) and telemetry.sensors["w"].unit == "kW"
    assert "twin record: warning: sensor 'p1' has no defined reading" in proc.stderr  # no pick in 60 s


def test_help_exits_0(tmp_path):
    proc = twin(tmp_path, "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: twin COMMAND")
    assert "simulate" in proc.stdout and proc.stderr == ""
    assert not (tmp_path / "outputs").exists()


def test_cfg_job_prints_a_scene_given_by_path(tmp_path):
    (tmp_path / "my_line.yaml").write_text(yaml.safe_dump(small_line()))
    proc = twin(tmp_path, "simulate", "scene=my_line.yaml", "solver=backward_euler", "--cfg", "job")
    assert proc.returncode == 0, proc.stderr
    config = yaml.safe_load(proc.stdout)
    assert config["scene"]["name"] == "small_line"
    assert config["solver"]["method"] == "backward_euler"
    assert run_dirs(tmp_path) == []


def test_sweep_writes_one_run_dir_per_value(tmp_path):
    proc = twin(tmp_path, "simulate", "-m", "duration=60,90", "render=false", "snapshot_every=30")
    assert proc.returncode == 0, proc.stderr
    runs = run_dirs(tmp_path, "multirun")
    assert [p.name for p in runs] == ["0", "1"]
    assert runs[0].parent == runs[1].parent  # outputs/multirun/DATE/TIME/{0,1}
    for run, duration in zip(runs, (60, 90)):
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["duration_h"] == pytest.approx(duration / 3600)
        with h5py.File(run / "results.h5", "r") as f:
            assert f["fields/temperature"].shape[0] == duration // 30 + 1
    assert run_dirs(tmp_path) == []


@pytest.mark.parametrize("enabled", [True, False])
def test_compile_cache_keeps_compiled_programs_in_its_directory_unless_turned_off(tmp_path, enabled):
    cache = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_COMPILATION_CACHE", "HYDRA_FULL_ERROR"))}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "twin",
            "simulate",
            "scene=oven_wall_1d",
            "duration=600",
            "progress=false",
            "render=false",
            f"compile_cache={str(enabled).lower()}",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**env, "TWIN_CACHE_DIR": str(cache)},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    written = [f for f in cache.rglob("*") if f.is_file()] if cache.exists() else []
    assert bool(written) == enabled
