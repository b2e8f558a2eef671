"""The conveyors' roller bearings on the line (twin.line.belts): the life they use is the ISO 281 rate
of their duty times the time run, warmer air uses it faster, the life used adds to the drag the motors
pull against, and the sensors and metrics.json report it."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
from fixtures import belt_in_still_air
from tolerances import DTYPES

import twin
from twin.kernels import bearing
from twin.kernels import belt as belt_physics
from twin.line import belts

SPEED = 0.1  # m/s
MASS_PER_LENGTH = 200.0  # kg/m: loads the bearings enough that aISO stays under its cap of 50
CONTAMINATION = 0.05
DURATION = 600.0  # s
# The run's life use against rate × time (a float64 reference from the ISO formulas): measured 5.9e-6
# (float32) and 1.6e-10 (float64: the belt holds its setpoint to that, and the rate is ∝ speed).
USE = {"float32": 3e-5, "float64": 1e-9}
# Drive force of the half-worn segment over the new one against 1.5: measured 4.8e-7 and 2.3e-7, the
# run's own use (7e-7 of the life) in both.
FORCE_RATIO = 2e-6


def _scene(used_before_b: float = 0.5) -> twin.Scene:
    spec = belt_in_still_air(speed=SPEED)
    conveyor = spec["conveyors"]["belt"]
    del conveyor["parts"]  # the belt alone: a constant duty
    heavy = {"mass_per_length": MASS_PER_LENGTH}
    conveyor["segments"] = {
        "a": {**heavy, "length": 9.75, "bearings": {"contamination": CONTAMINATION}},
        "b": {**heavy, "bearings": {"contamination": CONTAMINATION, "used_before": used_before_b}},
    }
    spec["sensors"] = {
        "life_a": {"kind": "bearing_life", "target": "belt.a", "period": 60.0},
        "use_b": {"kind": "bearing_use", "target": "belt.b", "period": 60.0},
    }
    return twin.scene_from_mapping(spec)


def _expected_rate_per_h(T_air: float) -> float:
    """1/Lnm (a1 = 1) of one segment's bearings, from the ISO 281 formulas, in float64."""
    d = twin.scene_from_mapping(belt_in_still_air()).conveyors["belt"].belt_segments()["belt"].bearings
    rollers = 9.75 / d.roller_spacing
    load = MASS_PER_LENGTH * 9.75 * belt_physics.GRAVITY / (2.0 * rollers)
    rpm = 60.0 * SPEED / (math.pi * d.roller_diameter)
    nu = bearing.viscosity(T_air + d.temperature_rise, d.oil_viscosity_40, d.oil_viscosity_100)
    kappa = nu / bearing.rated_viscosity(rpm, d.mean_diameter)
    a_iso = bearing.life_modification_factor(kappa, CONTAMINATION * d.fatigue_load_limit / load)
    assert float(a_iso) < bearing.AISO_CAP  # the case exercises aISO, not its cap
    return 1.0 / float(a_iso * bearing.basic_life_hours(d.dynamic_load_rating, load, rpm))


@pytest.fixture(scope="module", params=["float32", "float64"])
def run(request):
    return request.param, twin.simulate(_scene(), duration=DURATION, precision=request.param, snapshot_every=DURATION)


def test_life_used_is_the_iso_rate_times_the_time_run(run):
    precision, result = run
    rate = _expected_rate_per_h(20.0)
    used = np.asarray(result.state.belts.bearing_use, float)
    np.testing.assert_allclose(used, rate * DURATION / 3600.0, rtol=USE[precision])
    report = result.metrics["bearings"]
    assert report["belt.a"]["life_h"] == pytest.approx(1.0 / rate, rel=USE[precision])
    assert report["belt.b"]["used"] == pytest.approx(0.5 + used[1], rel=1e-6)
    assert report["belt.b"]["remaining_life_h"] == pytest.approx((0.5 - used[1]) / rate, rel=USE[precision])
    assert report["belt.a"]["limit_date"] is not None


def test_the_life_used_adds_to_the_drag(run):
    """At steady speed the drive holds the drag: the half-worn segment pulls 1 + 0.5·wear_per_life times
    what the new one does, and the metrics report that factor."""
    precision, result = run
    force, _ = belt_physics.motor_force(result.params.belts, result.state.belts.v, result.state.belts.integral)
    assert float(force[1] / force[0]) == pytest.approx(1.5, rel=FORCE_RATIO)
    assert result.metrics["bearings"]["belt.b"]["drag_factor"] == pytest.approx(1.5, rel=1e-6)
    assert result.metrics["bearings"]["belt.a"]["drag_factor"] == pytest.approx(1.0, abs=1e-6)


def test_sensors_read_the_bearings(run):
    precision, result = run
    report = result.metrics["bearings"]
    _, life = result.sensors["life_a"]
    assert life[-1] == pytest.approx(report["belt.a"]["remaining_life_h"], rel=USE[precision])
    _, use = result.sensors["use_b"]
    assert use[0] == pytest.approx(0.5, rel=1e-7)
    assert use[-1] == pytest.approx(report["belt.b"]["used"], rel=1e-6)
    assert np.all(np.diff(use) >= 0)


def test_warmer_air_and_heavier_loads_use_the_bearings_faster(precision):
    layout, params, _ = twin.build(_scene(), DTYPES[precision])
    v = params.belts.setpoint

    def rate(load, T):
        return np.asarray(belts.use_rate(params, v, jnp.full_like(v, load), jnp.full_like(v, T)), float)

    assert np.all(rate(0.0, 40.0) > rate(0.0, 20.0))
    assert np.all(rate(500.0, 20.0) > rate(0.0, 20.0))
    assert np.all(np.asarray(belts.use_rate(params, 0.0 * v, 0.0 * v, v * 0 + 20.0)) == 0.0)  # standing belt
    expected = _expected_rate_per_h(40.0) / 3600.0
    assert rate(0.0, 40.0)[0] == pytest.approx(expected, rel=USE[precision])
