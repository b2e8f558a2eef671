"""Rolling-bearing life by ISO 281:2007 (twin.kernels.bearing): the standard's reliability factors, aISO
at a tabulated point, the cap, viscosity through its reference points, the life's scaling laws."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from twin.kernels import bearing


@pytest.mark.parametrize("reliability, a1", [(90.0, 1.00), (95.0, 0.64), (99.0, 0.25)])
def test_reliability_factor_is_the_standards(reliability, a1):
    assert float(bearing.reliability_factor(reliability)) == pytest.approx(a1, abs=0.005)  # tabulated to 2 places


def test_aiso_of_a_ball_bearing_at_a_known_point_and_its_cap():
    assert float(bearing.life_modification_factor(1.0, 0.1, bearing.BALL)) == pytest.approx(2.43, rel=0.01)
    assert float(bearing.life_modification_factor(4.0, 2.0, bearing.BALL)) == bearing.AISO_CAP
    assert float(bearing.life_modification_factor(10.0, 0.1)) == float(bearing.life_modification_factor(4.0, 0.1))
    # better lubrication and cleaner oil give longer life, for balls and rollers
    for kind in (bearing.BALL, bearing.ROLLER):
        f = bearing.life_modification_factor
        assert float(f(0.5, 0.1, kind)) < float(f(1.0, 0.1, kind)) < float(f(2.0, 0.1, kind))
        assert float(f(1.0, 0.05, kind)) < float(f(1.0, 0.2, kind))
    grad = jax.grad(bearing.life_modification_factor)(1.5, 0.1)
    assert np.isfinite(float(grad)) and float(grad) > 0


def test_viscosity_passes_through_its_reference_points_and_falls_with_temperature():
    nu = jax.jit(bearing.viscosity)
    assert float(nu(40.0, 100.0, 11.1)) == pytest.approx(100.0, rel=1e-12)
    assert float(nu(100.0, 100.0, 11.1)) == pytest.approx(11.1, rel=1e-12)
    assert float(nu(20.0, 100.0, 11.1)) > 100.0 > float(nu(60.0, 100.0, 11.1)) > 11.1


def test_rated_viscosity_is_continuous_at_1000_rpm():
    below, above = (float(bearing.rated_viscosity(n, 50.0)) for n in (999.999, 1000.0))
    assert below == pytest.approx(above, rel=0.03)  # the standard's two fits meet within 2.3 %


def test_basic_life_scales_with_the_load_ratio_and_speed():
    base = float(bearing.basic_life_hours(30e3, 3e3, 300.0))
    assert base == pytest.approx(1e6 / (60 * 300) * 10.0**3, rel=1e-14)
    assert float(bearing.basic_life_hours(30e3, 6e3, 300.0)) == pytest.approx(base / 8, rel=1e-14)
    assert float(bearing.basic_life_hours(30e3, 3e3, 600.0)) == pytest.approx(base / 2, rel=1e-14)
    roller = float(bearing.basic_life_hours(30e3, 3e3, 300.0, bearing.ROLLER))
    assert roller == pytest.approx(1e6 / (60 * 300) * 10.0 ** (10 / 3), rel=1e-14)


def test_a_hotter_bearing_lives_shorter():
    def life(T):
        return bearing.modified_life_hours(30e3, 3e3, 300.0, 1.2e3, 0.5, T, 100.0, 11.1, 50.0)

    assert float(life(80.0)) < float(life(50.0))
    assert float(jax.grad(life)(70.0)) < 0.0


@pytest.mark.parametrize("kind", [bearing.BALL, bearing.ROLLER])
def test_aiso_has_finite_gradients_that_match_central_differences_in_every_kappa_range(kind):
    """Each κ range's branch is evaluated everywhere (jnp.where): the others' must not put NaN into the
    gradient, at slow rollers' κ ≈ 0.12 as at well-lubricated κ ≈ 3."""
    f = jax.jit(lambda k, r: bearing.life_modification_factor(k, r, kind))
    for kappa in (0.12, 0.3, 0.7, 1.5, 3.0):
        for ratio in (0.01, 0.1, 0.5):
            k, r = jnp.float64(kappa), jnp.float64(ratio)
            gk, gr = jax.grad(f, argnums=(0, 1))(k, r)
            h = 1e-6
            fd_k = (f(k * (1 + h), r) - f(k * (1 - h), r)) / (2 * h * k)
            fd_r = (f(k, r * (1 + h)) - f(k, r * (1 - h))) / (2 * h * r)
            if float(f(k, r)) < bearing.AISO_CAP:
                assert float(gk) == pytest.approx(float(fd_k), rel=1e-6)
                assert float(gr) == pytest.approx(float(fd_r), rel=1e-6)
            else:  # at the cap: flat
                assert float(gk) == float(gr) == 0.0


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_aiso_gradient_stays_finite_where_its_formula_would_overflow(dtype):
    """Near the fatigue load limit the formula's inner term → 0 and its −9.3th power overflows float32;
    capped, the gradient is 0, not 0·inf = NaN."""
    grad = jax.grad(lambda r: bearing.life_modification_factor(jnp.asarray(4.0, dtype), r))
    for ratio in (1.5, 1.9, 2.4, 10.0):  # inner from a few 1e-2 down past 0
        assert np.isfinite(float(grad(jnp.asarray(ratio, dtype))))
