"""Telemetry against the twin (twin.telemetry.observations): a noise-free recording is what the twin
predicts at every recorded time, irregular or not; the fit's residual gradient through the whole run
equals float64 central differences; mismatched sensors are refused or skipped, as documented."""

from __future__ import annotations

import dataclasses
import functools

import jax.numpy as jnp
import numpy as np
import pytest
from test_record import START, _run, _scene

import twin
from twin.errors import TwinInputError
from twin.telemetry import files
from twin.telemetry.observations import TelemetryWarning, observe
from twin.telemetry.record import Recording, record

# The twin at the recorded samples against the recorded values (noise-free), relative to each sensor's
# largest value: measured 9.1e-8 (float32: the recorder interpolates in float64, the prediction in
# float32), 1.6e-15.
PREDICTION = {"float32": 5e-7, "float64": 5e-15}
# AD vs float64 central differences (step 1e-5 relative) of the residual loss: measured 3.5e-7
# (heater_efficiency; hvac_airflow 3.2e-7, part_c_p 1.5e-8, part_h 3.0e-9), the differences' own error.
GRADIENT_RTOL = 2e-6


def _observations(precision: str, **settings):
    result = _run(precision)
    telemetry = record(result, Recording(start=START, **settings))
    return result, observe(result.layout, telemetry, result.plan.dt, result.plan.steps, "recorded.h5")


def test_a_noise_free_recording_is_the_twins_prediction(precision):
    result, obs = _observations(precision, noise=0.0, jitter=0.7, seed=1)
    predicted = np.asarray(obs.predict(jnp.asarray(result.readings[1][1:])), float)
    assert set(obs.names) >= {"tc", "tc_K", "w", "speed", "wip", "rate"}
    for name in obs.names:
        at = obs.of(name)
        scale = np.max(np.abs(obs.value[at]))
        worst = np.max(np.abs(predicted[at] - obs.value[at])) / scale
        assert worst <= PREDICTION[precision], name
    kelvin = obs.value[obs.of("tc_K")]
    assert 0.0 < np.min(kelvin) < 100.0  # recorded in K, observed in °C


@functools.cache
def _loss_setup():
    result, obs = _observations("float64", noise=0.01, jitter=0.5, seed=2)
    layout, params, _ = twin.build(_scene(), jnp.float64)
    sd = np.maximum(0.01 * np.abs(obs.value), 1e-3)

    def loss(run):
        return jnp.sum(((obs.predict(run.readings) - obs.value) / sd) ** 2)

    return layout, params, loss, result.plan.steps


WRT = ("heater_efficiency", "part_c_p", "part_h", "hvac_airflow")


def test_the_residual_gradient_matches_central_differences():
    layout, params, loss, steps = _loss_setup()
    solver = twin.Solver()
    _, grad, _ = twin.value_and_grad(loss, layout, params, solver, n_steps=steps, wrt=WRT)
    for path in WRT:
        x = getattr(params, path)
        h = 1e-5 * float(jnp.max(jnp.abs(x)))

        def at(delta, path=path, x=x):
            moved = dataclasses.replace(params, **{path: x + delta})
            return float(twin.evaluate(loss, layout, moved, solver, n_steps=steps).value)

        central = (at(h) - at(-h)) / (2 * h)
        assert float(jnp.sum(getattr(grad, path))) == pytest.approx(central, rel=GRADIENT_RTOL), path


def _telemetry_with(name: str, **change) -> files.Telemetry:
    telemetry = record(_run("float64"), Recording(start=START, noise=0.0))
    sensors = dict(telemetry.sensors)
    sensors[name] = dataclasses.replace(sensors[name], **change)
    return dataclasses.replace(telemetry, sensors=sensors)


@pytest.mark.parametrize(
    "name, change, phrase",
    [
        ("tc", {"kind": "surface_temperature"}, "kind differs from the scene sensor's ('air_temperature')"),
        ("w", {"unit": "degC"}, "'degC' (temperature) cannot be converted to 'kW' (power)"),
    ],
)
def test_mismatched_sensors_are_refused_at_their_dataset(name, change, phrase):
    result = _run("float64")
    with pytest.raises(TwinInputError) as err:
        observe(result.layout, _telemetry_with(name, **change), result.plan.dt, result.plan.steps, "rec.h5")
    assert err.value.where == f"rec.h5:/sensors/{name}" and phrase in str(err.value)


def test_a_sensor_the_scene_lacks_is_skipped_with_a_warning():
    result = _run("float64")
    telemetry = record(result, Recording(start=START))
    extra = dataclasses.replace(telemetry, sensors=telemetry.sensors | {"ghost": telemetry.sensors["tc"]})
    with pytest.warns(TelemetryWarning, match="rec.h5: sensor 'ghost' is not in the scene: skipped"):
        obs = observe(result.layout, extra, result.plan.dt, result.plan.steps, "rec.h5")
    assert "ghost" not in obs.names and "tc" in obs.names


def test_bad_samples_are_left_out():
    result, obs = _observations("float64", bad=0.2, seed=9)
    assert not np.any(obs.value == -9999.0)
