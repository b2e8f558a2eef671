"""Recorded telemetry against the twin: the samples a fit uses, matched to the scene's sensors, and the
twin's value at each of them as a differentiable function of the run's per-step readings.

`observe(layout, telemetry, dt, steps, where)` matches the file's sensors to the layout's by name:
- a sensor the scene lacks is skipped with a `TelemetryWarning`; one whose kind differs from the scene's,
  or whose unit cannot be converted to the scene sensor's, is refused at the file's dataset;
- its usable samples (not bad, not NaN) within the run — from the end of the first step to the end of
  the last — are kept, their values converted to the twin's unit of the quantity (°C, W, A, m/s, …);
- each sample gets the steps and weights that give the twin's value there from `Run.readings`
  (steps × sensors, the end of each step): interpolated in time, held since the last step, or a rate or
  fraction over the period before the sample (twin.line.sensors.samples_at, the same rule; such a
  sample is kept when that period starts at or after the end of the first step).

`Observations.predict(readings)` is that value for every sample, in JAX: gradients reach every
parameter through the readings.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from twin import units
from twin.errors import TwinInputError
from twin.line import sensors as line_sensors
from twin.model import Layout
from twin.telemetry.files import Telemetry


class TelemetryWarning(UserWarning):
    """A recorded sensor the scene does not have, or one left without a sample in the run."""


@dataclass(frozen=True)
class Observations:
    """Every usable sample of the matched sensors, in one flat array (m samples)."""

    names: tuple[str, ...]  # matched sensors, in file order
    sensor: np.ndarray  # (m,) index into `names`
    column: np.ndarray  # (m,) the sensor's column of the readings
    t: np.ndarray  # (m,) s from the recording's start
    value: np.ndarray  # (m,) in the twin's unit
    deadband: np.ndarray  # (m,) in the twin's unit (0 where none)
    steps: np.ndarray  # (m, 4) step indices into the readings
    weights: np.ndarray  # (m, 4): the twin's value = Σ weights · readings[steps, column]

    def predict(self, readings) -> jnp.ndarray:
        """(m,) the twin's value at every sample from the run's (steps, sensors) readings."""
        weights = jnp.asarray(self.weights, readings.dtype)
        picked = readings[jnp.asarray(self.steps), jnp.asarray(self.column)[:, None]]
        # a zero weight on a step whose reading is undefined (NaN before a first pick) adds nothing
        return jnp.sum(jnp.where(weights != 0, picked, 0.0) * weights, axis=1)

    def of(self, name: str) -> np.ndarray:
        """(m,) True for the samples of sensor `name`."""
        return self.sensor == self.names.index(name)


def observe(layout: Layout, telemetry: Telemetry, dt: float, steps: int, where: str) -> Observations:
    """The samples of `telemetry` (read from `where`) a run of `steps` steps of `dt` can be fitted to."""
    by_name = {s.name: (j, s) for j, s in enumerate(layout.sensors)}
    parts = []
    for name, series in telemetry.sensors.items():
        if name not in by_name:
            warnings.warn(f"{where}: sensor {name!r} is not in the scene: skipped", TelemetryWarning, stacklevel=2)
            continue
        j, sensor = by_name[name]
        _check_match(series, sensor, f"{where}:/sensors/{name}")
        keep = (
            series.usable() & (series.t >= dt + _lookback(sensor) - 1e-9 * dt) & (series.t <= steps * dt * (1 + 1e-12))
        )
        if not keep.any():
            warnings.warn(
                f"{where}: sensor {name!r} has no usable sample within the run: skipped", TelemetryWarning, stacklevel=2
            )
            continue
        t = series.t[keep]
        idx, w = _operator(sensor, t, dt, steps)
        value = units.to_twin(series.value[keep], units.canonical(series.unit))
        band = (series.deadband or 0.0) * units.UNITS[units.canonical(series.unit)].scale
        parts.append((name, j, t, value, np.full(t.shape, band), idx, w))
    if not parts:
        raise TwinInputError(where, None, "no recorded sensor matches a scene sensor with a sample within the run")
    names = tuple(p[0] for p in parts)
    return Observations(
        names=names,
        sensor=np.concatenate([np.full(p[2].shape, i) for i, p in enumerate(parts)]),
        column=np.concatenate([np.full(p[2].shape, p[1]) for p in parts]),
        t=np.concatenate([p[2] for p in parts]),
        value=np.concatenate([p[3] for p in parts]),
        deadband=np.concatenate([p[4] for p in parts]),
        steps=np.concatenate([p[5] for p in parts]),
        weights=np.concatenate([p[6] for p in parts]),
    )


def _check_match(series, sensor, where: str) -> None:
    if series.kind != sensor.kind:
        raise TwinInputError(
            where, series.kind, f"the attribute kind differs from the scene sensor's ({sensor.kind!r})"
        )
    why = units.why_not(series.unit, sensor.unit)
    if why is not None:
        raise TwinInputError(where, series.unit, f"the attribute unit: {why}")


def _lookback(sensor) -> float:
    """s before a sample that its value depends on: a rate's or fraction's period, else 0."""
    return (
        sensor.period if line_sensors.KINDS[sensor.kind].series in (line_sensors.RATE, line_sensors.FRACTION) else 0.0
    )


def _operator(sensor, t: np.ndarray, dt: float, steps: int):
    """(steps (m, 4), weights (m, 4)) of the twin's value at times t from readings at the steps' ends
    k·dt, k = 1…steps (row k−1), as `twin.line.sensors.samples_at` takes it."""
    how = line_sensors.KINDS[sensor.kind].series
    here = _linear(t, dt, steps) if how in (line_sensors.LINEAR, line_sensors.FRACTION) else _held(t, dt, steps)
    if how in (line_sensors.LINEAR, line_sensors.HELD):
        zeros = (np.zeros_like(here[0]), np.zeros_like(here[1]))
        return np.concatenate([here[0], zeros[0]], 1), np.concatenate([here[1], zeros[1]], 1)
    before = t - sensor.period
    there = _linear(before, dt, steps) if how == line_sensors.FRACTION else _held(before, dt, steps)
    scale = (1.0 if how == line_sensors.FRACTION else 3600.0) / sensor.period
    return np.concatenate([here[0], there[0]], 1), np.concatenate([here[1], -there[1]], 1) * scale


def _linear(t, dt, steps):
    """Steps and weights of linear interpolation at t between the readings at k·dt."""
    x = np.clip(t / dt, 1.0, float(steps))
    lo = np.minimum(np.floor(x), steps - 1).astype(int)
    frac = x - lo
    return np.stack([lo - 1, np.minimum(lo, steps - 1)], 1), np.stack([1.0 - frac, frac], 1)


def _held(t, dt, steps):
    """The step of the last reading at or before t (weight 1), and a zero-weight partner."""
    k = np.clip(np.floor(t / dt + 1e-9).astype(int), 1, steps)
    return np.stack([k - 1, k - 1], 1), np.stack([np.ones(t.shape), np.zeros(t.shape)], 1)
