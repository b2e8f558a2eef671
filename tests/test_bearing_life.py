"""Rolling-bearing life by ISO 281:2007 (twin.kernels.bearing): the standard's reliability factors, aISO
at a tabulated point, the cap, viscosity through its reference points, the life's scaling laws."""

from __future__ import annotations

import jax
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
