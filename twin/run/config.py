"""Typed run settings of `twin simulate` (everything in conf/simulate.yaml but the scene), validated.

`check_run` is the one check of run settings for the command line and the Python API (`twin.simulate`
calls it too); single values are checked by `twin.values`, the solver's by `Solver` itself.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

from twin import values
from twin.errors import TwinInputError
from twin.precision import DEVICES, PRECISIONS
from twin.run.size import Limits
from twin.step import THETA, Solver


@dataclass(frozen=True)
class SimulateConfig:
    duration: float
    precision: str
    snapshot_every: float
    progress: bool
    render: bool
    overwrite: bool
    device: str
    checkpoint_every: float | None
    compile_cache: bool
    solver: Solver
    limits: Limits


def check_run(duration: Any, precision: Any, snapshot_every: Any, device: Any, solver: Any) -> None:
    """Refuse a run setting that no run can take, at its key path (the keys of conf/simulate.yaml)."""
    values.number(duration, "duration", "s")
    values.choice(precision, "precision", tuple(PRECISIONS))
    values.number(snapshot_every, "snapshot_every", "s")
    values.choice(device, "device", DEVICES)
    if not isinstance(solver, Solver):
        raise TwinInputError("solver", solver, "expected a twin.Solver")


def from_mapping(cls, data: Any, key: str, expected: str):
    """`cls(**data)` for the mapping at `key`, its unknown keys refused; the dataclass checks its values."""
    if not isinstance(data, Mapping):
        raise TwinInputError(key, data, f"expected {expected}")
    allowed = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise TwinInputError(f"{key}.{unknown[0]}", data[unknown[0]], f"unknown key; allowed: {', '.join(allowed)}")
    return cls(**data)


def simulate_config(data: Mapping[str, Any]) -> SimulateConfig:
    """Check the run keys of a composed config; names the key of the first bad value."""
    solver = from_mapping(Solver, data.get("solver"), "solver", f"a solver config: {', '.join(THETA)}")
    check_run(data.get("duration"), data.get("precision"), data.get("snapshot_every"), data.get("device"), solver)
    return SimulateConfig(
        duration=float(data["duration"]),
        precision=data["precision"],
        snapshot_every=float(data["snapshot_every"]),
        progress=values.flag(data.get("progress"), "progress"),
        render=values.flag(data.get("render"), "render"),
        overwrite=values.flag(data.get("overwrite", False), "overwrite"),
        device=data["device"],
        checkpoint_every=values.number(data.get("checkpoint_every"), "checkpoint_every", "s of line time",
                                       optional=True),
        compile_cache=values.flag(data.get("compile_cache", True), "compile_cache"),
        solver=solver,
        limits=from_mapping(Limits, data.get("limits", {}), "limits", "a mapping: memory_GiB, steps"),
    )
