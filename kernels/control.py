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


def unclip(y: Float[Array, "*n"], blend: float = SATURATION_BLEND) -> Float[Array, "*n"]:
    """The input that `smooth_clip` maps to y ∈ [0, 1] (for starting a loop already at steady state)."""
    y = jnp.clip(y, 0.0, 1.0)
    low = 2.0 * jnp.sqrt(blend * y) - blend
    high = 1.0 - (2.0 * jnp.sqrt(blend * (1.0 - y)) - blend)
    return jnp.where(y < blend, low, jnp.where(y > 1.0 - blend, high, y))


def pi_rates(
    error: Float[Array, " n"], integral: Float[Array, " n"], kp: Float[Array, " n"], ki: Float[Array, " n"],
    tracking_time: float = TRACKING_TIME,
) -> tuple[Float[Array, " n"], Float[Array, " n"]]:
    """PI law in output units (fraction of full scale): (output in [0, 1], d(integral)/dt).

    The integral tracks ki·error and, while the output is pinned at a limit, bleeds back towards it with
    `tracking_time` (s), so it does not wind up (back-calculation anti-windup).
    """
    raw = kp * error + integral
    # Bleed only beyond the blends, where the output is exactly 0 or 1: inside them every output is
    # reachable, so the integral must settle on zero error there.
    excess = jnp.clip(raw, -SATURATION_BLEND, 1.0 + SATURATION_BLEND) - raw
    return smooth_clip(raw), ki * error + excess / tracking_time


def pi_step(
    error: Float[Array, " n"], integral: Float[Array, " n"], kp: Float[Array, " n"], ki: Float[Array, " n"],
    dt: float,
) -> tuple[Float[Array, " n"], Float[Array, " n"]]:
    """One explicit PI update over dt: (output in [0, 1], next integral). error = setpoint − measurement."""
    out, rate = pi_rates(error, integral, kp, ki)
    return out, integral + dt * rate
