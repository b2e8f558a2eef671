"""Plausibility: values a scene may hold but a real line hardly does, warned about (not refused) with
the key and the bound. A unit slip — W for kW, mm for m, K for °C — is the usual cause; a deliberate
study outside the bounds runs as asked. The bounds: docs/checks.md.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

from twin.scene.schema import Scene

# what: (unit, low, high), inclusive
BOUNDS = {
    "temperature": ("°C", -60.0, 1500.0),
    "heater power": ("W", 0.0, 1e7),
    "source power": ("W", 0.0, 1e8),
    "belt speed": ("m/s", 0.0, 5.0),
    "conductivity": ("W/(m·K)", 1e-3, 2500.0),
    "heat-transfer coefficient": ("W/(m²·K)", 0.0, 1e5),
}


class PlausibilityWarning(UserWarning):
    """A scene value outside the range real lines use; the message names the key and the bound."""


def warn_implausible(scene: Scene, where: str = "scene") -> list[str]:
    """Warn (PlausibilityWarning) about every value outside BOUNDS; return the messages."""
    messages = []
    for key, what, value in _values(scene, where):
        unit, low, high = BOUNDS[what]
        if not low <= value <= high:
            messages.append(
                f"{key}: {value:g} — implausible {what} (expected {low:g} to {high:g} {unit}); check the units"
            )
    for message in messages:
        warnings.warn(message, PlausibilityWarning, stacklevel=3)
    return messages


def _values(scene: Scene, where: str) -> Iterator[tuple[str, str, float]]:
    yield f"{where}.initial_temperature", "temperature", scene.initial_temperature
    for name, b in scene.boundaries.items():
        if b.temperature is not None:
            yield f"{where}.boundaries.{name}.temperature", "temperature", b.temperature
        if b.h is not None:
            yield f"{where}.boundaries.{name}.h", "heat-transfer coefficient", b.h
    if scene.ambient is not None:
        yield f"{where}.ambient.temperature", "temperature", scene.ambient.temperature
    for name, h in scene.heaters.items():
        yield f"{where}.heaters.{name}.setpoint", "temperature", h.setpoint
        yield f"{where}.heaters.{name}.power", "heater power", h.power
    for name, h in scene.hvac.items():
        yield f"{where}.hvac.{name}.supply_temperature", "temperature", h.supply_temperature
    for name, s in scene.sources.items():
        if s.power is not None:
            yield f"{where}.sources.{name}.power", "source power", s.power
    for name, m in scene.materials.items():
        yield f"{where}.materials.{name}.k", "conductivity", m.k
    for name, c in scene.conveyors.items():
        yield f"{where}.conveyors.{name}.speed", "belt speed", c.speed
        if c.parts is not None:
            yield f"{where}.conveyors.{name}.parts.initial_temperature", "temperature", c.parts.initial_temperature
            yield f"{where}.conveyors.{name}.parts.h", "heat-transfer coefficient", c.parts.h
