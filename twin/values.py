"""Checks of single user values that are no field of a checked dataclass, raising `TwinInputError` at
their key path. Values that are such fields (the scene, `Solver`, `Limits`, the run keys of
`twin.run.config`) are checked from their field metadata by `twin.scene.convert` instead."""

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


def flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise TwinInputError(where, value, "expected true or false")
    return value
