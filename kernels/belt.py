"""Belt-conveyor segments: motor under PI speed control, belt inertia, drag, motor electrics.

Per segment (arrays of shape (g,)), in belt terms (forces at the belt, after gearbox and pulley):

    (m_belt + m_load)·dv/dt = F − F_drag
    F      = F_max·clip(kp·e/F_max + z),  e = v_set − v            (PI, smooth saturation, anti-windup)
    F_drag = (1 + w)·(μ·g·(m_belt + m_load)·tanh(v/v_ε) + c·v)      (rolling + viscous, bearing wear w)
    I      = I_0 + k_I·F,   P_el = F·v + R·I² + P_fixed             (current, electrical power)

The mechanics are stiff next to the thermal step (a loaded belt settles in a fraction of a second), so
the coupling substeps them with linearly implicit Euler, which is stable at any substep.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .control import pi_rates
from .pytree import pytree_dataclass

GRAVITY = 9.80665  # m/s²
SIGN_SPEED = 1e-3  # m/s: rolling resistance reaches its full value above about this speed (smooth sign)
TRACKING_TIME = 0.5  # s; anti-windup of the speed controller, slower than the loaded belt's response


@pytree_dataclass
class BeltParams:
    """Per-segment belt and motor parameters (see twin.schema.Segment and Motor for meanings)."""

    setpoint: Float[Array, " g"]  # m/s
    belt_mass: Float[Array, " g"]  # kg
    rolling_resistance: Float[Array, " g"]  # μ
    viscous_drag: Float[Array, " g"]  # N·s/m
    wear: Float[Array, " g"]  # drag factor − 1 at t = 0
    wear_rate: Float[Array, " g"]  # 1/s
    max_force: Float[Array, " g"]  # N
    kp: Float[Array, " g"]  # N/(m/s)
    ki: Float[Array, " g"]  # N/m
    current_per_force: Float[Array, " g"]  # A/N
    no_load_current: Float[Array, " g"]  # A
    resistance: Float[Array, " g"]  # Ω
    fixed_loss: Float[Array, " g"]  # W


def drag_force(p: BeltParams, v, load_mass, t) -> Float[Array, " g"]:
    """Drag at belt speed v (m/s) carrying load_mass (kg) at time t (s), N."""
    wear = 1.0 + p.wear + p.wear_rate * t
    rolling = p.rolling_resistance * GRAVITY * (p.belt_mass + load_mass) * jnp.tanh(v / SIGN_SPEED)
    return wear * (rolling + p.viscous_drag * v)


def motor_force(p: BeltParams, v, integral) -> tuple[Float[Array, " g"], Float[Array, " g"]]:
    """(drive force N, d(integral)/dt) of the PI speed controller; integral in fractions of max_force."""
    out, rate = pi_rates(p.setpoint - v, integral, p.kp / p.max_force, p.ki / p.max_force, TRACKING_TIME)
    return p.max_force * out, rate


def electrics(p: BeltParams, force, v) -> tuple[Float[Array, " g"], Float[Array, " g"], Float[Array, " g"]]:
    """(current A, electrical power W, losses W) of the motor delivering `force` at belt speed v."""
    current = p.no_load_current + p.current_per_force * force
    losses = p.resistance * current**2 + p.fixed_loss
    return current, force * v + losses, losses


def _rates(p: BeltParams, y, load_mass, t):
    v, integral = y
    force, d_integral = motor_force(p, v, integral)
    accel = (force - drag_force(p, v, load_mass, t)) / (p.belt_mass + load_mass)
    return jnp.stack([accel, d_integral])


def substep(p: BeltParams, v, integral, load_mass, t, dt) -> tuple[Float[Array, " g"], Float[Array, " g"]]:
    """(v, integral) after dt by linearly implicit Euler: (I − dt·J)·Δy = dt·f(y), J per segment (2×2)."""
    y = jnp.stack([v, integral])  # (2, g)

    def one(p_g, y_g, m_g):
        f = _rates(p_g, y_g, m_g, t)
        J = jax.jacfwd(lambda yy: _rates(p_g, yy, m_g, t))(y_g)
        return jnp.linalg.solve(jnp.eye(2, dtype=y_g.dtype) - dt * J, dt * f)

    delta = jax.vmap(one, in_axes=(0, 1, 0), out_axes=1)(p, y, load_mass)
    return v + delta[0], integral + delta[1]
