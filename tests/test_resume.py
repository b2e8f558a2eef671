"""Checkpoints and resume: a run continued from its last checkpoint ends bit-for-bit where an
uninterrupted run ends (float32 and float64, API and command line), a killed run's checkpoint is
always whole, and anything that is not a checkpoint is refused in one line naming the file.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import jax
import numpy as np
import pytest
from fixtures import small_line
from test_cli import errors
from test_cli import twin as run_twin

import twin
from twin.run import checkpoint

DURATION, SNAPSHOT_EVERY, EVERY = 1800.0, 120.0, 600.0  # checkpoints at 600 s and 1200 s


def _same_result(a: twin.Result, b: twin.Result) -> None:
    """Bit-for-bit: every state array, snapshot, sensor series, part and metric."""
    for x, y in zip(jax.tree.leaves(a.state), jax.tree.leaves(b.state), strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True)
    assert np.array_equal(a.snapshot_times, b.snapshot_times) and np.array_equal(a.snapshots, b.snapshots)
    assert a.sensors.keys() == b.sensors.keys()
    for name in a.sensors:
        for x, y in zip(a.sensors[name], b.sensors[name]):
            assert np.array_equal(x, y, equal_nan=True), name
    for column in a.parts:
        x, y = a.parts[column], b.parts[column]
        assert x.dtype == y.dtype and (
            np.array_equal(x, y) if x.dtype == object else np.array_equal(x, y, equal_nan=True)
        ), column
    assert json.dumps(a.metrics, sort_keys=True) == json.dumps(b.metrics, sort_keys=True)


@pytest.fixture(scope="module")
def scene():
    return twin.scene_from_mapping(small_line())


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_a_resumed_run_ends_bit_for_bit_where_an_uninterrupted_one_ends(tmp_path, scene, precision):
    plain = twin.simulate(scene, DURATION, precision=precision, snapshot_every=SNAPSHOT_EVERY)
    path = tmp_path / "run.ckpt.h5"
    checkpointed = twin.simulate(
        scene,
        DURATION,
        precision=precision,
        snapshot_every=SNAPSHOT_EVERY,
        checkpoints=twin.Checkpoints(path, every=EVERY),
    )
    _same_result(plain, checkpointed)  # writing checkpoints changes nothing
    with h5py.File(path) as f:  # the last checkpoint due before the end; none at the end itself
        assert (f.attrs["format"], f.attrs["time_s"], f.attrs["precision"]) == ("twin-checkpoint", 1200.0, precision)
        assert f["state/T"].dtype == np.dtype(precision) and len(f["parts/id"]) > 0  # parts have left by then
    _same_result(plain, twin.resume(path))


def test_a_checkpoint_is_due_at_the_first_chunk_boundary_past_each_multiple(tmp_path, scene, monkeypatch):
    written = []
    original = checkpoint.write

    def spy(checkpoints, so_far, run):
        written.append(so_far.time)
        return original(checkpoints, so_far, run)

    monkeypatch.setattr(checkpoint, "write", spy)
    twin.simulate(scene, 960.0, snapshot_every=120.0, checkpoints=twin.Checkpoints(tmp_path / "c.h5", every=250.0))
    # chunks end at 120, 240, ..., 960: due at 250, 500, 750 -> written at 360, 600, 840
    assert written == [360.0, 600.0, 840.0]


@pytest.fixture(scope="module")
def a_checkpoint(tmp_path_factory, scene) -> bytes:
    """The bytes of a checkpoint of a 600 s run, taken at 480 s (written once; each test spoils a copy)."""
    path = tmp_path_factory.mktemp("checkpoint") / "run.ckpt.h5"
    twin.simulate(scene, 600.0, snapshot_every=120.0, checkpoints=twin.Checkpoints(path, every=240.0))
    return path.read_bytes()


def _drop(path: Path, name: str) -> None:
    with h5py.File(path, "a") as f:
        del f[name]


def _set_attribute(path: Path, name: str, value) -> None:
    with h5py.File(path, "a") as f:
        f.attrs[name] = value


def _shrink_field(path: Path) -> None:
    with h5py.File(path, "a") as f:
        field_ = f["state/T"][()]
        del f["state/T"]
        f["state/T"] = field_[..., :-1]


BROKEN = [  # (how the file is spoiled, what the one-line error names)
    pytest.param(lambda p: p.write_bytes(b"not HDF5 at all"), "cannot read it as a twin checkpoint", id="not-hdf5"),
    pytest.param(
        lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
        "cannot read it as a twin checkpoint",
        id="truncated",
    ),
    pytest.param(lambda p: _set_attribute(p, "format", "twin-results"), "not a twin checkpoint", id="other-format"),
    pytest.param(
        lambda p: _set_attribute(p, "version", 99),
        f"checkpoint version {checkpoint.VERSION} expected",
        id="other-version",
    ),
    pytest.param(lambda p: _drop(p, "state/parts.s"), ":/state/parts.s", id="missing-state-array"),
    pytest.param(lambda p: _drop(p, "solver"), ":/solver", id="missing-solver"),
    pytest.param(_shrink_field, ":/state/T", id="field-of-another-shape"),
    pytest.param(lambda p: _set_attribute(p, "dt_s", 1.0), "steps differently", id="other-plan"),
    pytest.param(
        lambda p: _set_attribute(p, "chunks_done", 3),
        "not a consistent twin checkpoint",
        id="chunks-and-snapshots-disagree",
    ),
    pytest.param(lambda p: _set_attribute(p, "precision", "float16"), "precision", id="unknown-precision"),
]


@pytest.mark.parametrize("spoil, expected", BROKEN)
def test_what_is_not_a_whole_checkpoint_is_refused_naming_the_file(tmp_path, a_checkpoint, spoil, expected):
    path = tmp_path / "run.ckpt.h5"
    path.write_bytes(a_checkpoint)
    spoil(path)
    with pytest.raises(twin.TwinInputError) as info:
        twin.resume(path)
    message = str(info.value)
    assert str(path) in message and expected in message and "\n" not in message


@pytest.mark.parametrize("every", [0.0, -60.0, float("nan"), "1h"])
def test_a_checkpoint_interval_must_be_a_positive_number(every):
    with pytest.raises(twin.TwinInputError, match="^checkpoint_every: "):
        twin.Checkpoints("c.h5", every=every)


# ------------------------------------------------------------------------------------------ command line

LONG_RUN = ["duration=28800", "checkpoint_every=1800", "render=false", "progress=false"]  # an 8-hour shift


def _start(cwd, run_dir: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "twin", "simulate", f"hydra.run.dir={run_dir}", *LONG_RUN, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _checkpoint_time(run_dir: Path) -> float:
    try:
        with h5py.File(run_dir / checkpoint.FILE_NAME, "r") as f:
            return float(f.attrs["time_s"])
    except (OSError, KeyError):
        return -1.0


def _signal_when(proc: subprocess.Popen, run_dir: Path, ready, sig) -> str:
    """Send `sig` as soon as `ready(run_dir)` holds (polled every few ms); the run's stderr."""
    deadline = time.monotonic() + 120.0
    while not ready(run_dir):
        assert proc.poll() is None, f"the run ended before the moment came: {proc.communicate()}"
        assert time.monotonic() < deadline
        time.sleep(0.003)
    proc.send_signal(sig)
    return proc.communicate(timeout=60)[1]


def _same_run_files(a: Path, b: Path) -> None:
    """results.h5 dataset by dataset and attribute by attribute, and metrics.json, identical."""
    assert (a / "metrics.json").read_text() == (b / "metrics.json").read_text()
    with h5py.File(a / "results.h5") as fa, h5py.File(b / "results.h5") as fb:
        names = []
        fa.visit(names.append)
        other = []
        fb.visit(other.append)
        assert names == other
        assert dict(fa.attrs) == dict(fb.attrs)
        for name in names:
            if isinstance(fa[name], h5py.Dataset):
                x, y = np.asarray(fa[name][()]), np.asarray(fb[name][()])
                assert np.array_equal(x, y) if x.dtype.kind in "OSU" else np.array_equal(x, y, equal_nan=True), name


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("uninterrupted")
    proc = run_twin(cwd, "simulate", "hydra.run.dir=run", *LONG_RUN)
    assert proc.returncode == 0, proc.stderr
    assert not (cwd / "run" / checkpoint.FILE_NAME).exists()  # a finished run's checkpoint is gone
    return cwd / "run"


def _resume(cwd, run_dir: str) -> None:
    proc = run_twin(cwd, "simulate", f"resume={run_dir}", "render=false")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and not (cwd / run_dir / checkpoint.FILE_NAME).exists()


def test_ctrl_c_keeps_the_last_checkpoint_and_resume_ends_where_the_run_would_have(tmp_path, uninterrupted):
    proc = _start(tmp_path, "run")
    line = _signal_when(proc, tmp_path / "run", lambda d: _checkpoint_time(d) > 0, signal.SIGINT).strip()
    assert proc.returncode == 130
    assert "interrupted (SIGINT)" in line and f"resume={tmp_path / 'run'}" in line and "\n" not in line, line
    assert {p.name for p in (tmp_path / "run").iterdir()} <= {checkpoint.FILE_NAME, ".hydra", "simulate.log"}
    _resume(tmp_path, "run")
    _same_run_files(uninterrupted, tmp_path / "run")


MOMENTS = [  # when SIGKILL comes: a checkpoint just written, one being written, late in the run
    pytest.param(lambda d: _checkpoint_time(d) >= 3600.0, id="after-1h"),
    pytest.param(lambda d: any(d.glob(".checkpoint.h5.*")) and _checkpoint_time(d) >= 10800.0, id="mid-write"),
    pytest.param(lambda d: _checkpoint_time(d) >= 25200.0, id="after-7h"),
]


@pytest.mark.slow
@pytest.mark.parametrize("ready", MOMENTS)
def test_kill_and_resume_gives_the_uninterrupted_run(tmp_path, uninterrupted, ready):
    proc = _start(tmp_path, "run")
    _signal_when(proc, tmp_path / "run", ready, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    _resume(tmp_path, "run")
    assert not list((tmp_path / "run").glob(".*.h5"))  # strays of the killed write removed
    _same_run_files(uninterrupted, tmp_path / "run")


def _refused(proc, expected: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = errors(proc.stderr)
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    "make, args, expected",
    [
        (lambda d: None, ["resume=nowhere"], "no such run directory"),
        (lambda d: (d / "run").mkdir(), ["resume=run"], "holds no checkpoint.h5"),
        (
            lambda d: (d / "run").mkdir() or (d / "run" / "results.h5").write_bytes(b"x"),
            ["resume=run"],
            "holds a finished run",
        ),
        (
            lambda d: (d / "run").mkdir() or (d / "run" / "checkpoint.h5").write_bytes(b"x"),
            ["resume=run"],
            "cannot read it as a twin checkpoint",
        ),
        (
            lambda d: (d / "run").mkdir() or (d / "run" / "checkpoint.h5").write_bytes(b"x"),
            ["resume=run", "duration=60"],
            "duration",
        ),
        (lambda d: None, ["resume="], "resume=DIR"),
        (
            lambda d: (d / "run").mkdir(),
            ["resume=run", "resume=other"],
            "only progress, render, compile_cache may be given",
        ),
    ],
    ids=[
        "no-directory",
        "no-checkpoint",
        "finished-run",
        "not-a-checkpoint",
        "changes-a-setting",
        "empty",
        "two-directories",
    ],
)
def test_cli_refuses_a_resume_it_cannot_do(tmp_path, make, args, expected):
    make(tmp_path)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    _refused(run_twin(tmp_path, "simulate", *args), expected)
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_a_new_run_into_a_directory_with_a_checkpoint_is_refused_pointing_at_resume(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.h5").write_bytes(b"an unfinished run")
    _refused(run_twin(tmp_path, "simulate", "hydra.run.dir=run"), "twin simulate resume=")
