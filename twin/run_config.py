"""Typed run settings of `twin simulate` (everything in conf/simulate.yaml but the scene), validated."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Mapping

from twin.errors import TwinInputError
from twin.precision import DEVICES, PRECISIONS
from twin.step import Solver

METHODS = ("explicit", "backward_euler", "crank_nicolson", "steady")


@dataclass(frozen=True)
class SimulateConfig:
    duration: float
    precision: str
    snapshot_every: float
    progress: bool
    render: bool
    device: str
    solver: Solver


def _number(data: Mapping, key: str, where: str, unit: str, positive: bool = True, optional: bool = False):
    value = data.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TwinInputError(f"{where}{key}", value, f"expected a finite number ({unit})")
    if positive and value <= 0:
        raise TwinInputError(f"{where}{key}", value, f"must be > 0 {unit}")
    return float(value)


def _choice(data: Mapping, key: str, allowed: tuple[str, ...]) -> str:
    if data.get(key) not in allowed:
        raise TwinInputError(key, data.get(key), f"allowed: {', '.join(allowed)}")
    return data[key]


def _flag(data: Mapping, key: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise TwinInputError(key, value, "expected true or false")
    return value


def _solver(data: Any) -> Solver:
    if not isinstance(data, Mapping):
        raise TwinInputError("solver", data, f"expected a solver config: {', '.join(METHODS)}")
    unknown = set(data) - {f.name for f in fields(Solver)}
    if unknown:
        raise TwinInputError(f"solver.{sorted(unknown)[0]}", data[sorted(unknown)[0]],
                             f"unknown key; allowed: {', '.join(f.name for f in fields(Solver))}")
    if data.get("method") not in METHODS:
        raise TwinInputError("solver.method", data.get("method"), f"allowed: {', '.join(METHODS)}")
    maxiter = data.get("maxiter")
    if maxiter is not None and (isinstance(maxiter, bool) or not isinstance(maxiter, int) or maxiter < 1):
        raise TwinInputError("solver.maxiter", maxiter, "expected a whole number ≥ 1")
    safety = _number(data, "safety", "solver.", "(fraction of the stable step)")
    if safety > 1.0:
        raise TwinInputError("solver.safety", safety, "must be in (0, 1]: above 1 the explicit step is unstable")
    return Solver(
        method=data["method"],
        dt=_number(data, "dt", "solver.", "s", optional=True),
        max_dt=_number(data, "max_dt", "solver.", "s"),
        mechanics_dt=_number(data, "mechanics_dt", "solver.", "s"),
        safety=safety,
        tol=_number(data, "tol", "solver.", "relative residual", optional=True),
        maxiter=maxiter,
    )


def simulate_config(data: Mapping[str, Any]) -> SimulateConfig:
    """Check the run keys of a composed config; names the key of the first bad value."""
    return SimulateConfig(
        duration=_number(data, "duration", "", "s"),
        precision=_choice(data, "precision", tuple(PRECISIONS)),
        snapshot_every=_number(data, "snapshot_every", "", "s"),
        progress=_flag(data, "progress"),
        render=_flag(data, "render"),
        device=_choice(data, "device", DEVICES),
        solver=_solver(data.get("solver")),
    )
