"""Thermostat control: smooth saturation and a PI loop on a plant with a known steady state."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from twin.kernels import control

SETPOINT_ATOL = 1e-3  # K; the integral term removes the steady-state error
SLOPE_JUMP_ATOL = 1e-6  # finite-difference slope change across a C¹ join, for a 1e-8 probe


def test_smooth_clip_is_exact_outside_the_blends_and_c1():
    b = control.SATURATION_BLEND
    u = jnp.asarray([-1.0, -b - 1e-9, b + 1e-9, 0.5, 1 - b - 1e-9, 1 + b + 1e-9, 3.0])
    np.testing.assert_allclose(control.smooth_clip(u), [0.0, 0.0, b + 1e-9, 0.5, 1 - b - 1e-9, 1.0, 1.0], atol=1e-15)
    slope = jax.vmap(jax.grad(control.smooth_clip))
    for join in (-b, b, 1 - b, 1 + b):
        left, right = slope(jnp.asarray([join - 1e-8, join + 1e-8]))
        assert float(left) == pytest.approx(float(right), abs=SLOPE_JUMP_ATOL)


@pytest.mark.parametrize("dt", [1.0, 60.0, 600.0])
def test_pi_brings_a_lumped_oven_to_its_setpoint_without_windup(dt):
    """C·dT/dt = P·u − G·(T − T_a): 200 kJ/K, 10 kW, 50 W/K, setpoint 120 °C (needs u = 0.5). Backward
    Euler for the oven, the controller solved with it, at steps far beyond the bleed's 2·T_t."""
    C, P, G, Ta, setpoint = 2.0e5, 1.0e4, 50.0, 20.0, 120.0
    kp, ki = jnp.asarray([0.1]), jnp.asarray([1e-3])
    steps = round(20000 / dt)

    def body(carry, _):
        T, integral, u = carry
        # T¹ = (T⁰ + dt·(P·u + G·Ta)/C)/(1 + dt·G/C): affine in u; error = setpoint − T¹.
        scale = 1.0 / (1.0 + dt * G / C)
        T_off = (T + dt * G * Ta / C) * scale
        u, integral, _ = control.pi_implicit(
            setpoint - T_off, jnp.asarray([[dt * P / C * scale]]), integral, u, ki * (setpoint - T), kp, ki, dt
        )
        T = T_off + dt * P / C * scale * u
        return (T, integral, u), (T[0], u[0])

    _, (T, u) = jax.lax.scan(body, (jnp.asarray([Ta]), jnp.zeros(1), jnp.zeros(1)), length=steps)
    assert float(T[-1]) == pytest.approx(setpoint, abs=SETPOINT_ATOL)
    assert float(u[-1]) == pytest.approx(G * (setpoint - Ta) / P, rel=1e-3)
    assert float(u[0]) == 1.0  # saturated at full power while far below the setpoint
    assert float(jnp.max(T)) < setpoint + 5.0  # anti-windup keeps the overshoot small after saturation


# ------------------------------------------------------------------------------ implicit PI (any dt)

PI_RESIDUAL_ATOL = 1e-9  # output fraction; the solve stops at 100 ulps of the raw output (float64)


def _pi_reference(error_base, K, z0, kp, ki, dt, tracking_time=control.TRACKING_TIME):
    """One controller solved by bisection on its raw output r (the residual increases in r)."""

    def residual(r):
        u = float(control.smooth_clip(jnp.asarray(r)))
        e = error_base - K * u
        edge = min(max(r, -control.SATURATION_BLEND), 1.0 + control.SATURATION_BLEND)
        return r - kp * e - z0 - dt * ki * e - dt / tracking_time * (edge - r)

    lo, hi = -1e6, 1e6
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if residual(mid) < 0 else (lo, mid)
    return float(control.smooth_clip(jnp.asarray(0.5 * (lo + hi))))


@pytest.mark.parametrize("dt", [0.1, 10.0, 600.0, 1e5, 1e12])
@pytest.mark.parametrize("error_base, response", [(40.0, 200.0), (40.0, 20.0), (-5.0, 50.0), (0.5, 1e4)])
def test_implicit_pi_matches_a_bisection_reference(error_base, response, dt):
    """Saturated high (the heater cannot reach the setpoint), saturated low, in the blend, in range."""
    args = dict(kp=0.1, ki=1e-3)
    u, z, converged = control.pi_implicit(
        jnp.asarray([error_base]),
        jnp.asarray([[response]]),
        jnp.zeros(1),
        jnp.zeros(1),
        jnp.zeros(1),
        jnp.asarray([args["kp"]]),
        jnp.asarray([args["ki"]]),
        dt,
    )
    assert bool(converged)
    assert float(u[0]) == pytest.approx(_pi_reference(error_base, response, 0.0, dt=dt, **args), abs=PI_RESIDUAL_ATOL)


def test_implicit_pi_holds_the_setpoint_in_the_steady_limit():
    """dt → ∞: zero error where the output can reach it, the limit where it cannot; coupled heaters."""
    K = jnp.asarray([[200.0, 80.0], [60.0, 150.0]])  # two heaters warming each other's thermostat
    u, _, converged = control.pi_implicit(
        jnp.asarray([40.0, 30.0]),
        K,
        jnp.zeros(2),
        jnp.zeros(2),
        jnp.zeros(2),
        jnp.full(2, 0.1),
        jnp.full(2, 1e-3),
        1e15,
    )
    np.testing.assert_allclose(np.asarray(jnp.asarray([40.0, 30.0]) - K @ u), 0.0, atol=1e-9)
    assert bool(converged)
    u, _, _ = control.pi_implicit(
        jnp.asarray([400.0]),
        jnp.asarray([[200.0]]),
        jnp.zeros(1),
        jnp.zeros(1),
        jnp.zeros(1),
        jnp.asarray([0.1]),
        jnp.asarray([1e-3]),
        1e15,
    )
    assert float(u[0]) == 1.0  # 200 K at full power cannot close a 400 K error


def test_explicit_bleed_diverges_beyond_twice_the_tracking_time():
    """Why the thermostats are implicit: an explicit update of the saturated integral grows by
    |1 − dt/T_t| per step (the heater output flipped 0 ↔ 1 and the integral reached 1e20)."""
    integral = jnp.asarray([5.0])
    for _ in range(40):
        _, rate = control.pi_rates(jnp.asarray([-200.0]), integral, jnp.asarray([0.1]), jnp.asarray([0.0]))
        integral = integral + 3 * control.TRACKING_TIME * rate
    assert not abs(float(integral[0])) < 1e6
