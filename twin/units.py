"""Units of sensor values: each an affine map onto the twin's own unit of its quantity.

The twin reads every sensor in one unit per quantity (°C, W, A, m/s, a fraction, parts, parts/h, N·m,
hours of life); a sensor's configured unit, or a recorded series' unit, is `value·scale + offset` of
it. Two units convert into each other exactly when they measure the same quantity: °C/K/°F, A/mA,
W/kW/MW, m/s/m/min/mm/s, 1/%, parts/h/parts/min, N·m/kN·m, h/d/s. Anything else is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Unit:
    quantity: str
    scale: float  # the twin's unit per one of this
    offset: float = 0.0  # the twin's value at zero of this


UNITS: dict[str, Unit] = {
    "degC": Unit("temperature", 1.0),
    "K": Unit("temperature", 1.0, -273.15),
    "degF": Unit("temperature", 5.0 / 9.0, -32.0 * 5.0 / 9.0),
    "W": Unit("power", 1.0),
    "kW": Unit("power", 1e3),
    "MW": Unit("power", 1e6),
    "A": Unit("current", 1.0),
    "mA": Unit("current", 1e-3),
    "m/s": Unit("speed", 1.0),
    "m/min": Unit("speed", 1.0 / 60.0),
    "mm/s": Unit("speed", 1e-3),
    "1": Unit("fraction", 1.0),
    "%": Unit("fraction", 0.01),
    "parts": Unit("part count", 1.0),
    "parts/h": Unit("part rate", 1.0),
    "parts/min": Unit("part rate", 60.0),
    "Nm": Unit("torque", 1.0),
    "kNm": Unit("torque", 1e3),
    "h": Unit("duration", 1.0),
    "d": Unit("duration", 24.0),
    "s": Unit("duration", 1.0 / 3600.0),
}
# How historians and exports also spell them.
ALIASES = {"°C": "degC", "C": "degC", "°F": "degF", "F": "degF", "N·m": "Nm", "N.m": "Nm", "kN·m": "kNm"}
ALIASES |= {"m/h": None, "fraction": "1", "": "1", "parts/hour": "parts/h", "hours": "h", "days": "d"}


SYMBOLS = {"degC": "°C", "degF": "°F", "Nm": "N·m", "kNm": "kN·m", "1": "–"}  # as a plot's axis writes them


def symbol(unit: str) -> str:
    """`unit` as written on a picture (°C for degC)."""
    return SYMBOLS.get(canonical(unit) or unit, unit)


def canonical(unit: str) -> str | None:
    """The table's name of `unit` (an alias resolved), or None if the unit is unknown."""
    name = ALIASES.get(unit, unit)
    return name if name in UNITS else None


def from_twin(values, unit: str) -> np.ndarray:
    """Values in the twin's unit of their quantity, in `unit`."""
    u = UNITS[unit]
    return (np.asarray(values) - u.offset) / u.scale


def to_twin(values, unit: str) -> np.ndarray:
    """Values in `unit`, in the twin's unit of their quantity."""
    u = UNITS[unit]
    return np.asarray(values) * u.scale + u.offset


def why_not(source: str, target: str) -> str | None:
    """None if values in `source` convert to `target`, else why not (one phrase)."""
    a, b = canonical(source), canonical(target)
    if a is None:
        return f"unknown unit {source!r}; known: {', '.join(UNITS)}"
    if UNITS[a].quantity != UNITS[b].quantity:
        return f"{source!r} ({UNITS[a].quantity}) cannot be converted to {target!r} ({UNITS[b].quantity})"
    return None


def convert(values, source: str, target: str) -> np.ndarray:
    """Values in `source` as `target` (both convertible: see `why_not`)."""
    return from_twin(to_twin(values, canonical(source)), canonical(target))
