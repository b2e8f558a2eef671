"""Energy balance of the thermal kernels (insulated and open domains, explicit and implicit) and
gradients through both steppers against float64 central differences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fixtures import march, stepper
from jax import lax

from twin.kernels import thermal as th

ENERGY_RTOL = 1e-9  # heat-content change vs heat put in, relative: float64 telescoping fluxes
CG_RTOL = 1e-12  # implicit: the energy error is dt·Σ(CG residual), so ask for a small residual
GRAD_RTOL = 1e-5  # autodiff vs central difference; the difference's own error is ~1e-9 here
FD_REL_STEP = 1e-5  # central-difference step relative to the parameter: truncation ~1e-10, noise ~1e-11

SHAPE, DX = (12, 16), 0.01
VOLUME = DX**3  # m³ per cell (a 1 cm slab)


def _materials(seed: int = 0):
    """Heterogeneous k (W/(m·K)), ρc (J/(m³·K)) and source (W/m³), field shaped."""
    rng = np.random.default_rng(seed)
    k = 0.5 + 4.5 * rng.random(SHAPE)
    rho_c = 1e5 * (1 + 29 * rng.random(SHAPE))
    q = 1e4 * rng.random(SHAPE)
    T0 = 20 + 5 * rng.random(SHAPE)
    return jnp.asarray(k), jnp.asarray(rho_c), jnp.asarray(q), jnp.asarray(T0)


@pytest.mark.parametrize("method", ["explicit", "backward_euler", "crank_nicolson"])
def test_insulated_heterogeneous_domain_gains_exactly_its_sources(method):
    k, rho_c, q, T0 = _materials()
    coeffs = th.Coefficients(1.0 / rho_c, th.face_conductance(k, (DX, DX)))
    bcs = ((None, None), (None, None))
    dt = float(th.stable_dt(coeffs, bcs)) * (1 if method == "explicit" else 10)
    steps = 200 if method == "explicit" else 20

    @jax.jit
    def run(T0):
        T = march(stepper(method, coeffs, bcs, q, dt, tol=CG_RTOL), T0, steps)
        return th.heat_content(T, coeffs, VOLUME) - th.heat_content(T0, coeffs, VOLUME)

    gained = float(run(T0))
    supplied = float(jnp.sum(q)) * VOLUME * dt * steps
    assert abs(gained - supplied) <= ENERGY_RTOL * supplied


def _open_case():
    """Every kind of face and a sink, all heating a 20 °C body, so no heat flows cancel."""
    k, rho_c, q, T0 = _materials(1)
    sink, T_supply = 0.5 * jnp.ones(SHAPE), 40.0  # W/(m³·K), °C: HVAC at 40 °C
    coeffs = th.Coefficients(1.0 / rho_c, th.face_conductance(k, (DX, DX)), sink)
    bcs = (
        (th.dirichlet(80.0, k[:1], DX), th.robin(30.0, 60.0, k[-1:], DX)),
        (th.neumann(200.0, 1.0, DX), th.radiation(0.9, 150.0, 1.0, DX)),
    )
    return coeffs, bcs, q + sink * T_supply, T0


def _heat_in(T, coeffs, bcs, source):
    return th.boundary_heat_rate(T, coeffs, bcs, VOLUME) + th.source_heat_rate(T, coeffs, source, VOLUME)


def test_open_domain_explicit_balance_closes():
    coeffs, bcs, source, T0 = _open_case()
    dt = float(th.stable_dt(coeffs, bcs, T_max=150.0))

    @jax.jit
    def run(T0):
        def body(i, carry):
            T, heat_in = carry
            return th.explicit_step(T, coeffs, bcs, source, dt), heat_in + dt * _heat_in(T, coeffs, bcs, source)

        T, heat_in = lax.fori_loop(0, 300, body, (T0, 0.0))
        return th.heat_content(T, coeffs, VOLUME) - th.heat_content(T0, coeffs, VOLUME), heat_in

    gained, heat_in = map(float, run(T0))
    assert heat_in > 0 and abs(gained - heat_in) <= ENERGY_RTOL * heat_in


@pytest.mark.parametrize("theta", [1.0, 0.5])
def test_open_domain_implicit_balance_closes(theta):
    coeffs, bcs, source, T0 = _open_case()
    bcs = (bcs[0], (bcs[1][0], None))  # radiation is lagged, so its rate is not θ-weighted: leave it out
    dt = 20 * float(th.stable_dt(coeffs, bcs))

    @jax.jit
    def run(T0):
        def body(i, carry):
            T, heat_in = carry
            T1 = th.implicit_step(T, coeffs, bcs, source, dt, theta=theta, tol=CG_RTOL)
            rate = theta * _heat_in(T1, coeffs, bcs, source) + (1 - theta) * _heat_in(T, coeffs, bcs, source)
            return T1, heat_in + dt * rate

        T, heat_in = lax.fori_loop(0, 20, body, (T0, 0.0))
        return th.heat_content(T, coeffs, VOLUME) - th.heat_content(T0, coeffs, VOLUME), heat_in

    gained, heat_in = map(float, run(T0))
    assert heat_in > 0 and abs(gained - heat_in) <= ENERGY_RTOL * heat_in


# ---------------------------------------------------------------------------------------------- gradients

GRAD_SHAPE = (5, 7)
NOMINAL = {"k": 1.3, "h": 40.0, "q": 2e3}  # W/(m·K), W/(m²·K), W/m³


def _loss(params, method: str, dt: float):
    """Weighted sum of the field after 30 steps; k scales a heterogeneous conductivity pattern and also
    enters the Dirichlet and Robin faces, h is the Robin coefficient, q the source amplitude."""
    rng = np.random.default_rng(5)
    pattern = jnp.asarray(0.5 + rng.random(GRAD_SHAPE))
    weights = jnp.asarray(rng.random(GRAD_SHAPE))
    T0 = jnp.asarray(20 + 10 * rng.random(GRAD_SHAPE))
    k_cell = params["k"] * pattern
    coeffs = th.Coefficients(1.0 / 2e5, th.face_conductance(k_cell, (DX, DX)), 0.1)
    bcs = (
        (th.robin(params["h"], 90.0, k_cell[:1], DX), th.dirichlet(5.0, k_cell[-1:], DX)),
        (th.neumann(300.0, 1.0, DX), th.radiation(0.8, 120.0, 1.0, DX)),
    )
    T = march(stepper(method, coeffs, bcs, params["q"] * pattern, dt, tol=CG_RTOL), T0, 30)
    return jnp.sum(weights * T)


@pytest.mark.parametrize("method", ["explicit", "backward_euler", "crank_nicolson"])
def test_gradient_matches_central_differences(method):
    k0 = NOMINAL["k"] * 1.5  # the pattern's largest conductivity, for a dt that stays stable
    coeffs = th.Coefficients(1.0 / 2e5, (k0 / DX**2, k0 / DX**2), 0.1)
    dt = float(
        th.stable_dt(
            coeffs,
            ((th.robin(60.0, 0.0, k0, DX), th.dirichlet(0.0, k0, DX)), (None, th.radiation(0.8, 0.0, 1.0, DX))),
            T_max=120.0,
        )
    )
    dt = dt if method == "explicit" else 5 * dt
    loss = jax.jit(lambda p: _loss(p, method, dt))
    grads = jax.jit(jax.grad(lambda p: _loss(p, method, dt)))(NOMINAL)
    for name, value in NOMINAL.items():
        step = FD_REL_STEP * value
        fd = (loss({**NOMINAL, name: value + step}) - loss({**NOMINAL, name: value - step})) / (2 * step)
        assert abs(float(grads[name]) - float(fd)) <= GRAD_RTOL * abs(float(fd)), (name, grads[name], fd)
