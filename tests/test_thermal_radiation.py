"""Radiating faces radiate from the face, half a cell beyond the edge cell centre, as Dirichlet and Robin
faces conduct through that half cell: exact on linear profiles, second order in space, and the face
temperature every face type gives (`face_temperature`) exact where the profile is linear.

float64 (tests/conftest.py) unless a test says otherwise.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from scipy import optimize

from twin.kernels import thermal as th

K, RHO_C, L = 1.0, 1.0e5, 0.1  # W/(m·K), J/(m³·K), m
T_HOT, T_SURR, EMISSIVITY = 400.0, 20.0, 0.8  # °C, °C, —
ORDER_MIN = 1.8  # the fitted spatial order, at most 0.2 under the design order 2 (STYLE.md §7)
# The exact balance k(T₀ − T_B)/L = εσ(T_B⁴ − T∞⁴) on any grid: what is left is Newton's and CG's
# round-off; measured ≤ 3e-14 relative in float64, 2.7e-5 in float32 (64 cells: CG stops at 1e-5).
BALANCE_RTOL = {"float64": 1e-12, "float32": 1e-4}
NEWTON_RTOL = 1e-13  # `_radiating_face` against a root finder over ten decades of E·T³/G; measured 4e-16


def _radiative_flux(T_face):
    return EMISSIVITY * th.SIGMA * ((T_face + th.KELVIN) ** 4 - (T_SURR + th.KELVIN) ** 4)


def _exact_face_temperature() -> float:
    """T_B of 1D steady conduction from a wall at T_HOT into a radiating face: a linear profile."""
    return optimize.brentq(lambda T: K * (T_HOT - T) / L - _radiative_flux(T), T_SURR, T_HOT, xtol=1e-14)


def _slab(n: int, dtype=jnp.float64):
    dx = L / n
    coeffs = th.Coefficients(jnp.asarray(1.0 / RHO_C, dtype), (jnp.asarray(K / dx**2, dtype),))
    bcs = (
        (th.dirichlet(jnp.asarray(T_HOT, dtype), K, dx), th.radiation(EMISSIVITY, jnp.asarray(T_SURR, dtype), K, dx)),
    )
    return coeffs, bcs, dx


@pytest.mark.parametrize("precision", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 2, 3, 6, 17, 64])
def test_steady_radiating_slab_is_exact_on_any_grid(n, precision):
    dtype = {"float32": jnp.float32, "float64": jnp.float64}[precision]
    coeffs, bcs, dx = _slab(n, dtype)
    T = jax.jit(th.steady_state)(jnp.full((n,), T_HOT, dtype), coeffs, bcs, 0.0)
    T_face = float(th.face_temperature(T, bcs, 0, 1)[0])
    conducted = K * (T_HOT - T_face) / L
    assert conducted == pytest.approx(_radiative_flux(T_face), rel=BALANCE_RTOL[precision])
    assert T_face == pytest.approx(_exact_face_temperature(), rel=BALANCE_RTOL[precision])
    x = (np.arange(n) + 0.5) * dx
    line = T_HOT + (T_face - T_HOT) * x / L
    np.testing.assert_allclose(np.asarray(T, float), line, rtol=BALANCE_RTOL[precision])


def test_newton_face_temperature_over_wide_ranges():
    """The fixed-step Newton solve of the face balance against a bracketing root finder."""
    rng = np.random.default_rng(0)
    G = 10.0 ** rng.uniform(-3, 7, 200)  # W/(m³·K): from a thin insulator to a thick metal half cell
    E = 0.9 * th.SIGMA / 10.0 ** rng.uniform(-3, 0, 200)
    T_edge, T_surr = rng.uniform(-50, 1500, 200), rng.uniform(-50, 1500, 200)
    got, _ = th._radiating_face(jnp.asarray(T_edge), jnp.asarray(G), jnp.asarray(E), jnp.asarray(T_surr))
    for i in range(200):

        def balance(x, i=i):
            a, s = T_edge[i] + th.KELVIN, T_surr[i] + th.KELVIN
            return G[i] * (x - a) + E[i] * (x**4 - s**4)

        root = optimize.brentq(balance, 1.0, 2000.0, xtol=1e-13)
        assert float(got[i]) + th.KELVIN == pytest.approx(root, rel=NEWTON_RTOL)


# --------------------------------------------------------------------------- transient: spatial order

T_START, T_END, DT = 600.0, 200.0, 0.5  # °C, s, s


def _cooling_face_temperature(n: int) -> float:
    """A slab at 600 °C, insulated on the left, radiating on the right: T_face after T_END (CN)."""
    dx = L / 2 / n
    coeffs = th.Coefficients(1.0 / RHO_C, (K / dx**2,))
    bcs = ((None, th.radiation(0.9, T_SURR, K, dx)),)
    step = jax.jit(
        lambda T: lax.fori_loop(
            0, round(T_END / DT), lambda i, T: th.implicit_step(T, coeffs, bcs, 0.0, DT, theta=0.5, tol=1e-13), T
        )
    )
    T = step(jnp.full((n,), T_START))
    return float(th.face_temperature(T, bcs, 0, 1)[0])


def test_radiating_face_is_second_order_in_space():
    """Richardson: the differences between successive halvings fall like dx² (like dx before, when the
    radiation left from the edge cell centre)."""
    ns = [5, 10, 20, 40, 80]
    values = np.array([_cooling_face_temperature(n) for n in ns])
    differences = np.abs(np.diff(values))
    slope = np.polyfit(np.log(1.0 / np.array(ns[:-1])), np.log(differences), 1)[0]
    assert slope >= ORDER_MIN, (slope, values)


# --------------------------------------------------------------------------- face temperatures


@pytest.mark.parametrize("kind", ["dirichlet", "robin", "neumann", "radiation", "adiabatic"])
def test_face_temperature_is_exact_on_a_linear_profile(kind):
    """A linear field with the face's own flux at the face: each face type returns the linear profile's
    value at the face (the adiabatic face, with zero flux, its edge cell)."""
    n, dx, slope_K_per_m = 8, 0.01, -300.0
    x = (np.arange(n) + 0.5) * dx
    T = jnp.asarray(100.0 + slope_K_per_m * x)
    at_face = 100.0 + slope_K_per_m * n * dx
    flux_out = -K * slope_K_per_m  # W/m² leaving through the high face
    faces = {
        "dirichlet": th.dirichlet(at_face, K, dx),
        "robin": th.robin(50.0, at_face - flux_out / 50.0, K, dx),
        "neumann": th.neumann(-flux_out, K, dx),
        "radiation": th.radiation(
            0.9,
            optimize.brentq(
                lambda s: 0.9 * th.SIGMA * ((at_face + th.KELVIN) ** 4 - (s + th.KELVIN) ** 4) - flux_out,
                -200.0,
                at_face,
            ),
            K,
            dx,
        ),
        "adiabatic": None,
    }
    face = float(th.face_temperature(T, ((None, faces[kind]),), 0, 1)[0])
    expected = float(T[-1]) if kind == "adiabatic" else at_face
    assert face == pytest.approx(expected, rel=1e-12)


def test_stable_dt_puts_radiation_in_series_with_the_half_cell():
    """A thin insulating half cell limits how fast a radiating face can cool its cell (one cell, so the
    face is the whole Gershgorin row)."""
    coeffs = th.Coefficients(1.0 / RHO_C, (0.0,))
    bcs = ((None, th.radiation(1.0, 0.0, 1e-6, 1.0)),)  # k = 1e-6 W/(m·K), dx = 1 m: G = 2e-6 W/(m³·K)
    dt = float(th.stable_dt(coeffs, bcs, T_max=1000.0, safety=1.0, shape=(1,)))
    R, G = 4.0 * th.SIGMA * (1000.0 + th.KELVIN) ** 3, 2e-6
    assert dt == pytest.approx(2.0 * RHO_C * (R + G) / (R * G), rel=1e-12)
