"""PI control with smooth saturation and back-calculation anti-windup (differentiable everywhere)."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

SATURATION_BLEND = 0.05  # width of the quadratic blend at each limit, in output units (fraction of full scale)
TRACKING_TIME = 30.0  # s; anti-windup back-calculation time constant


def smooth_clip(u: Float[Array, "*n"], blend: float = SATURATION_BLEND) -> Float[Array, "*n"]:
    """Clip to [0, 1] with C¹ quadratic blends of half-width `blend` at 0 and 1.

    Exactly 0 below −blend and exactly 1 above 1+blend (a heater that should be off is off), linear in
    between, so the derivative exists everywhere for gradient-based tuning.
    """
    low = jnp.where(u < blend, jnp.where(u > -blend, (u + blend) ** 2 / (4 * blend), 0.0), u)
    v = 1.0 - low
    high = jnp.where(v < blend, jnp.where(v > -blend, (v + blend) ** 2 / (4 * blend), 0.0), v)
    return 1.0 - high


def pi_step(
    error: Float[Array, " n"], integral: Float[Array, " n"], kp: Float[Array, " n"], ki: Float[Array, " n"],
    dt: float,
) -> tuple[Float[Array, " n"], Float[Array, " n"]]:
    """One PI update. error = setpoint − measurement (K); integral is the I-term in output units.

    Returns (output in [0, 1], next integral). The integral tracks ki·error and bleeds towards the
    saturated output so it does not wind up while the actuator is at a limit.
    """
    raw = kp * error + integral
    out = smooth_clip(raw)
    integral = integral + dt * (ki * error + (out - raw) / TRACKING_TIME)
    return out, integral
