"""Thermal kernels against exact solutions: semi-infinite solids, Gaussian pulses (2D, 3D), steady
generation, layered walls, fitted convergence orders, and the explicit stability bound.

float64 (tests/conftest.py). Grids are small; time loops are `lax.fori_loop` under `jit`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fixtures import march, stepper
from jax import lax
from scipy import special

from twin.kernels import thermal as th

K = 1.0  # W/(m·K)
RHO_C = 1.0e5  # J/(m³·K): with K, α = 1e-5 m²/s (a metal-ish diffusivity)
ALPHA = K / RHO_C

# Tolerances (max abs error / temperature scale unless noted). Measured errors are ~3× below each.
SEMI_INFINITE_RTOL = 2e-4  # 28 cells per diffusion length √αt: O((dx/√αt)²); measured 4e-5
GAUSSIAN_RTOL = 1e-2  # σ = 4 cells at t = 0: O((dx/σ)²) of the peak; measured 3e-3
PARABOLA_RTOL = 2e-3  # cell-centred Dirichlet wall: O((dx/L)²) of the rise; measured (dx/L)² = 6.25e-4
LAYERED_ATOL = 1e-10  # K: harmonic-mean faces make the piecewise-linear profile exact; CG error only
EXTRUDED_ATOL = 1e-10  # K: same arithmetic as 2D up to summation order (CG sums over 4× the cells)
ORDER_TOL = 0.2  # fitted slope within ±0.2 of the design order (STYLE.md §7)
STEADY_MATCH_RTOL = 1e-9  # explicit vs implicit steady state: e^(−π²·2.8) ≈ 1e-12 transient left; measured 1e-12
STEADY_TOL = 1e-12  # CG relative residual for steady solves, a few digits above float64 round-off


def uniform(shape_ndim: int, k: float = K, rho_c: float = RHO_C, dx: float = 1.0):
    return th.Coefficients(inv_capacity=1.0 / rho_c, conductance=(k / dx**2,) * shape_ndim)


def adiabatic(ndim: int) -> th.Boundaries:
    return ((None, None),) * ndim


def centres(n: int, dx: float) -> np.ndarray:
    return (np.arange(n) + 0.5) * dx


# ------------------------------------------------------------------------------------- semi-infinite solid

N_SEMI, DX_SEMI, T_END_SEMI = 200, 5e-4, 20.0  # erfc(L/(2√αt)) ≈ 7e-7: the far end never notices
T_INIT, T_SURFACE = 20.0, 120.0


def _semi_infinite_run(face, method: str):
    coeffs = uniform(2, dx=DX_SEMI)
    bcs = ((None, None), (face, None))
    shape = (1, N_SEMI)
    dt_stable = float(th.stable_dt(coeffs, bcs, shape=shape))
    dt_target = dt_stable if method == "explicit" else 4 * dt_stable
    steps = math.ceil(T_END_SEMI / dt_target)
    step = stepper(method, coeffs, bcs, 0.0, T_END_SEMI / steps)
    T = jax.jit(march, static_argnums=(0, 2))(step, jnp.full(shape, T_INIT), steps)
    return centres(N_SEMI, DX_SEMI), np.asarray(T[0])


@pytest.mark.parametrize("method", ["explicit", "crank_nicolson"])
def test_semi_infinite_step_surface_temperature(method):
    x, T = _semi_infinite_run(th.dirichlet(T_SURFACE, K, DX_SEMI), method)
    exact = T_SURFACE + (T_INIT - T_SURFACE) * special.erf(x / (2 * math.sqrt(ALPHA * T_END_SEMI)))
    assert np.max(np.abs(T - exact)) <= SEMI_INFINITE_RTOL * (T_SURFACE - T_INIT)


def convective_semi_infinite(x, t, h, k, alpha, T_i, T_inf):
    """Incropera eq. 5.60; exp(a)·erfc(b) written as exp(−ξ²)·erfcx(b) so it cannot overflow."""
    xi = x / (2 * np.sqrt(alpha * t))
    b = xi + h * np.sqrt(alpha * t) / k
    theta = special.erfc(xi) - np.exp(-(xi**2)) * special.erfcx(b)
    return T_i + (T_inf - T_i) * theta


def test_convective_exact_solution_matches_reference_value():
    # Nellis & Klein / EES `semiinf3` worked example: 393 K solid, 355 K fluid → 389.5 K.
    T = convective_semi_infinite(0.003, 100.0, 50.0, 10.0, 4.029e-6, 393.0, 355.0)
    assert abs(T - 389.5) < 0.05


@pytest.mark.parametrize("method", ["explicit", "crank_nicolson"])
def test_semi_infinite_convective_surface(method):
    h = 70.0  # W/(m²·K): h√(αt)/k ≈ 1, between the Dirichlet and the insulated limits
    x, T = _semi_infinite_run(th.robin(h, T_SURFACE, K, DX_SEMI), method)
    exact = convective_semi_infinite(x, T_END_SEMI, h, K, ALPHA, T_INIT, T_SURFACE)
    assert np.max(np.abs(T - exact)) <= SEMI_INFINITE_RTOL * (T_SURFACE - T_INIT)


# ------------------------------------------------------------------------------------------ Gaussian pulse


def gaussian(shape, dx, sigma0_2, var, amplitude=10.0, base=20.0):
    """base + amplitude·(σ₀²/var)^(d/2)·exp(−r²/(2 var)), centred in the box (°C): the pulse that
    started with variance σ₀² (m²), once it has spread to `var`; its heat excess is constant."""
    grids = np.meshgrid(*[centres(n, dx) - n * dx / 2 for n in shape], indexing="ij")
    r2 = sum(g**2 for g in grids)
    return base + amplitude * (sigma0_2 / var) ** (len(shape) / 2) * np.exp(-r2 / (2 * var))


@pytest.mark.parametrize("shape", [(64, 64), (40, 40, 40)], ids=["2d", "3d"])
def test_gaussian_pulse_spreads_with_variance_sigma2_plus_2alpha_t(shape):
    dx = 1e-3
    sigma2 = (4 * dx) ** 2
    t_end = sigma2 / (2 * ALPHA)  # the variance doubles
    coeffs, bcs = uniform(len(shape), dx=dx), adiabatic(len(shape))
    steps = math.ceil(t_end / float(th.stable_dt(coeffs, bcs, shape=shape)))
    step = stepper("explicit", coeffs, bcs, 0.0, t_end / steps)
    T0 = jnp.asarray(gaussian(shape, dx, sigma2, sigma2))
    T = jax.jit(march, static_argnums=(0, 2))(step, T0, steps)
    exact = gaussian(shape, dx, sigma2, sigma2 + 2 * ALPHA * t_end)
    peak = np.max(exact) - 20.0
    assert np.max(np.abs(np.asarray(T) - exact)) <= GAUSSIAN_RTOL * peak


@pytest.mark.parametrize("method", ["explicit", "crank_nicolson"])
def test_3d_with_passive_axis_equals_2d(method):
    rng = np.random.default_rng(3)
    ny, nx, dx = 6, 9, 0.01
    k = 1.0 + rng.random((ny, nx))
    T2 = jnp.asarray(20 + 5 * rng.random((ny, nx)))
    q = jnp.asarray(1e3 * rng.random((ny, nx)))
    h_row = jnp.asarray(5 + rng.random(nx))  # per-cell Robin h along the axis-0 low face
    c2 = th.Coefficients(1.0 / RHO_C, th.face_conductance(jnp.asarray(k), (dx, dx)), 0.5)
    b2 = (
        (th.robin(h_row[None, :], 10.0, k[:1], dx), th.dirichlet(60.0, k[-1:], dx)),
        (th.neumann(500.0, 1.0, dx), th.radiation(0.8, 200.0, 1.0, dx)),
    )
    nz = 4
    k3 = jnp.broadcast_to(jnp.asarray(k), (nz, ny, nx))
    c3 = th.Coefficients(1.0 / RHO_C, th.face_conductance(k3, (0.02, dx, dx)), 0.5)
    b3 = (
        (None, None),
        (th.robin(h_row[None, None, :], 10.0, k3[:, :1], dx), th.dirichlet(60.0, k3[:, -1:], dx)),
        (th.neumann(500.0, 1.0, dx), th.radiation(0.8, 200.0, 1.0, dx)),
    )
    T3 = jnp.broadcast_to(T2, (nz, ny, nx))
    q3 = jnp.broadcast_to(q, (nz, ny, nx))
    dt = 0.9 * float(th.stable_dt(c2, b2, T_max=200.0))
    run = jax.jit(march, static_argnums=(0, 2))
    out2 = run(stepper(method, c2, b2, q, dt), T2, 20)
    out3 = run(stepper(method, c3, b3, q3, dt), T3, 20)
    for layer in out3:
        np.testing.assert_allclose(layer, out2, rtol=0, atol=EXTRUDED_ATOL)


# ------------------------------------------------------------------------------------------ steady states


def test_uniform_generation_between_dirichlet_walls_is_a_parabola():
    n, length, k, q, T_wall = 40, 0.1, 2.0, 1e4, 30.0
    dx = length / n
    coeffs = uniform(2, k=k, dx=dx)
    bcs = ((None, None), (th.dirichlet(T_wall, k, dx), th.dirichlet(T_wall, k, dx)))
    x = centres(n, dx)
    exact = T_wall + q * x * (length - x) / (2 * k)
    rise = q * length**2 / (8 * k)
    T_implicit = jax.jit(th.steady_state, static_argnames="tol")(
        jnp.full((1, n), T_wall), coeffs, bcs, q, tol=STEADY_TOL
    )
    assert np.max(np.abs(T_implicit[0] - exact)) <= PARABOLA_RTOL * rise
    # Explicit marching reaches the same state: e^(−π²αt/L²) < 1e-12 after 2.8·L²/α.
    dt = float(th.stable_dt(coeffs, bcs, shape=(1, n)))
    steps = math.ceil(2.8 * length**2 * RHO_C / k / dt)
    step = stepper("explicit", coeffs, bcs, q, dt)
    T_explicit = jax.jit(march, static_argnums=(0, 2))(step, jnp.full((1, n), T_wall), steps)
    np.testing.assert_allclose(T_explicit, T_implicit, rtol=0, atol=STEADY_MATCH_RTOL * rise)


@pytest.mark.parametrize("axis", [0, 1])
def test_two_layer_wall_series_resistance(axis):
    n1, n2, dx, k1, k2, T_left, T_right = 16, 24, 1e-3, 0.5, 4.0, 100.0, 20.0
    k_line = np.r_[np.full(n1, k1), np.full(n2, k2)]
    shape = [3, 3]
    shape[axis] = n1 + n2
    k_cell = jnp.asarray(np.broadcast_to(np.expand_dims(k_line, 1 - axis), shape))
    coeffs = th.Coefficients(1.0 / RHO_C, th.face_conductance(k_cell, (dx, dx)))
    lo = lax.slice_in_dim(k_cell, 0, 1, axis=axis)
    hi = lax.slice_in_dim(k_cell, n1 + n2 - 1, n1 + n2, axis=axis)
    faces = (th.dirichlet(T_left, lo, dx), th.dirichlet(T_right, hi, dx))
    bcs = tuple(faces if a == axis else (None, None) for a in range(2))
    T = jax.jit(th.steady_state, static_argnames="tol")(jnp.full(shape, 50.0), coeffs, bcs, 0.0, tol=STEADY_TOL)
    # Series resistance: one heat flux through both layers.
    L1, L2 = n1 * dx, n2 * dx
    flux = (T_left - T_right) / (L1 / k1 + L2 / k2)
    x = centres(n1 + n2, dx)
    exact = np.where(x < L1, T_left - flux * x / k1, T_left - flux * L1 / k1 - flux * (x - L1) / k2)
    profile = np.moveaxis(np.asarray(T), axis, 0)[:, 1]
    np.testing.assert_allclose(profile, exact, rtol=0, atol=LAYERED_ATOL)


# ------------------------------------------------------------------------------------- convergence orders

L_MODE = 0.1  # m, square box; T = sin(πx/L)·cos(πy/L): Dirichlet 0 °C on x, insulated on y
T_END_MODE = 25.0  # s: the mode decays by e^(−0.49)


def _mode_error(n: int, method: str) -> float:
    dx = L_MODE / n
    coeffs = uniform(2, dx=dx)
    bcs = ((None, None), (th.dirichlet(0.0, K, dx), th.dirichlet(0.0, K, dx)))
    y, x = np.meshgrid(centres(n, dx), centres(n, dx), indexing="ij")
    mode = np.cos(np.pi * y / L_MODE) * np.sin(np.pi * x / L_MODE)
    # Explicit: dt = 0.1·dx²/α exactly (integer steps), so its O(dt) error is O(dx²) too and does not
    # cancel the spatial one (that happens at 1/6). Crank–Nicolson: 4n steps, O(dt²) ≪ O(dx²).
    steps = round(T_END_MODE * ALPHA / (0.1 * dx**2)) if method == "explicit" else 4 * n
    step = stepper(method, coeffs, bcs, 0.0, T_END_MODE / steps)
    T = jax.jit(march, static_argnums=(0, 2))(step, jnp.asarray(mode), steps)
    exact = mode * np.exp(-2 * ALPHA * (np.pi / L_MODE) ** 2 * T_END_MODE)
    return float(np.max(np.abs(np.asarray(T) - exact)))


@pytest.mark.parametrize("method", ["explicit", "crank_nicolson"])
def test_spatial_convergence_order_2(method):
    ns = [16, 32, 64]
    errors = [_mode_error(n, method) for n in ns]
    slope = np.polyfit(np.log(L_MODE / np.array(ns)), np.log(errors), 1)[0]
    assert abs(slope - 2.0) <= ORDER_TOL, (slope, errors)


# ------------------------------------------------------------------------------------------- stability


def _stability_case():
    rng = np.random.default_rng(7)
    shape, dx = (16, 20), 0.01
    k = jnp.asarray(0.5 + 2 * rng.random(shape))
    coeffs = th.Coefficients(
        jnp.asarray(1.0 / (1e5 * (1 + rng.random(shape)))),
        th.face_conductance(k, (dx, dx)),
        jnp.asarray(rng.random(shape)),
    )
    bcs = (
        (th.robin(50.0, 20.0, k[:1], dx), th.dirichlet(80.0, k[-1:], dx)),
        (th.radiation(0.9, 150.0, 1.0, dx), th.neumann(200.0, 1.0, dx)),
    )
    T0 = jnp.asarray(20 + 10 * rng.random(shape))  # noise: holds the fastest (checkerboard) mode
    return coeffs, bcs, T0


@pytest.mark.parametrize("factor, stable", [(1.0, True), (2.5, False)])
def test_stable_dt_is_the_real_bound(factor, stable):
    coeffs, bcs, T0 = _stability_case()
    dt = factor * float(th.stable_dt(coeffs, bcs, T_max=150.0))
    T = jax.jit(march, static_argnums=(0, 2))(stepper("explicit", coeffs, bcs, 0.0, dt), T0, 400)
    excursion = float(jnp.max(jnp.abs(T - 20.0)))
    if stable:
        assert excursion < 200.0  # bounded by the boundary temperatures plus heating, far from blow-up
    else:
        assert not excursion < 1e6


def test_stable_dt_scalar_coefficients_match_any_grid():
    coeffs = uniform(3, dx=0.01)
    bcs = ((th.robin(10.0, 20.0, K, 0.01), None), (None, None), (None, th.dirichlet(0.0, K, 0.01)))
    inferred = float(th.stable_dt(coeffs, bcs))
    for shape in [(3, 3, 3), (5, 8, 13)]:
        assert inferred == pytest.approx(float(th.stable_dt(coeffs, bcs, shape=shape)), rel=1e-14)
    # 3D uniform interior: dt = 0.9·dx²/(6α)
    assert inferred == pytest.approx(0.9 * 0.01**2 / (6 * ALPHA), rel=1e-12)


def test_check_dt_refuses_unstable_step():
    coeffs, bcs = uniform(2, dx=0.01), adiabatic(2)
    limit = float(th.stable_dt(coeffs, bcs, safety=1.0))
    th.check_dt(0.99 * limit, coeffs, bcs)
    with pytest.raises(ValueError, match="stability limit"):
        th.check_dt(1.01 * limit, coeffs, bcs)
