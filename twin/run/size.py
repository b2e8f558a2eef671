"""How big a run will be, before it is: memory and time steps estimated from the scene and the plan, and
refused beyond `Limits` with the key that drives the size — before any array is allocated.

The estimate counts what grows with the inputs: field-sized arrays (state, coefficients, heater, HVAC and
source shapes, solver temporaries), field snapshots, part slots and the per-part log, and sensor
readings (one row per step on the device and the host, then resampled at each sensor's period).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twin.build import grid_shape, part_slots
from twin.errors import TwinInputError
from twin.scene.convert import check_fields
from twin.scene.schema import Scene, number
from twin.time_step import Plan

GiB = 2.0**30
FIELD_ARRAYS = 40  # field-sized arrays alive in a step and its compile-time constants (state, coefficients,
# faces, CG vectors, temporaries): a generous count, so that the estimate is an upper bound
PART_ARRAYS = 24  # per part slot: state (position, temperature, cure, times, ids, …), exits and the log
SAMPLE_BYTES = 16  # a resampled sensor reading: time and value in float64


@dataclass(frozen=True)
class Limits:
    """Refuse a run estimated beyond these (the run keys limits.memory_GiB and limits.steps)."""

    memory_GiB: float = number("estimated memory limit", "GiB", gt=0, default=16.0)
    steps: int = number("time-step limit", ge=1, default=100_000_000)

    def __post_init__(self):
        check_fields(self, "limits")


def check_scene_size(scene: Scene, dtype, limits: Limits) -> None:
    """Before the build: the grid's arrays and the part slots."""
    size = np.dtype(dtype).itemsize
    shape, _ = grid_shape(scene)
    cells = math.prod(shape)
    shapes = len(scene.heaters) + len(scene.hvac) + len(scene.sources)
    terms = {("scene.grid.spacing", scene.grid.spacing): cells * size * (FIELD_ARRAYS + shapes)}
    with_parts = {n: c for n, c in scene.conveyors.items() if c.parts is not None}
    if with_parts:
        name = max(with_parts, key=lambda n: part_slots(with_parts[n]))
        slots = part_slots(with_parts[name])
        terms[(f"scene.conveyors.{name}.parts.length", with_parts[name].parts.length)] = (
            len(scene.conveyors) * slots * PART_ARRAYS * size
        )
    _check_memory(terms, limits)


def check_plan_size(scene: Scene, the_plan: Plan, snapshot_every: float, dtype, limits: Limits) -> None:
    """After the plan: the number of steps, then the snapshots and readings they produce."""
    steps, duration = the_plan.steps, the_plan.duration
    if steps > limits.steps:
        raise TwinInputError(
            "duration",
            duration,
            f"{steps:,} steps of {the_plan.dt:.3g} s, above limits.steps = "
            f"{limits.steps:,}; shorten the run, take larger steps, or raise limits.steps",
        )
    cells = math.prod(grid_shape(scene)[0])
    terms = {
        ("snapshot_every", snapshot_every): (the_plan.chunks + 1) * cells * max(np.dtype(dtype).itemsize, 8),
        ("duration", duration): steps * max(len(scene.sensors), 1) * SAMPLE_BYTES,
    }
    for name, sensor in scene.sensors.items():
        terms[(f"scene.sensors.{name}.period", sensor.period)] = (duration / sensor.period + 1) * SAMPLE_BYTES
    _check_memory(terms, limits)


def _check_memory(terms: dict[tuple[str, object], float], limits: Limits) -> None:
    total = sum(terms.values())
    if total > limits.memory_GiB * GiB:
        (key, value), largest = max(terms.items(), key=lambda item: item[1])
        raise TwinInputError(
            key,
            value,
            f"the run would need ≈ {total / GiB:.3g} GiB ({largest / GiB:.3g} GiB from "
            f"this key), above limits.memory_GiB = {limits.memory_GiB:g}; change {key} or raise "
            "limits.memory_GiB",
        )
