"""`twin record`'s recorder (twin.telemetry.record): the twin sampled at a historian's times, then noise,
quantisation, deadband compression, dropouts, bad samples and a clock offset, each as configured and
each checked against what it must be — in float32 and float64."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from fixtures import small_line

import twin
from twin.errors import TwinInputError
from twin.line import sensors as line_sensors
from twin.telemetry import files
from twin.telemetry.record import BAD_VALUE, Recording, RecordingWarning, SensorRecording, record

DURATION = 900.0
START = "2026-03-02T06:00:00+01:00"


def _scene() -> twin.Scene:
    scene = small_line()
    scene["sensors"] |= {
        "speed": {"kind": "belt_speed", "target": "belt", "period": 7.0, "unit": "m/min"},
        "wip": {"kind": "work_in_progress", "target": "belt", "period": 10.0},
        "rate": {"kind": "throughput", "target": "belt", "period": 60.0},
        "tc_K": {"kind": "air_temperature", "position": [6.0, 2.0], "period": 3.0, "unit": "K"},
    }
    return twin.scene_from_mapping(scene)


@functools.cache
def _run(precision: str) -> twin.Result:
    return twin.simulate(_scene(), DURATION, precision=precision, snapshot_every=DURATION)


def _record(precision: str, **settings) -> files.Telemetry:
    return record(_run(precision), Recording(start=START, **settings))


def _exact(precision: str, name: str, t: np.ndarray) -> np.ndarray:
    """The sensor's true value at times t, in its unit."""
    result = _run(precision)
    j = [s.name for s in result.layout.sensors].index(name)
    sensor = result.layout.sensors[j]
    times, series = result.readings
    return twin.metrics.to_unit(line_sensors.samples_at(sensor, t, times, series[:, j]), sensor.unit)


def test_without_noise_the_recording_is_the_runs_sensor_samples(precision):
    telemetry = _record(precision, noise=0.0)
    result = _run(precision)
    assert telemetry.start.isoformat() == START and telemetry.scene == "small_line"
    for name, series in telemetry.sensors.items():
        t, value = result.sensors[name]
        defined = np.isfinite(value)
        np.testing.assert_array_equal(series.t, t[defined])
        np.testing.assert_array_equal(series.value, value[defined])
        assert series.unit == _scene().sensors[name].unit or series.unit == line_sensors.KINDS[series.kind].units[0]


def test_jittered_times_sample_the_twin_there_and_rates_keep_the_count(precision):
    telemetry = _record(precision, noise=0.0, jitter=0.8, seed=3)
    for name, series in telemetry.sensors.items():
        steps = np.diff(series.t)
        assert np.all(steps > 0)
        np.testing.assert_array_equal(series.value, _exact(precision, name, series.t))
    rate = telemetry.sensors["rate"]
    assert np.std(np.diff(rate.t)) > 1.0  # irregular
    # parts/h over the period before each sample: the parts that left in it, counted at the end of the
    # step each left in
    result = _run(precision)
    dt = result.plan.dt
    counted_at = np.ceil(result.parts["time_out"] / dt - 1e-9) * dt
    exits = [np.sum((counted_at > t - 60.0 + 1e-9) & (counted_at <= t + 1e-9)) for t in rate.t]
    assert sum(exits) > 10
    np.testing.assert_allclose(rate.value * 60.0 / 3600.0, exits, rtol=1e-12)


def test_noise_has_the_configured_spread(precision):
    telemetry = _record(precision, noise=0.02, seed=5)
    z = []
    for name in ("tc", "tc_K", "w", "speed"):
        s = telemetry.sensors[name]
        true = _exact(precision, name, s.t)
        twin_value = twin.units.to_twin(true, s.unit)
        sd = 0.02 * np.sqrt(np.mean(twin_value**2)) / twin.units.UNITS[s.unit].scale  # one σ per sensor
        z.append((s.value - true) / sd)
    z = np.concatenate(z)
    # n ≈ 900 standard normal draws: mean within 4/√n, standard deviation within 4/√(2n)
    assert abs(np.mean(z)) < 4 / np.sqrt(z.size) and abs(np.std(z) - 1.0) < 4 / np.sqrt(2 * z.size)
    np.testing.assert_array_equal(telemetry.sensors["wip"].value % 1.0, 0.0)  # counts stay counts


def test_deadband_compression_stores_exactly_the_exceptions(precision):
    full = _record(precision, noise=0.01, seed=7)
    compressed = _record(precision, noise=0.01, seed=7, deadband=2.0)
    for name, kept in compressed.sensors.items():
        every = full.sensors[name]
        band = kept.deadband
        assert kept.t.size <= every.t.size and np.isin(kept.t, every.t).all()
        last = every.value[0]
        for t, v in zip(every.t, every.value):
            stored = t in kept.t
            if t not in (every.t[0], every.t[-1]):
                assert stored == (band == 0 or abs(v - last) > band), (name, t)  # 0: counts, no compression
            if stored:
                last = v
    stored = sum(s.t.size for s in compressed.sensors.values())
    assert stored < 0.8 * sum(s.t.size for s in full.sensors.values())  # it compresses
    tc = compressed.sensors["tc"]
    sd = 0.01 * np.sqrt(np.mean(_exact(precision, "tc", full.sensors["tc"].t) ** 2))
    assert tc.deadband == pytest.approx(2.0 * sd, rel=1e-12)


def test_dropouts_and_bad_samples_at_their_rates(precision):
    telemetry = _record(precision, dropouts=0.1, bad=0.05, seed=11)
    full = _record(precision, seed=11)
    n = sum(s.t.size for s in full.sensors.values())
    kept = sum(s.t.size for s in telemetry.sensors.values())
    bad = sum(int(np.sum(s.quality == files.BAD)) for s in telemetry.sensors.values())
    assert abs((n - kept) / n - 0.1) < 4 * np.sqrt(0.1 * 0.9 / n)  # binomial, 4σ
    assert abs(bad / kept - 0.05) < 4 * np.sqrt(0.05 * 0.95 / kept)
    for s in telemetry.sensors.values():
        np.testing.assert_array_equal(s.value[s.quality == files.BAD], BAD_VALUE)
        assert not np.any(s.usable() & (s.quality == files.BAD))


def test_resolution_clock_offset_and_seed():
    settings = {"noise": 0.01, "seed": 2, "sensors": {"tc": SensorRecording(resolution=0.25)}}
    a = _record("float64", **settings)
    late = _record("float64", clock_offset=-12.5, **settings)
    np.testing.assert_array_equal(np.round(a.sensors["tc"].value / 0.25) * 0.25, a.sensors["tc"].value)
    for name in a.sensors:
        np.testing.assert_array_equal(late.sensors[name].t, a.sensors[name].t - 12.5)
        np.testing.assert_array_equal(late.sensors[name].value, a.sensors[name].value)
    other = _record("float64", **(settings | {"seed": 3}))
    assert not np.array_equal(other.sensors["w"].value, a.sensors["w"].value)


def test_a_recording_reads_back_from_its_file(tmp_path):
    telemetry = _record("float32", noise=0.01, jitter=0.5, deadband=1.0, dropouts=0.02, bad=0.01, seed=4)
    files.write(tmp_path / "telemetry.h5", telemetry)
    back = files.read(tmp_path / "telemetry.h5")
    assert set(back.sensors) == set(telemetry.sensors) and back.start == telemetry.start
    for name, s in telemetry.sensors.items():
        np.testing.assert_array_equal(back.sensors[name].value, s.value)
        np.testing.assert_array_equal(back.sensors[name].quality, s.quality)


def test_a_sensor_without_any_reading_is_left_out_with_a_warning():
    result = twin.simulate(_scene(), 20.0, precision="float64", snapshot_every=20.0)  # no pick yet
    with pytest.warns(RecordingWarning) as caught:
        telemetry = record(result, Recording(start=START))
    said = [str(w.message) for w in caught]
    assert said == [f"sensor {name!r} has no defined reading in the run: not recorded" for name in ("p1", "c1")]
    assert "p1" not in telemetry.sensors and "tc" in telemetry.sensors


@pytest.mark.parametrize(
    "settings, where, phrase",
    [
        ({"sensors": {"nope": SensorRecording()}}, "record.sensors.nope", "no such sensor"),
        ({"start": "2026-03-02T06:00:00"}, "record.start", "UTC offset"),
        ({"start": "soon"}, "record.start", "not an ISO 8601 time"),
    ],
)
def test_bad_settings_are_refused_at_their_key(settings, where, phrase):
    with pytest.raises(TwinInputError) as err:
        record(_run("float64"), Recording(**({"start": START} | settings)))
    assert err.value.where == where and phrase in str(err.value)
