"""Lumped-capacitance parts: heat exchange with the surrounding air and adhesive cure kinetics.

Both updates are exact for air temperature held constant over the step, so a part's history does not
depend on the thermal time step (and the first-order integration error of the air coupling is the
only one left).
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

GAS_CONSTANT = 8.314462618  # J/(mol·K)
KELVIN = 273.15


def exchange(
    T_part: Float[Array, "*p"], T_air: Float[Array, "*p"], tau: Float[Array, ""], dt: float
) -> Float[Array, "*p"]:
    """Part temperature after dt in air at T_air (°C): Newton cooling with time constant tau = m·c/(h·A), s."""
    return T_air + (T_part - T_air) * jnp.exp(-dt / tau)


def cure(
    alpha: Float[Array, "*p"],
    T: Float[Array, "*p"],
    A: Float[Array, ""],
    Ea: Float[Array, ""],
    n: Float[Array, ""],
    dt: float,
) -> Float[Array, "*p"]:
    """Cure degree after dt at temperature T (°C) for dα/dt = A·exp(−Ea/(R·T))·(1−α)^n.

    Uses the closed form of the separable ODE: u = 1−α obeys u^(1−n) = u0^(1−n) − (1−n)·k·dt for n ≠ 1
    and u = u0·exp(−k·dt) for n = 1; reaction orders below one reach full cure in finite time.
    """
    rate = A * jnp.exp(-Ea / (GAS_CONSTANT * (T + KELVIN)))
    u0 = jnp.clip(1.0 - alpha, 0.0, 1.0)
    first_order = u0 * jnp.exp(-rate * dt)
    one_minus_n = jnp.where(jnp.abs(1.0 - n) < 1e-6, 1.0, 1.0 - n)  # safe branch for n == 1
    safe_u0 = jnp.where(u0 > 0.0, u0, 1.0)
    base = safe_u0**one_minus_n - one_minus_n * rate * dt
    safe_base = jnp.where(base > 0.0, base, 1.0)
    nth_order = jnp.where((u0 > 0.0) & (base > 0.0), safe_base ** (1.0 / one_minus_n), 0.0)
    u = jnp.where(jnp.abs(1.0 - n) < 1e-6, first_order, nth_order)
    return 1.0 - u
