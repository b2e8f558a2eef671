"""Robots with arm models on the line: the cycle the line asks of each, what that cycle costs its joints,
the heat it gives the hall, and the wear it accrues.

Per robot with an `arm` (twin.scene.schema.Robot), once per rollout (`duties`, in `twin.step.Fixed`):

- the demanded cycle: its share of the parts reaching its pick point — r robots on a conveyor take
  every r-th part — times the part interval, the longer of the infeed's (part spacing over the first
  segment's set speed) and the slowest processing station's service time, less `cycle_margin`;
- the duty cycle through its poses, stretched to that cycle and capped by the joint limits
  (twin.kernels.duty_cycle): its cycle time is the pick point's pick time, so an arm that cannot keep
  up is the line's bottleneck;
- torques by inverse dynamics (twin.kernels.arm), the tool always at the flange and the part from the
  `grip` pose to the `release` pose; reducer lives, limit margins and members' damage per cycle
  (twin.kernels.robot_wear) before temperature;
- the heat: standby power plus each joint's mean |τ·q̇| over the reducer's and the drive's efficiency
  (the cycle returns to its start, so all of it ends as heat), put into the air at the base.

In time, at the air temperature T at the base: each reducer's surface is T plus its thermal resistance
times its losses, its life derated above its reference temperature; members at T (Marin's factor);
each pick adds cycle time / life to each joint's damage (`accrue`); the run's damage is summed from 0
and the scene's `damage_so_far` added where it is read, so that float32 keeps increments of 1e-10 (a
pick's share of a long life) that it would lose added to a fraction of order one.
"""

from __future__ import annotations

import datetime
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from twin.errors import SceneError
from twin.kernels import arm as arm_mod
from twin.kernels import duty_cycle, pytree, robot_wear, sampling
from twin.kernels.pytree import pytree_dataclass
from twin.model import ArmParams, Layout, Params, RobotArmLayout, Tallies

GRAVITY = (0.0, 0.0, -9.81)  # m/s², in every arm's base frame: z up


@pytree_dataclass
class Duty:
    """One robot's cycle at the line's pace and what it costs, before temperature."""

    demanded: jax.Array  # s, the cycle the line asks for
    cycle_time: jax.Array  # s, what the arm takes (≥ demanded where the limits cap it)
    rms_torque: jax.Array  # (J,) N·m over the cycle
    peak_torque: jax.Array  # (J,) N·m
    wear: robot_wear.ReferenceWear
    fatigue_exponent: jax.Array  # (J,) Basquin's b of each member
    reducer_loss: jax.Array  # (J,) W, mean
    heat: jax.Array  # W into the hall at the base


class JointState(NamedTuple):
    """Each joint of one robot at an air temperature at its base (J,) arrays."""

    surface_T: jax.Array  # °C, the reducer's surface
    reducer_life_h: jax.Array
    damage_per_cycle: jax.Array
    fatigue_life_h: jax.Array
    life_h: jax.Array  # the shorter of the two


def demanded_cycle(layout: Layout, params: Params, robot: RobotArmLayout, margin):
    """s: the robot's share of the part interval at its pick point, less the margin."""
    c = robot.conveyor
    conveyor = layout.conveyors[c]
    interval = params.part_spacing[c] / params.belts.setpoint[conveyor.segments[0]]
    if conveyor.station_names:
        interval = jnp.maximum(interval, jnp.max(params.service_time[c, : len(conveyor.station_names)]))
    return len(conveyor.pick_points) * interval * (1.0 - margin)


def held_load(tool: arm_mod.Payload, part: arm_mod.Payload, share) -> arm_mod.Payload:
    """Tool and `share` (0 or 1) of the part as one load at the flange (parallel-axis theorem)."""
    m_tool, m_part = tool.mass, part.mass * share
    mass = m_tool + m_part
    com = (m_tool * tool.com + m_part * part.com) / jnp.where(mass > 0, mass, 1.0)

    def about(inertia, m, r):
        return inertia + m * (jnp.dot(r, r) * jnp.eye(3, dtype=r.dtype) - jnp.outer(r, r))

    inertia = about(tool.inertia, m_tool, tool.com - com) + about(part.inertia * share, m_part, part.com - com)
    return arm_mod.Payload(mass, com, inertia)


def duty(robot: RobotArmLayout, p: ArmParams, demanded) -> Duty:
    """The cycle at `demanded` s and its torques, lives, damage and heat."""
    moves, cycle_time = duty_cycle.timing(p.waypoints, p.dwell, demanded, p.speed_limit, p.acceleration_limit)
    samples = duty_cycle.sample(p.waypoints, p.dwell, moves, robot.per_move)
    carrying = jnp.asarray(robot.carrying)
    gravity = jnp.asarray(GRAVITY, moves.dtype)

    def torques(q, qd, qdd, held):
        load = held_load(p.tool, p.payload, held.astype(q.dtype))
        return arm_mod.inverse_dynamics(p.arm, q, qd, qdd, gravity, load)

    tau = jax.vmap(torques)(samples.q, samples.qd, samples.qdd, carrying)
    wear = robot_wear.reference_wear(
        p.arm, p.ratings, p.materials, p.section_modulus, p.stress_concentration, samples, tau
    )
    t = samples.duration[:, None]
    total = jnp.sum(samples.duration)
    power = jnp.sum(t * jnp.abs(tau * samples.qd), axis=0) / total  # W at each joint, mean
    return Duty(
        demanded=demanded,
        cycle_time=cycle_time,
        rms_torque=jnp.sqrt(jnp.sum(t * tau**2, axis=0) / total),
        peak_torque=jnp.max(jnp.abs(tau), axis=0),
        wear=wear,
        fatigue_exponent=jnp.stack([m.fatigue_exponent for m in p.materials]),
        reducer_loss=power * (1.0 / p.reducer_efficiency - 1.0),
        heat=p.standby_power + jnp.sum(power / (p.reducer_efficiency * p.motor_efficiency)),
    )


def duties(layout: Layout, params: Params) -> tuple[Duty, ...]:
    """Every arm robot's duty at the line's pace (aligned with layout.robot_arms). Robots of one arm
    model and cycle shape are traced once, `vmap`ped over their numbers (compile time)."""
    groups: dict = {}
    for i, (robot, p) in enumerate(zip(layout.robot_arms, params.arms)):
        shape = (jax.tree.structure(p), robot.per_move, robot.carrying.tobytes(), p.waypoints.shape)
        groups.setdefault(shape, []).append(i)
    out: list = [None] * len(layout.robot_arms)
    for members in groups.values():
        robot = layout.robot_arms[members[0]]
        stacked = pytree.stack([params.arms[i] for i in members])
        demanded = jnp.stack(
            [demanded_cycle(layout, params, layout.robot_arms[i], params.arms[i].cycle_margin) for i in members]
        )
        together = jax.vmap(functools.partial(duty, robot))(stacked, demanded)
        for k, i in enumerate(members):
            out[i] = pytree.take(together, k)
    return tuple(out)


def pick_times(layout: Layout, params: Params, robot_duties: tuple[Duty, ...]):
    """(c, r) s: the scene's pick times with each arm robot's cycle time in its place."""
    pick_time = params.pick_time
    for robot, d in zip(layout.robot_arms, robot_duties):
        pick_time = pick_time.at[robot.conveyor, robot.point].set(d.cycle_time)
    return pick_time


def heat_source(layout: Layout, robot_duties: tuple[Duty, ...], dtype):
    """W/m³ the robots put into the air at their bases (0.0 without arm robots)."""
    if not layout.robot_arms:
        return 0.0
    idx = jnp.asarray(np.concatenate([r.base_idx for r in layout.robot_arms]))
    w = jnp.asarray(np.concatenate([r.base_w for r in layout.robot_arms]), dtype)
    heat = jnp.stack([d.heat for d in robot_duties]).astype(dtype)
    return sampling.deposit(heat, idx, w, layout.shape) / layout.cell_volume


def base_temperature(robot: RobotArmLayout, T):
    """°C of the air at the robot's base."""
    return sampling.gather(T, jnp.asarray(robot.base_idx), jnp.asarray(robot.base_w, T.dtype))[0]


def joint_state(robot: RobotArmLayout, p: ArmParams, d: Duty, T) -> JointState:
    """The joints' lives in the field T (°C)."""
    air = base_temperature(robot, T)
    surface = air + p.thermal_resistance * d.reducer_loss
    reducer_life, damage, fatigue_life, life, _ = robot_wear.at_temperature(
        d.wear, d.fatigue_exponent, d.cycle_time, surface, air, p.reference_T, p.halving, 0.0
    )
    return JointState(surface, reducer_life, damage, fatigue_life, life)


def accrue(layout: Layout, params: Params, robot_duties, before: Tallies, after: Tallies, T) -> Tallies:
    """`after` with each pick since `before` adding cycle time / life (in the field T) to every joint's
    damage at its pick point."""
    damage = after.robot_damage
    for robot, p, d in zip(layout.robot_arms, params.arms, robot_duties):
        c, r = robot.conveyor, robot.point
        picks = (after.picks[c, r] - before.picks[c, r]).astype(T.dtype)
        life_s = joint_state(robot, p, d, T).life_h * robot_wear.SECONDS_PER_HOUR
        step = picks * d.cycle_time / life_s
        damage = damage.at[c, r, : step.shape[0]].add(step)
    return after.replace(robot_damage=damage)


def damage_of(robot: RobotArmLayout, p: ArmParams, tallies: Tallies):
    """(J,) fraction of each joint's life used: the scene's damage so far and this run's picks'."""
    return p.damage_so_far + tallies.robot_damage[robot.conveyor, robot.point, : len(robot.joints)]


def carrying_mask(n_poses: int, grip: int, release: int, per_move: int) -> np.ndarray:
    """(samples,) bool over `duty_cycle.sample`'s order (dwell at pose 0, then per move k its samples and
    the dwell at pose k+1; the cycle closed): the part is held on the moves from the grip pose round to
    the release pose and at rest at the poses between them."""
    held_span = (release - grip) % n_poses

    def between(k, inclusive_start: bool):
        offset = (k - grip) % n_poses
        return (offset < held_span) if inclusive_start else (0 < offset < held_span)

    mask = [between(0, False)]
    for k in range(n_poses):
        mask += [between(k, True)] * per_move
        mask.append(between((k + 1) % n_poses, False))
    return np.asarray(mask, bool)


@functools.partial(jax.jit, static_argnums=0)
def _joint_states(layout: Layout, params: Params, robot_duties: tuple[Duty, ...], T):
    return tuple(joint_state(r, p, d, T) for r, p, d in zip(layout.robot_arms, params.arms, robot_duties))


def report(
    layout: Layout, params: Params, robot_duties: tuple[Duty, ...], tallies: Tallies, T, now: datetime.datetime
) -> dict:
    """metrics.json's `robots` section: per robot its cycle and weakest joint, per joint its torques,
    rated-limit margins, lives, damage and remaining life in the field T; `now` dates the limit."""
    states = _joint_states(layout, params, robot_duties, T)
    out = {}
    for robot, p, d, js in zip(layout.robot_arms, params.arms, robot_duties, states):
        c, r = robot.conveyor, robot.point
        damage = np.asarray(damage_of(robot, p, tallies), float)
        accrued = np.asarray(tallies.robot_damage[c, r, : len(robot.joints)], float)
        life = np.asarray(js.life_h, float)
        remaining = life * (1.0 - damage)
        cycle = float(d.cycle_time)
        weakest = int(np.argmin(remaining))
        joints = {}
        for j, name in enumerate(robot.joints):
            joints[name] = {
                "equivalent_torque_Nm": float(d.wear.equivalent_torque[j]),
                "rms_torque_Nm": float(d.rms_torque[j]),
                "peak_torque_Nm": float(d.peak_torque[j]),
                "margins": {m: float(d.wear.margins[k, j]) for k, m in enumerate(robot_wear.MARGINS)},
                "reducer_surface_temperature_degC": float(js.surface_T[j]),
                "surface_temperature_margin_K": float(p.surface_limit[j] - js.surface_T[j]),
                "reducer_life_h": float(js.reducer_life_h[j]),
                "fatigue_life_h": float(js.fatigue_life_h[j]),
                "life_h": float(life[j]),
                "damage_per_cycle": cycle / (life[j] * robot_wear.SECONDS_PER_HOUR),
                "damage": float(damage[j]),
                "damage_this_run": float(accrued[j]),
                "remaining_life_h": float(remaining[j]),
                "remaining_cycles": float(remaining[j] * robot_wear.SECONDS_PER_HOUR / cycle),
            }
        hours = float(remaining[weakest])
        exceeded = sorted({m for j in joints.values() for m, v in j["margins"].items() if v < 0})
        out[robot.name] = {
            "demanded_cycle_s": float(d.demanded),
            "cycle_time_s": cycle,
            "keeps_up": bool(cycle <= float(d.demanded) * (1.0 + 1e-6)),
            "picks": int(tallies.picks[c, r]),
            "heat_W": float(d.heat),
            "base_air_temperature_degC": float(base_temperature(robot, T)),
            "weakest_joint": robot.joints[weakest],
            "remaining_life_h": hours,
            "limit_date": date_after(now, hours),
            "warnings": [f"{m} exceeded" for m in exceeded],
            "joints": joints,
        }
    return out


def date_after(now: datetime.datetime, hours: float) -> str | None:
    """ISO date `hours` after `now`, running around the clock; None past the calendar's end."""
    try:
        return (now + datetime.timedelta(hours=hours)).date().isoformat()
    except (OverflowError, ValueError):
        return None


def check_peaks(layout: Layout, robot_duties: tuple[Duty, ...]) -> None:
    """A one-line `SceneError` for a robot whose cycle asks a joint for more than its reducer's momentary
    peak torque: the scene asks for something the arm cannot do."""
    momentary = robot_wear.MARGINS.index("momentary_peak_torque")
    for robot, d in zip(layout.robot_arms, robot_duties):
        margins = np.asarray(d.wear.margins[momentary], float)
        if np.any(margins < 0):
            j = int(np.argmin(margins))
            peak = float(d.peak_torque[j])
            raise SceneError(
                f"scene.robots.{robot.name}",
                robot.joints[j],
                f"its cycle of {float(d.cycle_time):.3g} s needs {peak:.4g} N·m at joint {robot.joints[j]}, above its "
                f"reducer's momentary peak torque {peak / (1.0 + margins[j]):.4g} N·m; lighten the payload or tool, "
                "slow the line, or rate the joint higher",
            )
