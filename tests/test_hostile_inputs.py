"""Hostile inputs and faults, as a user or a script would make them, in API and CLI form.

Every case ends with one TwinInputError (API) or one line on stderr and exit status 2 (CLI): no
traceback, nothing left behind, nothing that existed before removed. Classes: scene files that are not
plain data (interpolations, resolvers, defaults lists, alias bombs, deep nesting, other encodings, odd
file names), run settings out of range, runs too large for memory or time, run directories shared with
other runs or with the user's own folders, sweeps whose later jobs are bad.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import yaml
from fixtures import small_line
from test_cli import errors
from test_cli import twin as run_twin

import twin
from twin.run import checkpoint
from twin.run.files import _json_numbers
from twin.scene.files import MAX_DEPTH, read_scene_mapping


def _alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def _scene_text(**extra) -> str:
    return yaml.safe_dump({**small_line(), **extra})


SCENE_FILES = [  # (file name, bytes, what the one-line error names)
    pytest.param("env.yaml", _scene_text(name="${oc.env:HOME}").encode(), "scene.name", id="env-interpolation"),
    pytest.param("escaped.yaml", _scene_text(name="\\${oc.env:HOME}").encode(), "scene.name", id="escaped-env"),
    pytest.param("resolver.yaml", _scene_text(name="${foo:bar}").encode(), "scene.name", id="unknown-resolver"),
    pytest.param(
        "number.yaml",
        _scene_text(initial_temperature="${oc.env:SECRET}").encode(),
        "scene.initial_temperature",
        id="env-in-a-number",
    ),
    pytest.param(
        "nested.yaml", _scene_text(ambient={"T": "${now:%H}"}).encode(), "scene.ambient.T", id="resolver-deep-inside"
    ),
    pytest.param("defaults.yaml", _scene_text(defaults=["base"]).encode(), "scene.defaults", id="defaults-list"),
    pytest.param("latin1.yaml", "name: caf\xe9\n".encode("latin-1"), "latin1.yaml:1", id="latin-1"),
    pytest.param("binary.yaml", bytes(range(256)) * 4, "binary.yaml:2", id="binary"),  # the first \n is byte 10
    pytest.param("deep.yaml", ("[" * 50_000 + "]" * 50_000 + "\n").encode(), "nested too deeply", id="deep-nesting"),
    pytest.param(
        "deep_map.yaml",
        ("{a: " * (MAX_DEPTH + 5) + "1" + "}" * (MAX_DEPTH + 5) + "\n").encode(),
        "nested too deeply",
        id="deep-mapping",
    ),
    pytest.param("bomb.yaml", _alias_bomb().encode(), "too large a scene", id="alias-bomb"),
    pytest.param("list.yaml", b"- 1\n- 2\n", "a scene file must hold a mapping", id="not-a-mapping"),
    pytest.param("empty.yaml", b"", "a scene file must hold a mapping", id="empty-file"),
    pytest.param("tag.yaml", b"name: !!python/object/apply:os.system ['true']\n", "not valid YAML", id="python-tag"),
]


@pytest.mark.parametrize("name, content, where", SCENE_FILES)
def test_scene_files_are_data(tmp_path, name, content, where):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(twin.SceneError) as info:
        twin.load_scene(path)
    assert where in str(info.value) and "\n" not in str(info.value)


def test_an_environment_variable_never_reaches_the_scene(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_TEST_SECRET", "hunter2")
    path = tmp_path / "secret.yaml"
    path.write_text(_scene_text(name="${oc.env:TWIN_TEST_SECRET}"))
    with pytest.raises(twin.SceneError) as info:
        read_scene_mapping(path)
    assert "hunter2" not in str(info.value)


API_INPUTS = [  # (call, the key path the error names)
    pytest.param(lambda: twin.load_scene(42), "scene", id="load-scene-int"),
    pytest.param(lambda: twin.load_scene("gigafactory_cell", "name=x"), "overrides", id="overrides-a-string"),
    pytest.param(lambda: twin.load_scene("gigafactory_cell", ["name"]), "overrides", id="override-without-value"),
    pytest.param(
        lambda: twin.load_scene("gigafactory_cell", ["name=${oc.env:HOME}"]), "scene.name", id="override-interpolation"
    ),
    pytest.param(
        lambda: twin.load_scene({**small_line(), "name": "${oc.env:HOME}"}), "scene.name", id="mapping-interpolation"
    ),
    pytest.param(lambda: twin.Solver(dt=-1.0), "solver.dt", id="solver-negative-dt"),
    pytest.param(lambda: twin.Solver(dt=math.nan), "solver.dt", id="solver-nan-dt"),
    pytest.param(lambda: twin.Solver(dt="1"), "solver.dt", id="solver-text-dt"),
    pytest.param(lambda: twin.Solver(safety=5.0, max_dt=100.0), "solver.safety", id="solver-safety-above-1"),
    pytest.param(lambda: twin.Solver(method="rk4"), "solver.method", id="solver-unknown-method"),
    pytest.param(lambda: twin.Solver(maxiter=0), "solver.maxiter", id="solver-maxiter-0"),
    pytest.param(lambda: twin.Solver(maxiter=2.5), "solver.maxiter", id="solver-maxiter-float"),
    pytest.param(lambda: twin.Solver(tol=-1e-6), "solver.tol", id="solver-negative-tol"),
    pytest.param(lambda: twin.Solver(mechanics_dt=0.0), "solver.mechanics_dt", id="solver-zero-mechanics-dt"),
    pytest.param(lambda: twin.Limits(memory_GiB=-1.0), "limits.memory_GiB", id="limits-negative-memory"),
    pytest.param(lambda: twin.Limits(steps=0), "limits.steps", id="limits-zero-steps"),
]


@pytest.mark.parametrize("call, where", API_INPUTS)
def test_api_inputs_are_refused_at_their_key(call, where):
    with pytest.raises(twin.TwinInputError) as info:
        call()
    assert str(info.value).startswith(f"{where}: ")


def test_overrides_read_numbers_as_the_command_line_does():
    scene = twin.load_scene("gigafactory_cell", ["heaters.oven_1.setpoint=1.3e2", "scene.initial_temperature=2e1"])
    assert (scene.heaters["oven_1"].setpoint, scene.initial_temperature) == (130.0, 20.0)
    assert twin.load_scene(small_line()).name == "small_line"  # a mapping is a scene too


@pytest.fixture(scope="module")
def scene():
    return twin.scene_from_mapping(small_line())


SIMULATE_INPUTS = [  # (keyword arguments to twin.simulate, the key path named)
    pytest.param({"duration": -60.0}, "duration", id="negative-duration"),
    pytest.param({"duration": 0}, "duration", id="zero-duration"),
    pytest.param({"duration": math.inf}, "duration", id="infinite-duration"),
    pytest.param({"snapshot_every": 0.0}, "snapshot_every", id="zero-snapshot-interval"),
    pytest.param({"precision": "float16"}, "precision", id="float16"),
    pytest.param({"device": "tpu"}, "device", id="unknown-device"),
    pytest.param({"solver": "explicit"}, "solver", id="solver-as-text"),
    pytest.param({"limits": {"steps": 10}}, "limits", id="limits-as-mapping"),
    pytest.param({"duration": 1e12}, "duration", id="too-many-steps"),
    pytest.param({"limits": twin.Limits(steps=10)}, "duration", id="steps-above-the-limit"),
    pytest.param(
        {"snapshot_every": 1e-3, "limits": twin.Limits(memory_GiB=1e-3)}, "snapshot_every", id="snapshots-above-memory"
    ),
]


@pytest.mark.parametrize("kwargs, where", SIMULATE_INPUTS)
def test_run_settings_are_refused_before_any_step(scene, kwargs, where):
    with pytest.raises(twin.TwinInputError) as info:
        twin.simulate(scene, **kwargs)
    assert str(info.value).startswith(f"{where}: ")


SIZE_DRIVERS = [  # (scene change, the key the memory estimate names)
    pytest.param(
        lambda s: s["sensors"].update(fast={"kind": "air_temperature", "position": [4.0, 2.0], "period": 1e-12}),
        "scene.sensors.fast.period",
        id="sensor-period",
    ),
    pytest.param(
        lambda s: s["conveyors"]["belt"]["parts"].update(length=1e-9, min_gap=0.0),
        "scene.conveyors.belt.parts.length",
        id="tiny-parts",
    ),
    pytest.param(lambda s: s["grid"].update(spacing=0.001), "scene.grid.spacing", id="fine-grid"),
]


@pytest.mark.parametrize("change, where", SIZE_DRIVERS)
def test_a_run_too_large_for_memory_is_refused_naming_its_key(change, where):
    spec = small_line()
    change(spec)
    with pytest.raises(twin.TwinInputError) as info:
        twin.simulate(twin.scene_from_mapping(spec), duration=60.0, limits=twin.Limits(memory_GiB=1.0))
    message = str(info.value)
    assert message.startswith(f"{where}: ") and "GiB" in message and "limits.memory_GiB" in message


def test_metrics_json_has_no_bare_nan():
    text = json.dumps(
        _json_numbers({"a": math.nan, "b": [1.0, math.inf], "c": {"d": -math.inf, "e": 2}}), allow_nan=False
    )
    assert json.loads(text) == {"a": None, "b": [1.0, None], "c": {"d": None, "e": 2}}


# ------------------------------------------------------------------------------------------ command line


def _tree(root) -> dict:
    """Every path under root, with file sizes (directories: None)."""
    return {str(p.relative_to(root)): (p.stat().st_size if p.is_file() else None) for p in root.rglob("*")}


def _refused(proc, expected: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = errors(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0], lines[0]


def _small_line_file(folder, file_name: str = "line.yaml", **extra):
    (folder / file_name).write_text(_scene_text(**extra))
    return file_name


CLI_INPUTS = [  # (arguments, a phrase of the one line)
    pytest.param(
        lambda d: [f"scene={_small_line_file(d, name='${oc.env:HOME}')}"], "scene.name", id="scene-file-interpolation"
    ),
    pytest.param(
        lambda d: [f"scene={_small_line_file(d, defaults=['x'])}"], "scene.defaults", id="scene-file-defaults"
    ),
    pytest.param(lambda d: ["-m", "solver.dt=1.0,5.0", "duration=60"], "solver.dt: 5.0", id="sweep-later-dt"),
    pytest.param(
        lambda d: ["-m", "scene.grid.spacing=0.25,1.5", "duration=60"], "covers no cell", id="sweep-later-grid"
    ),
    pytest.param(lambda d: ["duration=1e12"], "limits.steps", id="absurd-duration"),
    pytest.param(
        lambda d: ["+scene.sensors.fast={kind: air_temperature, position: [10.0, 6.0], period: 1e-12}"],
        "scene.sensors.fast.period",
        id="absurd-sensor-period",
    ),
    pytest.param(lambda d: ["limits.memory_GiB=-1"], "limits.memory_GiB", id="negative-memory-limit"),
    pytest.param(
        lambda d: ["scene.robots.robot_a.payload.mass=18.0"],
        "scene.robots.robot_a.payload.mass",
        id="payload-above-rating",
    ),
    pytest.param(
        lambda d: ["scene.arms.kr20_class.joints.A2.gear_ratio=-1.0"],
        "scene.arms.kr20_class.joints.A2.gear_ratio",
        id="negative-gear-ratio",
    ),
]


@pytest.mark.parametrize("args, expected", CLI_INPUTS)
def test_cli_refuses_before_anything_is_written(tmp_path, args, expected):
    args = args(tmp_path)
    before = _tree(tmp_path)
    _refused(run_twin(tmp_path, "simulate", *args), expected)
    assert _tree(tmp_path) == before


CLI_SCENE_FILES = ["latin-1", "deep-nesting", "alias-bomb", "unknown-resolver", "python-tag"]


@pytest.mark.parametrize("name, content, where", [p for p in SCENE_FILES if p.id in CLI_SCENE_FILES])
def test_cli_refuses_scene_files_that_are_not_data(tmp_path, name, content, where):
    (tmp_path / name).write_bytes(content)
    before = _tree(tmp_path)
    _refused(run_twin(tmp_path, "simulate", f"scene={name}"), where)
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("name", ["123.yaml", "a,b.yaml", "with space.yaml"])
def test_any_scene_file_name_composes(tmp_path, name):
    _small_line_file(tmp_path, name)
    proc = run_twin(tmp_path, "simulate", f"scene={name}", "--cfg", "job")
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load(proc.stdout)["scene"]["name"] == "small_line"


NON_FINITE = ["scene.boundaries.x_min.temperature=1.0e30", "duration=600", "progress=false"]


def test_a_refused_run_keeps_the_folder_it_ran_in(tmp_path):
    """hydra.run.dir=. in the user's folder: the run fails after Hydra made .hydra/ there; the folder,
    its parents and the user's own file stay, Hydra's files go."""
    today = tmp_path / "runs" / "today"
    today.mkdir(parents=True)
    (today / "notes.txt").write_text("mine")
    before = _tree(tmp_path)
    _refused(run_twin(today, "simulate", "hydra.run.dir=.", *NON_FINITE), "became non-finite")
    assert _tree(tmp_path) == before


def test_a_second_run_into_a_run_directory_is_refused_unless_overwrite(tmp_path):
    good = ["hydra.run.dir=good", "duration=60", "render=false", "progress=false"]
    assert run_twin(tmp_path, "simulate", *good).returncode == 0
    before = _tree(tmp_path)
    _refused(run_twin(tmp_path, "simulate", "hydra.run.dir=good", *NON_FINITE), "holds another run")
    assert _tree(tmp_path) == before  # the good run's .hydra/ and results untouched
    first = (tmp_path / "good" / "results.h5").stat().st_mtime_ns
    proc = run_twin(tmp_path, "simulate", *good, "overwrite=true")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "good" / "results.h5").stat().st_mtime_ns > first
    assert json.loads((tmp_path / "good" / "metrics.json").read_text())["duration_h"] == pytest.approx(60 / 3600)


def test_a_sweep_into_a_sweep_directory_with_results_is_refused(tmp_path):
    job = tmp_path / "sweep" / "0"
    job.mkdir(parents=True)
    (job / "results.h5").write_bytes(b"not mine to delete")
    before = _tree(tmp_path)
    _refused(run_twin(tmp_path, "simulate", "-m", "hydra.sweep.dir=sweep", "duration=60,120"), "holds another run")
    assert _tree(tmp_path) == before


def test_a_refused_run_removes_only_the_folders_it_made(tmp_path):
    os.makedirs(tmp_path / "outputs" / "simulate")
    (tmp_path / "outputs" / "simulate" / "keep").mkdir()
    before = _tree(tmp_path)
    _refused(run_twin(tmp_path, "simulate", *NON_FINITE), "became non-finite")
    assert _tree(tmp_path) == before


@pytest.mark.parametrize(
    "make, phrase",
    [
        (lambda d: (d / "afile").write_text("x") and "afile", "is a file"),
        (lambda d: (d / "afile").write_text("x") and "afile/run", "lies under a file"),
    ],
    ids=["run-dir-is-a-file", "run-dir-under-a-file"],
)
def test_a_run_directory_that_cannot_be_one_is_refused(tmp_path, make, phrase):
    where = make(tmp_path)
    before = _tree(tmp_path)
    _refused(run_twin(tmp_path, "simulate", f"hydra.run.dir={where}"), phrase)
    assert _tree(tmp_path) == before


# ------------------------------------------------------------------------------------------ a full disk


@pytest.fixture
def small_disk(tmp_path):
    """mount(size) -> an empty folder on a real file system of `size` (tmpfs), unmounted after the test;
    skipped where this user may not mount (needs root or CAP_SYS_ADMIN)."""
    mounted = []

    def mount(size: str):
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a small file system here: {proc.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=True)


FULL_DISK = [  # (disk size, run arguments, what could not be written)
    pytest.param("4k", ["duration=60"], "Hydra's files (.hydra/, the log)", id="no-room-for-hydra-files"),
    pytest.param("64k", ["duration=600"], "the run files", id="no-room-for-results"),
    pytest.param("64k", ["duration=7200", "checkpoint_every=600"], "its checkpoint", id="no-room-for-a-checkpoint"),
]


@pytest.mark.parametrize("size, args, what", FULL_DISK)
def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, small_disk, size, args, what):
    disk = small_disk(size)
    proc = run_twin(tmp_path, "simulate", f"hydra.run.dir={disk}/run", "progress=false", *args)
    assert proc.returncode == 1, proc.stderr  # a fault, not bad input
    assert errors(proc.stderr) == [
        f"twin simulate: error: cannot write {what} in {disk / 'run'}: No space left on device"
    ], proc.stderr
    assert list(disk.iterdir()) == []


def test_a_full_disk_raises_one_oserror_from_python_and_leaves_nothing(scene, small_disk):
    disk = small_disk("64k")
    with pytest.raises(OSError) as info:
        twin.simulate(scene, 1200.0, snapshot_every=10.0, checkpoints=twin.Checkpoints(disk / "c.h5", every=300.0))
    assert info.value.errno == errno.ENOSPC
    assert [p.name for p in disk.iterdir()] in ([], ["c.h5"])  # the last checkpoint that fitted, whole
    if (disk / "c.h5").exists():
        checkpoint.read(disk / "c.h5")
        (disk / "c.h5").unlink()
    result = twin.simulate(scene, 1200.0, snapshot_every=10.0)
    with pytest.raises(OSError) as info:
        twin.write_run(result, disk, {}, render=False)
    assert info.value.errno == errno.ENOSPC and list(disk.iterdir()) == []


# --------------------------------------------------------------------------------------------- signals

# An 8-hour shift (≈15 s here, mostly compiling; the signals come before its end), without checkpoints:
# nothing is kept. An interrupted run that has a checkpoint keeps it (tests/test_resume.py).
LONG_RUN = ["duration=28800", "checkpoint_every=null", "progress=false"]


def _interrupt(cwd, delay: float, sig=signal.SIGINT) -> tuple[int, float, str]:
    """(exit status, seconds from the signal to the exit, stderr) of a long run signalled after `delay` s."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "twin", "simulate", *LONG_RUN],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, time.monotonic() - sent, err


EXIT_WITHIN_S = 2.0  # s of wall time; measured 0.02–0.07 s, with room for a loaded machine


@pytest.mark.parametrize(
    "delay, sig",
    [(0.5, signal.SIGINT), (4.0, signal.SIGINT), (4.0, signal.SIGTERM)],
    ids=["int-while-importing", "int-while-compiling-or-stepping", "term"],
)
def test_a_signal_stops_the_run_at_once_and_keeps_nothing(tmp_path, delay, sig):
    status, took, err = _interrupt(tmp_path, delay, sig)
    assert status == 128 + sig and took < EXIT_WITHIN_S, (status, took, err)
    assert err.strip().splitlines() == [err.strip()] and "interrupted" in err and "Traceback" not in err
    assert not (tmp_path / "outputs").exists()


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.5, 1.0, 2.0, 5.0])
def test_ctrl_c_is_reliable(tmp_path, delay):
    for _ in range(10):
        status, took, err = _interrupt(tmp_path, delay)
        assert status == 130 and took < EXIT_WITHIN_S, (status, took, err)
        assert not (tmp_path / "outputs").exists()


# ------------------------------------------------------------------------------------- plausibility


def test_a_pick_before_a_processing_station_is_refused():
    spec = small_line()
    spec["conveyors"]["belt"]["stations"] = {"press": {"at": 3.0, "service_time": 10.0}}
    spec["robots"]["r1"]["pick_at"] = 2.5
    with pytest.raises(
        twin.SceneError,
        match=r"^scene\.robots\.r1\.pick_at: 2\.5 — picks before processing "
        r"station 'press'",
    ):
        twin.scene_from_mapping(spec)


@pytest.mark.parametrize(
    "change, where",
    [
        (lambda s: s["heaters"]["h1"].update(power=1e15), "scene.heaters.h1.power"),
        (lambda s: s.update(initial_temperature=5000.0), "scene.initial_temperature"),
        (lambda s: s["conveyors"]["belt"]["parts"].update(h=1e7), "scene.conveyors.belt.parts.h"),
    ],
    ids=["heater-1e15-W", "initial-5000-C", "parts-h-1e7"],
)
def test_implausible_values_are_warned_about_naming_the_key(change, where):
    spec = small_line()
    change(spec)
    with pytest.warns(twin.PlausibilityWarning, match=rf"^{re.escape(where)}: .* — implausible .*check the units"):
        twin.scene_from_mapping(spec)  # accepted: a deliberate study may go there


def test_the_shipped_scenes_raise_no_plausibility_warning(recwarn):
    for name in ("gigafactory_cell", "oven_cell_3d", "oven_wall_1d"):
        twin.load_scene(name)
    assert not [w for w in recwarn if issubclass(w.category, twin.PlausibilityWarning)]
