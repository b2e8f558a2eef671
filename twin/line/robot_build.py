"""Scene robots with arm models into their layouts (static) and params (differentiable), for twin.build.

A robot's base is a point on the floor (2D: the arm stands on it; 3D: at that point): its air sample
and where its heat goes. Its poses are put in cycle order and closed (the first again at the end, no
second dwell there); inertia tensors are assembled from the scene's six entries.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from twin.kernels import arm as arm_mod
from twin.kernels import fatigue, reducer
from twin.line.robots import carrying_mask
from twin.model import ArmParams, ConveyorLayout, RobotArmLayout
from twin.scene.arm_checks import inertia_matrix
from twin.scene.schema import ArmModel, Load, Robot, Scene

DEFAULT_RATED_LIFE = {"strain_wave": 7000.0, "cycloidal": 6000.0}  # h: the catalogues' L10 and K


def cycle_of(robot: Robot) -> list[str]:
    """Pose names in cycle order."""
    return robot.cycle if robot.cycle is not None else list(robot.waypoints)


def arm_layouts(scene: Scene, conveyors: tuple[ConveyorLayout, ...], cell_weights) -> tuple[RobotArmLayout, ...]:
    """One layout per robot with an arm model, in scene order; `cell_weights(points)` samples the grid."""
    names = [c.name for c in conveyors]
    out = []
    for name, robot in scene.robots.items():
        if robot.arm is None:
            continue
        arm = scene.arms[robot.arm]
        c = names.index(robot.conveyor)
        cycle = cycle_of(robot)
        idx, w = cell_weights([robot.base])
        out.append(
            RobotArmLayout(
                name=name,
                conveyor=c,
                point=conveyors[c].robots.index(name),
                joints=tuple(arm.joints),
                per_move=arm.samples_per_move,
                carrying=carrying_mask(
                    len(cycle), cycle.index(robot.grip), cycle.index(robot.release), arm.samples_per_move
                ),
                base_idx=idx,
                base_w=w,
            )
        )
    return tuple(out)


def arm_params(scene: Scene, conveyor_part_mass: dict[str, float], dtype) -> tuple[ArmParams, ...]:
    """One ArmParams per robot with an arm model, aligned with `arm_layouts`."""

    def arr(values):
        return jnp.asarray(np.asarray(values, float), dtype)

    out = []
    for robot in scene.robots.values():
        if robot.arm is None:
            continue
        model = scene.arms[robot.arm]
        joints = list(model.joints.values())

        def per_joint(get, joints=joints):
            return arr([get(j) for j in joints])

        cycle = cycle_of(robot)
        poses = [robot.waypoints[p] for p in cycle]
        dwell = [robot.dwell.get(p, 0.0) for p in cycle]
        part_mass = robot.payload.mass if robot.payload.mass is not None else conveyor_part_mass[robot.conveyor]
        out.append(
            ArmParams(
                arm=arm_model(model, arr),
                ratings=tuple(_rating(j.reducer, arr) for j in joints),
                materials=tuple(_material(j.member, arr) for j in joints),
                section_modulus=per_joint(lambda j: j.member.section_modulus),
                stress_concentration=per_joint(lambda j: j.member.stress_concentration),
                speed_limit=per_joint(lambda j: j.limits.speed),
                acceleration_limit=per_joint(lambda j: j.limits.acceleration),
                waypoints=arr([*poses, poses[0]]),
                dwell=arr([*dwell, 0.0]),
                payload=_load(robot.payload, part_mass, arr),
                tool=_load(robot.tool, robot.tool.mass or 0.0, arr),
                reducer_efficiency=per_joint(lambda j: j.reducer.efficiency),
                motor_efficiency=arr(model.motor_efficiency),
                standby_power=arr(model.standby_power),
                thermal_resistance=per_joint(lambda j: j.reducer.thermal_resistance),
                reference_T=per_joint(lambda j: j.reducer.reference_temperature),
                halving=per_joint(lambda j: j.reducer.halving),
                surface_limit=per_joint(lambda j: j.reducer.surface_limit),
                cycle_margin=arr(robot.cycle_margin),
                damage_so_far=arr(robot.damage_so_far),
            )
        )
    return tuple(out)


def arm_model(model: ArmModel, arr) -> arm_mod.Arm:
    """The kernel's Arm of a scene's arm model, its arrays made by `arr`."""
    joints = list(model.joints.values())
    return arm_mod.Arm(
        dh=arr(model.dh),
        mass=arr([j.mass for j in joints]),
        com=arr([j.com for j in joints]),
        inertia=arr([inertia_matrix(j.inertia) for j in joints]),
        gear_ratio=arr([j.gear_ratio for j in joints]),
        rotor_inertia=arr([j.rotor_inertia for j in joints]),
        viscous=arr([j.viscous for j in joints]),
        coulomb=arr([j.coulomb for j in joints]),
        modified=model.convention == "modified",
    )


def _rating(r, arr) -> reducer.Rating:
    return reducer.Rating(
        rated_torque=arr(r.rated_torque),
        rated_speed=arr(r.rated_speed),
        rated_life_h=arr(r.rated_life if r.rated_life is not None else DEFAULT_RATED_LIFE[r.type]),
        average_torque_limit=arr(r.average_torque_limit),
        repeated_peak_torque=arr(r.repeated_peak_torque),
        momentary_peak_torque=arr(r.momentary_peak_torque),
        max_speed=arr(r.max_speed),
        kind=r.type,
        rated_as_l50=r.rated_as == "L50",
    )


def _material(m, arr) -> fatigue.Material:
    return fatigue.Material(
        fatigue_strength=arr(m.fatigue_strength),
        fatigue_exponent=arr(m.fatigue_exponent),
        ultimate_strength=arr(m.ultimate_strength),
        walker_gamma=arr(m.walker_gamma),
        mean_stress=m.mean_stress,
    )


def _load(load: Load, mass: float, arr) -> arm_mod.Payload:
    return arm_mod.Payload(arr(mass), arr(load.com), arr(inertia_matrix(load.inertia)))
