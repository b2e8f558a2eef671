"""The thermal kernels' public surface: face constructors, face conductances, shape handling and the
errors users get for inconsistent inputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from twin.kernels import thermal as th

EXACT = 1e-14  # closed-form coefficient checks: a few ulps


def test_face_constructors():
    k, dx, h = 2.0, 0.01, 40.0
    assert th.dirichlet(80.0, k, dx).conductance == pytest.approx(2 * k / dx**2, rel=EXACT)
    assert th.robin(h, 20.0, k, dx).conductance == pytest.approx(1 / (dx * (1 / h + dx / (2 * k))), rel=EXACT)
    assert th.robin(0.0, 20.0, k, dx).conductance == 0.0  # no film, no exchange (no 1/h)
    assert th.neumann(300.0, 1.0, dx).flux == pytest.approx(3e4, rel=EXACT)
    face = th.radiation(0.9, 150.0, 1.0, dx)
    assert face.radiation == pytest.approx(0.9 * 5.670374419e-8 / dx, rel=EXACT)
    assert (face.temperature, face.conductance, face.flux) == (150.0, 0.0, 0.0)


def test_robin_tends_to_dirichlet_for_large_h():
    assert th.robin(1e12, 20.0, 2.0, 0.01).conductance == pytest.approx(th.dirichlet(20.0, 2.0, 0.01).conductance)


def test_face_conductance_is_harmonic_mean_over_dx2_with_zero_boundary_faces():
    k = jnp.array([[1.0, 3.0], [2.0, 0.0]])
    g0, g1 = th.face_conductance(k, (0.1, 0.2))
    assert g0.shape == (3, 2) and g1.shape == (2, 3)
    np.testing.assert_allclose(g0[1], [2 * 1 * 2 / 3 / 0.01, 0.0], rtol=EXACT)  # 0 next to k = 0
    np.testing.assert_allclose(g1[:, 1], [2 * 1 * 3 / 4 / 0.04, 0.0], rtol=EXACT)
    np.testing.assert_array_equal(g0[np.array([0, 2])], 0.0)
    np.testing.assert_array_equal(g1[:, np.array([0, 2])], 0.0)
    assert np.all(np.isfinite(jax.grad(lambda k: th.face_conductance(k, (0.1, 0.2))[0].sum())(k)))


def test_face_entries_broadcast_from_lower_rank():
    # A per-column Robin h given as a 1-D row (nx,) on the axis-0 face: broadcast, not rank-promoted.
    T = jnp.full((3, 4), 20.0)
    coeffs = th.Coefficients(1e-5, (1e4, 1e4))
    h_row = jnp.array([0.0, 10.0, 20.0, 30.0])
    bcs = ((th.robin(h_row, 50.0, 1.0, 0.01), None), (None, None))
    dT = th.rhs(T, coeffs, bcs, 0.0)
    expected_A = th.robin(h_row, 50.0, 1.0, 0.01).conductance
    np.testing.assert_allclose(dT[0], 1e-5 * expected_A * 30.0, rtol=EXACT)
    np.testing.assert_array_equal(dT[1:], 0.0)


def test_single_cell_axis_gets_both_faces():
    T = jnp.full((1, 5), 20.0)
    coeffs = th.Coefficients(1e-5, (1e4, 1e4))
    bcs = ((th.neumann(100.0, 1.0, 0.01), th.neumann(50.0, 1.0, 0.01)), (None, None))
    np.testing.assert_allclose(th.power_density(T, coeffs, bcs, 0.0), 1.5e4, rtol=EXACT)


def test_uniform_scalar_field_is_a_fixed_point():
    for shape in [(4, 5), (3, 4, 5)]:
        coeffs = th.Coefficients(1e-5, (1e4,) * len(shape))
        T = jnp.full(shape, 37.0)
        np.testing.assert_array_equal(th.explicit_step(T, coeffs, ((None, None),) * len(shape), 0.0, 1.0), T)


def test_inconsistent_inputs_raise_actionable_errors():
    T = jnp.zeros((4, 5))
    with pytest.raises(ValueError, match=r"conductance\[1\] has shape \(4, 5\).*\(4, 6\)"):
        th.rhs(T, th.Coefficients(1.0, (1.0, jnp.ones((4, 5)))), ((None, None), (None, None)), 0.0)
    with pytest.raises(ValueError, match="needs 2 conductances and 2 boundary pairs"):
        th.rhs(T, th.Coefficients(1.0, (1.0, 1.0, 1.0)), ((None, None),) * 3, 0.0)
    with pytest.raises(ValueError, match="one spacing per array axis"):
        th.face_conductance(T, (0.1,))


def test_heat_content_and_rates_units():
    coeffs = th.Coefficients(jnp.full((2, 3), 1e-6), (0.0, 0.0), 2.0)
    T = jnp.full((2, 3), 10.0)
    assert float(th.heat_content(T, coeffs, 1e-3)) == pytest.approx(6 * 10 * 1e6 * 1e-3, rel=EXACT)
    assert float(th.source_heat_rate(T, coeffs, 5.0, 1e-3)) == pytest.approx(6 * (5 - 20) * 1e-3, rel=EXACT)
    bcs = ((th.neumann(100.0, 1.0, 0.1), None), (None, th.dirichlet(20.0, 1.0, 0.1)))
    # Neumann: 3 cells · 1000 W/m³; Dirichlet: 2 cells · 200·(20 − 10) W/m³; times 1e-3 m³.
    assert float(th.boundary_heat_rate(T, coeffs, bcs, 1e-3)) == pytest.approx(7.0, rel=EXACT)
