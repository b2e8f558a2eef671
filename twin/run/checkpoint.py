"""Checkpoints of a transient run, and what a run has gathered so far.

`SoFar` is what the chunk loop of `twin.simulate` holds between chunks: the state after the last
chunk, the sensor readings of every step, the field snapshots and the parts that left. Every
`Checkpoints.every` seconds of line time (at the first chunk boundary at or after each multiple) it is
written to one HDF5 file, atomically (twin.run.atomic_files), together with the scene and the run
settings; `twin.resume` rebuilds the run from the file and continues the same compiled chunks from the
same state, so the resumed run ends bit-for-bit where an uninterrupted one ends.

Layout of a checkpoint file (docs/results.md, "checkpoint.h5"):
  attrs       format "twin-checkpoint", version, twin_version, chunks_done, time_s (line time reached),
              duration_s, snapshot_every_s, every_s, precision, device, dt_s, steps, steps_per_chunk
  scene       YAML text: the scene as a mapping (twin.scene_from_mapping reads it)
  solver      YAML text: the twin.Solver's fields;  limits: the twin.Limits' fields
  config      YAML text: what the caller stored with it (the command line's composed config), or absent
  state/...   every array of the State, named by its path (T, parts.s, belts.v, ...)
  readings    (steps done + 1, sensors): the readings at t = 0, then after every step, in the run's dtype
  snapshot_time (n,) s;  snapshots (n, *grid) °C
  parts/...   the parts that have left, one dataset per column of twin.run.parts_log.COLUMNS
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import h5py
import jax
import numpy as np

from twin import values
from twin.errors import TwinInputError
from twin.model import State
from twin.run import parts_log
from twin.run.atomic_files import atomic_h5
from twin.run.config import from_mapping
from twin.run.size import Limits
from twin.scene.convert import scene_from_mapping
from twin.scene.files import dump_yaml, parse_yaml
from twin.scene.schema import Scene
from twin.step import Solver
from twin.time_step import Plan

FORMAT = "twin-checkpoint"
VERSION = 5  # 2: pick points named pick_point (was station); 3: belts.pending_load; 4: tallies.picks,
# robot_damage; 5: belts.bearing_use
FILE_NAME = "checkpoint.h5"  # in a run directory of `twin simulate`
TEXT = h5py.string_dtype()


@dataclass(frozen=True)
class Checkpoints:
    """Write the run's state to `path` every `every` seconds of line time. `config` (plain data) is
    stored with it and read back by `read_config` (the command line keeps its composed config there)."""

    path: Path
    every: float = 3600.0
    config: Mapping[str, Any] | None = None

    def __post_init__(self):
        values.number(self.every, "checkpoint_every", "s of line time")


@dataclass(frozen=True)
class Run:
    """The settings a transient run was started with: what it takes to rebuild it."""

    scene: Scene
    duration: float
    solver: Solver
    precision: str
    snapshot_every: float
    device: str
    limits: Limits
    plan: Plan


@dataclass
class SoFar:
    """What a transient run has gathered after `chunks_done` chunks (host arrays, device state)."""

    origin: Any  # line time of the run's start (the initial state's t), in the state's dtype
    state: State
    readings: list[np.ndarray]  # blocks of rows (step, sensor); the first is the row at t = 0
    snapshots: list[np.ndarray]
    snapshot_times: list[float]
    parts: parts_log.PartsLog
    chunks_done: int = 0
    due: float = math.inf  # line time of the next checkpoint, s

    @property
    def time(self) -> float:
        return self.snapshot_times[-1]


@dataclass(frozen=True)
class Stored:
    """A checkpoint file read back: the run it belongs to and where that run had got to."""

    path: Path
    run: Run
    every: float
    config: dict | None
    chunks_done: int
    arrays: dict[str, np.ndarray]  # state/..., readings, snapshots, snapshot_time, parts/...

    def so_far(self, layout, initial: State) -> SoFar:
        """The stored progress on the device, shaped like `initial` (the rebuilt run's initial state)."""
        leaves, tree = jax.tree_util.tree_flatten_with_path(initial)
        stored = []
        for path, leaf in leaves:
            name = f"state/{_leaf_name(path)}"
            value = self._array(name)
            if value.shape != leaf.shape or value.dtype != leaf.dtype:
                raise TwinInputError(
                    f"{self.path}:/{name}",
                    f"{value.dtype}{list(value.shape)}",
                    f"does not fit the rebuilt run ({leaf.dtype}{list(leaf.shape)}): the "
                    "checkpoint belongs to another scene or another version of twin",
                )
            stored.append(jax.device_put(value))
        log = parts_log.PartsLog(layout)
        log.restore({name: self._array(f"parts/{name}") for name in parts_log.COLUMNS})
        times, readings = self._array("snapshot_time"), self._array("readings")
        plan = self.run.plan
        steps_done = min(self.chunks_done * plan.steps_per_chunk, plan.steps)
        if not (
            len(times) == len(self._array("snapshots")) == self.chunks_done + 1
            and len(readings) == steps_done + 1
            and 0 < self.chunks_done < plan.chunks
        ):
            raise TwinInputError(
                f"{self.path}:/",
                f"{self.chunks_done} chunks done",
                f"the snapshots ({len(times)}) and readings ({len(readings)}) do not fit it: "
                "not a consistent twin checkpoint",
            )
        return SoFar(
            origin=initial.t,
            state=jax.tree_util.tree_unflatten(tree, stored),
            readings=[readings],
            snapshots=list(self._array("snapshots")),
            snapshot_times=[float(t) for t in times],
            parts=log,
            chunks_done=self.chunks_done,
            due=_next_due(float(times[-1]), self.every),
        )

    def _array(self, name: str) -> np.ndarray:
        if name not in self.arrays:
            raise TwinInputError(f"{self.path}:/{name}", None, "missing: not a complete twin checkpoint")
        return self.arrays[name]


def start(initial: State, readings_now: np.ndarray, layout, checkpoints: Checkpoints | None) -> SoFar:
    """A run at t = 0: one row of readings, one snapshot, no parts out yet; the first checkpoint due
    after `checkpoints.every` (never without checkpoints)."""
    return SoFar(
        origin=initial.t,
        state=initial,
        readings=[np.asarray(readings_now)[None]],
        snapshots=[np.asarray(initial.T)],
        snapshot_times=[0.0],
        parts=parts_log.PartsLog(layout),
        due=checkpoints.every if checkpoints else math.inf,
    )


def maybe_write(so_far: SoFar, checkpoints: Checkpoints | None, run: Run) -> None:
    """Write `so_far` if a checkpoint is due (line time at or past the next multiple of `every`)."""
    if checkpoints is None or so_far.time < so_far.due * (1.0 - 1e-12):  # 1e-12: a boundary on a multiple
        return
    write(checkpoints, so_far, run)
    so_far.due = _next_due(so_far.time, checkpoints.every)


def write(checkpoints: Checkpoints, so_far: SoFar, run: Run) -> Path:
    """Write `so_far` and the settings of its run to `checkpoints.path`, atomically."""
    path = Path(checkpoints.path)
    plan = run.plan
    with atomic_h5(path) as f:
        f.attrs.update(
            format=FORMAT,
            version=VERSION,
            twin_version=_twin_version(),
            chunks_done=so_far.chunks_done,
            time_s=so_far.time,
            duration_s=run.duration,
            snapshot_every_s=run.snapshot_every,
            every_s=checkpoints.every,
            precision=run.precision,
            device=run.device,
            dt_s=plan.dt,
            steps=plan.steps,
            steps_per_chunk=plan.steps_per_chunk,
        )
        f["scene"] = dump_yaml(dataclasses.asdict(run.scene))
        f["solver"] = dump_yaml(dataclasses.asdict(run.solver))
        f["limits"] = dump_yaml(dataclasses.asdict(run.limits))
        if checkpoints.config is not None:
            f["config"] = dump_yaml(dict(checkpoints.config))
        for key, leaf in jax.tree_util.tree_flatten_with_path(so_far.state)[0]:
            f[f"state/{_leaf_name(key)}"] = np.asarray(leaf)
        f["readings"] = np.concatenate(so_far.readings)
        f["snapshot_time"] = np.asarray(so_far.snapshot_times, float)
        f.create_dataset("snapshots", data=np.stack(so_far.snapshots), chunks=(1, *so_far.snapshots[0].shape))
        for name, values in so_far.parts.columns().items():
            f[f"parts/{name}"] = values.astype(TEXT) if values.dtype == object else values
    return path


def read(path: Path) -> Stored:
    """Read a checkpoint file; anything that is not one is a `TwinInputError` naming the file and dataset."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            _check_format(path, f)
            return _stored(path, f)
    except OSError as err:
        raise TwinInputError(str(path), None, f"cannot read it as a twin checkpoint (HDF5): {err}") from None


def read_config(path: Path) -> dict | None:
    """The config stored with a checkpoint (`Checkpoints.config`), or None; only that is read."""
    with h5py.File(path, "r") as f:
        return parse_yaml(f["config"].asstr()[()], f"{path}:/config") if "config" in f else None


def _check_format(path: Path, f: h5py.File) -> None:
    if f.attrs.get("format") != FORMAT:
        raise TwinInputError(
            f"{path}:/",
            f.attrs.get("format"),
            f"not a twin checkpoint (expected the root attribute format = {FORMAT!r})",
        )
    if int(f.attrs.get("version", -1)) != VERSION:
        raise TwinInputError(
            f"{path}:/",
            int(f.attrs.get("version", -1)),
            f"checkpoint version {VERSION} expected; "
            "resume it with the twin version that wrote it "
            f"({f.attrs.get('twin_version', 'unknown')})",
        )


def _stored(path: Path, f: h5py.File) -> Stored:
    def attr(name):
        if name not in f.attrs:
            raise TwinInputError(
                f"{path}:/", None, f"the attribute {name!r} is missing: not a complete twin checkpoint"
            )
        value = f.attrs[name]
        return value.item() if isinstance(value, np.generic) else value

    def text(name, required=True):
        if name not in f:
            if not required:
                return None
            raise TwinInputError(f"{path}:/{name}", None, "missing: not a complete twin checkpoint")
        return parse_yaml(f[name].asstr()[()], f"{path}:/{name}")

    arrays = {}
    f.visititems(
        lambda name, obj: (
            arrays.__setitem__(name, _dataset(obj))
            if isinstance(obj, h5py.Dataset) and name not in ("scene", "solver", "limits", "config")
            else None
        )
    )
    run = Run(
        scene=scene_from_mapping(text("scene"), where=f"{path}:/scene"),
        duration=float(attr("duration_s")),
        solver=from_mapping(Solver, text("solver"), f"{path}:/solver", "a solver's fields"),
        precision=str(attr("precision")),
        snapshot_every=float(attr("snapshot_every_s")),
        device=str(attr("device")),
        limits=from_mapping(Limits, text("limits"), f"{path}:/limits", "a mapping"),
        plan=Plan(dt=float(attr("dt_s")), steps=int(attr("steps")), steps_per_chunk=int(attr("steps_per_chunk"))),
    )
    return Stored(
        path=path,
        run=run,
        every=float(attr("every_s")),
        config=text("config", required=False),
        chunks_done=int(attr("chunks_done")),
        arrays=arrays,
    )


def _dataset(ds: h5py.Dataset) -> np.ndarray:
    if h5py.check_string_dtype(ds.dtype):
        return np.asarray(ds.asstr()[()], object)
    return ds[()]


def _leaf_name(path) -> str:
    return jax.tree_util.keystr(path).lstrip(".")


def _next_due(time: float, every: float) -> float:
    """The first multiple of `every` after `time`."""
    return (np.floor(time / every * (1.0 + 1e-12)) + 1.0) * every


def _twin_version() -> str:
    try:
        return metadata.version("factory-twin")
    except metadata.PackageNotFoundError:
        return "unknown"
