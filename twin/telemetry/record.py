"""Telemetry recorded from a simulated run, as a plant historian would have stored it (`twin record`).

Each scene sensor is sampled at its own times — its period, each time moved by up to ±jitter/2 of a
period — from the run's per-step readings (`twin.line.sensors.samples_at`: interpolated, held, or a
rate or fraction over the period before it). Then, in this order and from one seeded
generator per sensor:

1. noise: Gaussian, one σ per sensor as an instrument's noise is: `noise` × the sensor's typical size
   (the rms of its true series, in the twin's unit of the quantity: °C, W, A, m/s, …), or a sensor's
   own `noise_sd` in its unit; counts (work in progress, throughput) are exact unless a sensor has
   its own `noise_sd`;
2. quantisation to a sensor's `resolution` (its unit);
3. deadband compression, as a historian's exception test: a sample is stored when it differs from the
   last stored one by more than the deadband (`deadband` × the sensor's σ, or its own `deadband`
   in its unit), when `max_interval` s have passed since the last stored one, and always the first and
   last; the deadband is written with the series (a deadband of 0: every sample stored);
4. dropouts: each stored sample lost with probability `dropouts`;
5. bad samples: each kept sample marked quality 2 (bad) with probability `bad`, its value replaced by
   `BAD_VALUE` (what a historian shows for a failed read);
6. clock offset: `clock_offset` s added to every time (the historian's clock ahead of the line's).

Readings not yet defined (a pick sensor before its first pick) are not recorded; a sensor with no
defined sample at all is left out with a warning.
"""

from __future__ import annotations

import datetime
import warnings
from dataclasses import dataclass

import numpy as np

from twin import metrics as metrics_mod
from twin import units
from twin.errors import TwinInputError, did_you_mean
from twin.line import sensors as line_sensors
from twin.scene.schema import key, number
from twin.telemetry.files import BAD, GOOD, Series, Telemetry

BAD_VALUE = -9999.0


class RecordingWarning(UserWarning):
    """A sensor that could not be recorded (no defined sample in the run)."""


@dataclass(frozen=True)
class SensorRecording:
    """One sensor's own settings, in its unit; each replaces the rule of the whole recording."""

    noise_sd: float | None = number("noise standard deviation", "(the sensor's unit)", ge=0, default=None)
    resolution: float | None = number("quantisation step", "(the sensor's unit)", gt=0, default=None)
    deadband: float | None = number("compression deadband", "(the sensor's unit)", ge=0, default=None)


@dataclass(frozen=True)
class Recording:
    """How the run is recorded (the `record` keys of conf/record.yaml)."""

    seed: int = number("seed of the noise, jitter, dropouts and bad samples", ge=0, default=0)
    start: str | None = key("ISO 8601 time of the run's start, with its offset; null: now", default=None)
    noise: float = number("noise σ relative to each sensor's rms value", ge=0, default=0.01)
    jitter: float = number("sample times moved by up to ± jitter/2 of a period", ge=0, lt=1, default=0.0)
    deadband: float = number("compression deadband in multiples of each sensor's noise σ", ge=0, default=0.0)
    max_interval: float | None = number("longest time between stored samples", "s", gt=0, default=None)
    dropouts: float = number("probability that a stored sample is lost", ge=0, lt=1, default=0.0)
    bad: float = number("probability that a sample is marked bad", ge=0, lt=1, default=0.0)
    clock_offset: float = number("added to every recorded time", "s", default=0.0)
    sensors: dict[str, SensorRecording] = key("per-sensor settings", default_factory=dict)


def record(result, recording: Recording) -> Telemetry:
    """The telemetry of `result` (a `twin.Result` of a transient run) recorded as `recording` says."""
    check(recording, result.scene)
    times, series = result.readings
    out = {}
    for j, sensor in enumerate(result.layout.sensors):
        rng = np.random.default_rng([recording.seed, j])
        own = recording.sensors.get(sensor.name, SensorRecording())
        recorded = _record_one(sensor, times, series[:, j], recording, own, rng)
        if recorded is None:
            warnings.warn(
                f"sensor {sensor.name!r} has no defined reading in the run: not recorded",
                RecordingWarning,
                stacklevel=2,
            )
            continue
        out[sensor.name] = recorded
    return Telemetry(start_time(recording.start), out, result.scene.name)


def check(recording: Recording, scene) -> None:
    """Refuse settings for a sensor `scene` lacks, and a start that is no ISO 8601 time with an offset."""
    names = list(scene.sensors)
    for name in recording.sensors:
        if name not in names:
            raise TwinInputError(
                f"record.sensors.{name}", None, did_you_mean(name, names, "no such sensor in the scene; its sensors")
            )
    if recording.start is not None:
        start_time(recording.start)


def start_time(text: str | None) -> datetime.datetime:
    """The recording's start: `text` (ISO 8601 with an offset), or now (UTC, whole seconds)."""
    if text is None:
        return datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    try:
        start = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise TwinInputError("record.start", text, "not an ISO 8601 time (e.g. 2026-03-02T06:00:00Z)") from None
    if start.tzinfo is None:
        raise TwinInputError("record.start", text, "needs its UTC offset (e.g. 2026-03-02T06:00:00Z or +01:00)")
    return start


def _record_one(sensor, times, readings, recording: Recording, own: SensorRecording, rng) -> Series | None:
    t = _sample_times(sensor.period, float(times[-1]), recording.jitter, rng)
    true = line_sensors.samples_at(sensor, t, times, readings)
    defined = np.isfinite(true)
    if not defined.any():
        return None
    t, true = t[defined], true[defined]
    scale = units.UNITS[sensor.unit].scale
    counted = line_sensors.KINDS[sensor.kind].series in (line_sensors.HELD, line_sensors.RATE)
    relative = 0.0 if counted else recording.noise
    typical = float(np.sqrt(np.mean(true**2)))
    sd = np.full(t.shape, own.noise_sd if own.noise_sd is not None else relative * typical / scale)
    value = metrics_mod.to_unit(true, sensor.unit) + sd * rng.standard_normal(t.shape)
    if own.resolution is not None:
        value = np.round(value / own.resolution) * own.resolution
    deadband = own.deadband if own.deadband is not None else recording.deadband * float(sd[0])
    kept = _compress(t, value, deadband, recording.max_interval) if deadband > 0 else np.ones(t.shape, bool)
    kept &= rng.random(t.shape) >= recording.dropouts
    t, value = t[kept], value[kept]
    quality = np.where(rng.random(t.shape) < recording.bad, BAD, GOOD).astype(np.uint8)
    value = np.where(quality == BAD, BAD_VALUE, value)
    return Series(t + recording.clock_offset, value, sensor.kind, sensor.unit, quality, deadband)


def _sample_times(period: float, duration: float, jitter: float, rng) -> np.ndarray:
    """k·period for every k with k·period ≤ duration, each moved by U(−jitter/2, jitter/2)·period and
    kept within [0, duration] (strictly increasing for jitter < 1)."""
    t = np.arange(0.0, duration + 1e-9 * duration, period)
    t = t + (rng.random(t.shape) - 0.5) * jitter * period
    return np.unique(np.clip(t, 0.0, duration))


def _compress(t, value, deadband: float, max_interval: float | None) -> np.ndarray:
    """(n,) True for the samples a historian's exception test stores (see the module docstring)."""
    kept = np.zeros(t.shape, bool)
    kept[0] = kept[-1] = True
    last = 0
    for i in range(1, t.size - 1):
        if abs(value[i] - value[last]) > deadband or (max_interval is not None and t[i] - t[last] >= max_interval):
            kept[i], last = True, i
    return kept


__all__ = ["BAD_VALUE", "Recording", "RecordingWarning", "SensorRecording", "check", "record", "start_time"]
