"""Reducer life by the makers' methods (twin.kernels.reducer): a catalogue's duty cycle gives its average
torque; life scales exactly as T⁻³ (strain-wave) and T^(−10/3) (cycloidal) and as 1/speed; an L50 rating
is a fifth as an L10; limits are margins; temperature halves life per `halving_K` above the reference."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tolerances import DTYPES, tol

from twin.kernels import reducer

# Harmonic Drive CSF-40-120 life example (catalogue "Selection procedure"): output torque N·m, time s,
# output speed r/min for acceleration, steady running, deceleration and a pause; catalogue Tav = 319 N·m.
PHASES_T = [400.0, 320.0, 200.0, 0.0]
PHASES_t = [0.3, 3.0, 0.4, 0.2]
PHASES_n = [7.0, 14.0, 7.0, 0.0]
RATIO = 120.0
CATALOGUE_TAV = 319.0


def rating(kind: str, dtype, **changes) -> reducer.Rating:
    values = {  # CSF-40-120: Tr 294 N·m at nr 2000 r/min input, L10 7000 h; limits 333 / 617 / 1180 N·m
        "rated_torque": 294.0,
        "rated_speed": 2000.0,
        "rated_life_h": 7000.0,
        "average_torque_limit": 333.0,
        "repeated_peak_torque": 617.0,
        "momentary_peak_torque": 1180.0,
        "max_speed": 5600.0,
    }
    l50 = changes.pop("rated_as_l50", False)
    values.update(changes)
    return reducer.Rating(**{k: jnp.asarray(v, dtype) for k, v in values.items()}, kind=kind, rated_as_l50=l50)


def profile(dtype, torque_scale: float = 1.0, speed_scale: float = 1.0):
    T = jnp.asarray(PHASES_T, dtype) * torque_scale
    n_input = jnp.asarray(PHASES_n, dtype) * RATIO * speed_scale
    return T, n_input, jnp.asarray(PHASES_t, dtype)


def test_a_catalogue_duty_cycle_gives_its_average_torque_and_speed(precision):
    dtype = DTYPES[precision]
    life, Tav, nav = reducer.life_hours(rating("strain_wave", dtype), *profile(dtype))
    assert float(Tav) == pytest.approx(CATALOGUE_TAV, rel=5e-3)  # the catalogue rounds to 1 N·m
    exact = (np.dot(np.multiply(PHASES_n, PHASES_t), np.power(PHASES_T, 3)) / np.dot(PHASES_n, PHASES_t)) ** (1 / 3)
    assert float(Tav) == pytest.approx(exact, rel=tol("reducer_formula", precision))
    assert float(nav) == pytest.approx(
        RATIO * np.dot(PHASES_n, PHASES_t) / sum(PHASES_t), rel=tol("reducer_formula", precision)
    )
    expected = 7000.0 * (294.0 / exact) ** 3 * (2000.0 / float(nav))
    assert float(life) == pytest.approx(expected, rel=tol("reducer_formula", precision))


@pytest.mark.parametrize("kind, exponent", [("strain_wave", 3.0), ("cycloidal", 10.0 / 3.0)])
def test_life_scales_exactly_with_torque_and_speed(kind, exponent, precision):
    dtype = DTYPES[precision]
    base, _, _ = reducer.life_hours(rating(kind, dtype), *profile(dtype))
    for s in (0.5, 1.3, 2.0):
        heavier, _, _ = reducer.life_hours(rating(kind, dtype), *profile(dtype, torque_scale=s))
        faster, _, _ = reducer.life_hours(rating(kind, dtype), *profile(dtype, speed_scale=s))
        assert float(heavier / base) == pytest.approx(s**-exponent, rel=tol("reducer_formula", precision))
        assert float(faster / base) == pytest.approx(1 / s, rel=tol("reducer_formula", precision))
    # the gradient sees the law: d ln L / d ln (torque scale) = −exponent
    grad = jax.grad(lambda s: jnp.log(reducer.life_hours(rating(kind, dtype), *profile(dtype, torque_scale=s))[0]))
    assert float(grad(jnp.asarray(1.0, dtype))) == pytest.approx(-exponent, rel=tol("reducer_formula", precision))


def test_an_l50_rating_is_five_times_its_l10():
    l10, _, _ = reducer.life_hours(rating("strain_wave", jnp.float64), *profile(jnp.float64))
    l50_rated, _, _ = reducer.life_hours(
        rating("strain_wave", jnp.float64, rated_life_h=35000.0, rated_as_l50=True), *profile(jnp.float64)
    )
    assert float(l50_rated) == pytest.approx(float(l10), rel=1e-15)


def test_rated_limits_are_margins_negative_when_exceeded():
    T, n, t = profile(jnp.float64)
    accelerating = jnp.asarray([True, False, True, False])
    ok = reducer.margins(rating("strain_wave", jnp.float64), T, n, t, accelerating)
    assert float(ok["repeated_peak_torque"]) == pytest.approx(617.0 / 400.0 - 1.0)
    assert float(ok["momentary_peak_torque"]) == pytest.approx(1180.0 / 400.0 - 1.0)
    assert float(ok["max_speed"]) == pytest.approx(5600.0 / (14.0 * RATIO) - 1.0)
    assert all(float(v) > 0 for v in ok.values())
    over = reducer.margins(rating("strain_wave", jnp.float64), T * 2.0, n, t, accelerating)
    assert float(over["average_torque"]) < 0 and float(over["repeated_peak_torque"]) < 0
    assert float(over["momentary_peak_torque"]) > 0  # 800 N·m: still under the momentary 1180


def test_temperature_halves_life_per_halving_interval_above_the_reference():
    factor = jax.jit(reducer.temperature_factor)
    assert float(factor(30.0, 40.0, 15.0)) == 1.0 and float(factor(40.0, 40.0, 15.0)) == 1.0
    assert float(factor(55.0, 40.0, 15.0)) == pytest.approx(0.5, rel=1e-15)
    assert float(factor(70.0, 40.0, 15.0)) == pytest.approx(0.25, rel=1e-15)
    assert float(jax.grad(factor)(50.0, 40.0, 15.0)) == pytest.approx(-np.log(2) / 15.0 * 2 ** (-10 / 15), rel=1e-14)
