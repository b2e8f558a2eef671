"""A calibration spec (the `calibrate` keys of conf/calibrate.yaml, docs/calibrate.md): PEtab's
parameter-table idea — each unknown by name with its scene path, bounds, scale, start and prior — and
each sensor's noise model, checked at its key path."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from twin.calibrate.fit import Noise, Parameter
from twin.scene.schema import key, number


@dataclass(frozen=True)
class Calibration:
    parameters: dict[str, Parameter] = key("the unknowns, by name: the keys of a parameter below")
    noise: dict[str, Noise] = key("per recorded sensor: its noise model", default_factory=dict)
    max_iterations: int = number("optimiser iterations at most", ge=1, default=100)
    duration: float | None = number(
        "line time fitted from the recording's start; null: all of it", "s", gt=0, default=None
    )
    profile: list[str] = key("parameters (by name) whose profile likelihood is traced", default_factory=list)
    resume: bool = key("continue the interrupted calibration in the run directory", default=False)

    def unknowns(self) -> list[Parameter]:
        """The parameters in their order, each named by its key."""
        return [dataclasses.replace(p, name=name) for name, p in self.parameters.items()]


__all__ = ["Calibration"]
