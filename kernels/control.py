"""PI control with smooth saturation and back-calculation anti-windup (differentiable everywhere)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

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
    error: Float[Array, " n"],
    integral: Float[Array, " n"],
    kp: Float[Array, " n"],
    ki: Float[Array, " n"],
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


def _hard_clip(u):
    return jnp.clip(u, -SATURATION_BLEND, 1.0 + SATURATION_BLEND)


def _clip_slope(u, blend: float = SATURATION_BLEND):
    """d smooth_clip / du."""
    low = jnp.where(u < blend, jnp.where(u > -blend, (u + blend) / (2 * blend), 0.0), 1.0)
    v = 1.0 - u
    high = jnp.where(v < blend, jnp.where(v > -blend, (v + blend) / (2 * blend), 0.0), 1.0)
    return low * high


PI_NEWTON_STEPS = 30  # cap of the damped Newton; measured: ≤ 12 over gains and dt 1e-2…1e15 s (tests)
LINE_SEARCH = 0.5 ** np.arange(12.0)  # step fractions tried along each Newton direction


def pi_implicit(
    error_base: Float[Array, " n"],
    response: Float[Array, "n n"],
    integral: Float[Array, " n"],
    output: Float[Array, " n"],
    integral_rate: Float[Array, " n"],
    kp: Float[Array, " n"],
    ki: Float[Array, " n"],
    dt,
    theta: float = 1.0,
    tracking_time: float = TRACKING_TIME,
) -> tuple[Float[Array, " n"], Float[Array, " n"], Bool[Array, ""]]:
    """PI controllers solved together with the plant they drive over one step of dt:
    (output, integral, whether the solve converged).

    The plant is affine over the step: the controlled errors at its end are e = error_base − response·u
    (error_base: setpoint − measurement with every output at 0; response[i, j]: how much output j at
    full scale raises measurement i). The integral takes the θ-rule, with `integral_rate` = ki·e at the
    start of the step, and the anti-windup bleed is implicit (backward Euler); `output` (the outputs
    at the start of the step) only seeds the solve:

        z¹ = z⁰ + dt·((1−θ)·integral_rate + θ·ki·e¹) + (dt/T_t)·(clip(r¹) − r¹),   r¹ = kp·e¹ + z¹,
        u¹ = smooth_clip(r¹).

    Implicit in the plant and the bleed, the loop is stable at any dt (dt → ∞ gives the steady state:
    e = 0 unless an output saturates); explicit, the bleed alone diverges for dt > 2·T_t. The equations
    are solved for r in a form scaled by c = 1/(1 + dt/T_t) that stays well conditioned for dt → ∞:

        (r − clip(r)) + c·(clip(r) − z⁰ − dt·(1−θ)·rate − (kp + θ·dt·ki)·e(r)) = 0,

    by Newton with a line search (saturated outputs make plain Newton jump between the limits), and
    differentiated by the implicit-function theorem (one Newton step at the solution).
    """
    c = 1.0 / (1.0 + dt / tracking_time)
    base = c * (integral + dt * (1.0 - theta) * integral_rate)
    gain = c * kp + c * theta * dt * ki

    def residual(r):
        error = error_base - response @ smooth_clip(r)
        return (r - _hard_clip(r)) + c * _hard_clip(r) - base - gain * error

    def newton_direction(r):
        inside = (r > -SATURATION_BLEND) & (r < 1.0 + SATURATION_BLEND)
        jac = jnp.diag(jnp.where(inside, c, 1.0)) + gain[:, None] * response * _clip_slope(r)[None, :]
        return jnp.linalg.solve(jac, residual(r))

    def small(r, G):
        return jnp.max(jnp.abs(G)) <= 100.0 * jnp.finfo(r.dtype).eps * (1.0 + jnp.max(jnp.abs(r)))

    def unsettled(carry):
        i, r, G = carry
        return (i < PI_NEWTON_STEPS) & ~small(r, G)

    def damped(carry):
        i, r, G = carry
        trials = r[None, :] - LINE_SEARCH[:, None].astype(r.dtype) * newton_direction(r)[None, :]
        residuals = jax.vmap(residual)(trials)
        norms = jnp.sum(residuals**2, axis=1)
        best = jnp.argmin(norms)  # the full step when it helps (most steps), else the best shorter one
        better = norms[best] < jnp.sum(G**2)
        return i + 1, jnp.where(better, trials[best], r), jnp.where(better, residuals[best], G)

    guess = error_base - response @ output  # the errors if the outputs stayed as they are
    r0 = jax.lax.stop_gradient((kp + theta * dt * ki) * c * guess + c * integral + (1.0 - c) * jnp.clip(output, 0, 1))
    _, solved, G = jax.lax.while_loop(unsettled, damped, (0, r0, residual(r0)))
    solved = jax.lax.stop_gradient(solved)
    r = solved - newton_direction(solved)  # ≈ solved; carries the implicit-function derivative
    converged = small(solved, 0.1 * G)  # a little slack over the stopping test
    error = error_base - response @ smooth_clip(r)
    return smooth_clip(r), r - kp * error, converged
