"""Checks of single user values — numbers, whole numbers, choices, flags — raising `TwinInputError` at
their key path. One path for the Python API and the command line: `Solver`, `twin.simulate` and the
run config all check with these, so `Solver(dt=-1)` and `solver.dt=-1` give the same one-line error."""

from __future__ import annotations

import math
from typing import Any

from twin.errors import TwinInputError


def number(value: Any, where: str, unit: str, *, positive: bool = True, optional: bool = False) -> float | None:
    """A finite float (> 0 when `positive`); None passes when `optional`."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TwinInputError(where, value, f"expected a finite number ({unit})")
    if positive and value <= 0:
        raise TwinInputError(where, value, f"must be > 0 {unit}")
    return float(value)


def whole(value: Any, where: str, *, minimum: int = 1, optional: bool = False) -> int | None:
    """An int ≥ minimum; None passes when `optional`."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise TwinInputError(where, value, f"expected a whole number ≥ {minimum}")
    return value


def choice(value: Any, where: str, allowed) -> Any:
    if value not in allowed:
        raise TwinInputError(where, value, f"allowed: {', '.join(map(str, allowed))}")
    return value


def flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise TwinInputError(where, value, "expected true or false")
    return value
