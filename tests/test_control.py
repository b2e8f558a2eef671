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
    np.testing.assert_allclose(control.smooth_clip(u), [0.0, 0.0, b + 1e-9, 0.5, 1 - b - 1e-9, 1.0, 1.0],
                               atol=1e-15)
    slope = jax.vmap(jax.grad(control.smooth_clip))
    for join in (-b, b, 1 - b, 1 + b):
        left, right = slope(jnp.asarray([join - 1e-8, join + 1e-8]))
        assert float(left) == pytest.approx(float(right), abs=SLOPE_JUMP_ATOL)


def test_pi_brings_a_lumped_oven_to_its_setpoint_without_windup():
    """C·dT/dt = P·u − G·(T − T_a): 200 kJ/K, 10 kW, 50 W/K, setpoint 120 °C (needs u = 0.5)."""
    C, P, G, Ta, setpoint, dt = 2.0e5, 1.0e4, 50.0, 20.0, 120.0, 1.0
    kp, ki = jnp.asarray([0.1]), jnp.asarray([1e-3])

    def body(carry, _):
        T, integral = carry
        u, integral = control.pi_step(setpoint - T, integral, kp, ki, dt)
        T = T + dt * (P * u - G * (T - Ta)) / C
        return (T, integral), (T[0], u[0])

    (_, _), (T, u) = jax.lax.scan(body, (jnp.asarray([Ta]), jnp.zeros(1)), length=20000)
    assert float(T[-1]) == pytest.approx(setpoint, abs=SETPOINT_ATOL)
    assert float(u[-1]) == pytest.approx(G * (setpoint - Ta) / P, rel=1e-3)
    assert float(u[0]) == 1.0  # saturated at full power while far below the setpoint
    assert float(jnp.max(T)) < setpoint + 5.0  # anti-windup keeps the overshoot small after saturation
