"""Serial robot arms from Denavit–Hartenberg tables: forward kinematics and inverse dynamics by the
recursive Newton–Euler algorithm (RNEA), pure JAX, for one sample; `jax.vmap` over time samples and
over robots, differentiable in every number of the `Arm`.

Conventions (all revolute joints, SI units):

- **standard** DH (Denavit–Hartenberg 1955, as in Spong): row i = (aᵢ, αᵢ, dᵢ, θ-offsetᵢ) and
  ⁱ⁻¹Tᵢ = Rz(qᵢ + offsetᵢ)·Tz(dᵢ)·Tx(aᵢ)·Rx(αᵢ); joint i turns about z of frame i−1, and frame i sits at
  the far end of link i.
- **modified** DH (Craig 1986): row i = (aᵢ₋₁, αᵢ₋₁, dᵢ, θ-offsetᵢ) and
  ⁱ⁻¹Tᵢ = Rx(αᵢ₋₁)·Tx(aᵢ₋₁)·Rz(qᵢ + offsetᵢ)·Tz(dᵢ); joint i turns about z of frame i, at its origin.

The recursions are `lax.scan`s over the joints (one traced link, not n): XLA compiles a six-axis arm's
torques and their gradient in a fraction of the time an unrolled recursion takes.

Either way frame i is fixed to link i, and each link's centre of mass `com` and inertia tensor
`inertia` (about the centre of mass) are given in it. The recursion runs in the base frame: velocities
and accelerations outward from the base (gravity enters as an upward acceleration of the base, Luh,
Walker & Paul 1980), forces and moments inward from the flange, where a payload (mass, centre of mass
and inertia in the flange frame, the last link's) is carried. The joint torque adds the motor side:
the rotor inertia reflected through the gear, G²·Jm·q̈, viscous b·q̇ and Coulomb friction fc·sign(q̇).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from twin.kernels.pytree import pytree_dataclass


@pytree_dataclass
class Arm:
    """One arm of n revolute joints (leading axes added by `vmap` for several arms)."""

    dh: Float[Array, "n 4"]  # rows (a m, α rad, d m, θ offset rad), in the convention below
    mass: Float[Array, " n"]  # kg per link
    com: Float[Array, "n 3"]  # m, centre of mass in the link's frame
    inertia: Float[Array, "n 3 3"]  # kg·m², about the centre of mass, in the link's frame
    gear_ratio: Float[Array, " n"]  # G: motor turns per joint turn
    rotor_inertia: Float[Array, " n"]  # Jm, kg·m² on the motor side (reflected as G²·Jm)
    viscous: Float[Array, " n"]  # N·m·s/rad, at the joint
    coulomb: Float[Array, " n"]  # N·m, at the joint
    modified: bool = dataclasses.field(default=False, metadata={"static": True})  # False: standard DH


@pytree_dataclass
class Payload:
    """What the flange carries: mass, centre of mass and inertia (about it) in the flange frame."""

    mass: Float[Array, ""]  # kg
    com: Float[Array, " 3"]  # m
    inertia: Float[Array, "3 3"]  # kg·m²


def no_payload(dtype=jnp.float64) -> Payload:
    return Payload(jnp.zeros((), dtype), jnp.zeros(3, dtype), jnp.zeros((3, 3), dtype))


def _rot_x(angle):
    c, s = jnp.cos(angle), jnp.sin(angle)
    one, zero = jnp.ones_like(c), jnp.zeros_like(c)
    return jnp.stack([jnp.stack([one, zero, zero]), jnp.stack([zero, c, -s]), jnp.stack([zero, s, c])])


def _rot_z(angle):
    c, s = jnp.cos(angle), jnp.sin(angle)
    one, zero = jnp.ones_like(c), jnp.zeros_like(c)
    return jnp.stack([jnp.stack([c, -s, zero]), jnp.stack([s, c, zero]), jnp.stack([zero, zero, one])])


def _link_transform(row, q, modified: bool):
    """(R, p): the rotation and offset of frame i in frame i−1 for one DH row at joint angle q."""
    a, alpha, d, offset = row[0], row[1], row[2], row[3]
    Rz, Rx = _rot_z(q + offset), _rot_x(alpha)
    zero = jnp.zeros_like(a)
    if modified:  # Rx(α)·Tx(a)·Rz(θ)·Tz(d)
        return Rx @ Rz, jnp.stack([a, zero, zero]) + Rx @ jnp.stack([zero, zero, d])
    # Rz(θ)·Tz(d)·Tx(a)·Rx(α)
    return Rz @ Rx, jnp.stack([zero, zero, d]) + Rz @ jnp.stack([a, zero, zero])


def frames(arm: Arm, q) -> tuple[Float[Array, "n+1 3 3"], Float[Array, "n+1 3"]]:
    """Forward kinematics: rotation and origin of the base frame (index 0) and of every link frame
    (1…n, the flange last), in the base frame."""

    def link(carry, row_and_angle):
        R, p = carry
        Ri, pi = _link_transform(*row_and_angle, arm.modified)
        out = (R @ Ri, p + R @ pi)
        return out, out

    base = (jnp.eye(3, dtype=q.dtype), jnp.zeros(3, q.dtype))
    _, (rotations, origins) = jax.lax.scan(link, base, (arm.dh.astype(q.dtype), q))
    return jnp.concatenate([base[0][None], rotations]), jnp.concatenate([base[1][None], origins])


def flange(arm: Arm, q) -> tuple[Float[Array, "3 3"], Float[Array, " 3"]]:
    """Rotation and position of the flange (the last link's frame) in the base frame."""
    rotations, origins = frames(arm, q)
    return rotations[-1], origins[-1]


def _joints(arm: Arm, rotations, origins):
    """(axis, point) of every joint in the base frame: z and origin of frame i−1 (standard) or i (modified)."""
    at = slice(1, None) if arm.modified else slice(0, -1)
    return rotations[at, :, 2], origins[at]


def _cross(a, b):
    return jnp.stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def inverse_dynamics(arm: Arm, q, qd, qdd, gravity, payload: Payload | None = None) -> Float[Array, " n"]:
    """Joint torques τ (N·m, at the joint: link side plus the motor side) for angles q, speeds qd and
    accelerations qdd (n,) under `gravity` (3,), m/s² in the base frame (e.g. (0, 0, −9.81))."""
    rotations, origins = frames(arm, q)
    axes, points = _joints(arm, rotations, origins)
    body_R = rotations[1:]
    centres = origins[1:] + jnp.einsum("nij,nj->ni", body_R, arm.com)
    inertias = body_R @ arm.inertia @ jnp.swapaxes(body_R, -1, -2)

    def outward(carry, joint):  # velocities and accelerations, link by link from the base
        omega, alpha, accel, point = carry
        here, axis, speed, acceleration = joint
        lever = here - point
        accel = accel + _cross(alpha, lever) + _cross(omega, _cross(omega, lever))
        spin = speed * axis
        alpha = alpha + acceleration * axis + _cross(omega, spin)
        omega = omega + spin
        return (omega, alpha, accel, here), (omega, alpha, accel)

    zero = jnp.zeros(3, q.dtype)
    start = (zero, zero, -jnp.asarray(gravity, q.dtype), points[0])  # the base "accelerates up"
    _, (omegas, alphas, accels) = jax.lax.scan(outward, start, (points, axes, qd, qdd))
    # force and moment (about the last joint point) on the last link from what the flange carries
    force, moment = _flange_load(payload, body_R[-1], origins[-1], omegas[-1], alphas[-1], accels[-1], points[-1])

    def inward(carry, link):  # forces and moments, link by link from the flange
        force, moment, outer = carry
        omega, alpha, accel, point, axis, centre, inertia, mass = link
        r = centre - point
        f_own = mass * (accel + _cross(alpha, r) + _cross(omega, _cross(omega, r)))
        n_own = inertia @ alpha + _cross(omega, inertia @ omega) + _cross(r, f_own)
        moment = moment + _cross(outer - point, force) + n_own  # what lies beyond, moved to this joint
        force = force + f_own
        return (force, moment, point), jnp.dot(axis, moment)

    links = (omegas, alphas, accels, points, axes, centres, inertias, arm.mass)
    _, link_side = jax.lax.scan(inward, (force, moment, points[-1]), links, reverse=True)
    motor_side = arm.gear_ratio**2 * arm.rotor_inertia * qdd + arm.viscous * qd + arm.coulomb * jnp.sign(qd)
    return link_side + motor_side


def _flange_load(payload, R, origin, omega, alpha, accel, point):
    """(force, moment about the last joint point) the payload puts on the last link, in the base frame."""
    if payload is None:
        zero = jnp.zeros(3, R.dtype)
        return zero, zero
    centre = origin + R @ payload.com
    r = centre - point
    a_centre = accel + jnp.cross(alpha, r) + jnp.cross(omega, jnp.cross(omega, r))
    inertia = R @ payload.inertia @ R.T
    force = payload.mass * a_centre
    moment = inertia @ alpha + jnp.cross(omega, inertia @ omega) + jnp.cross(r, force)
    return force, moment


def mass_matrix(arm: Arm, q, payload: Payload | None = None) -> Float[Array, "n n"]:
    """M(q), column j the torques of a unit acceleration of joint j at rest without gravity (the rotor
    inertias on the diagonal, friction excluded)."""
    n = q.shape[0]
    still = arm.replace(viscous=jnp.zeros_like(arm.viscous), coulomb=jnp.zeros_like(arm.coulomb))
    zero = jnp.zeros(n, q.dtype)
    columns = [
        inverse_dynamics(still, q, zero, jnp.eye(n, dtype=q.dtype)[j], jnp.zeros(3, q.dtype), payload) for j in range(n)
    ]
    return jnp.stack(columns, axis=1)
