"""Semantic checks of the arm models and of the robots that use them (twin.scene.checks calls these).

Each check raises a one-line `SceneError` at the key path: DH tables of four numbers per row and one row
per joint, physically possible inertia tensors (positive semi-definite, the triangle inequality of the
principal moments, all within `INERTIA_TOL`), waypoints of one angle per joint inside the position
limits, cycles that name known poses and pass through the grip and release poses, and loads the arm is
rated for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from twin.errors import SceneError, did_you_mean
from twin.scene.schema import ArmModel, Joint, Load, Robot, Scene

INERTIA_TOL = 1e-9  # relative, of the largest principal moment: a thin rod or a point mass is allowed
PAYLOAD_TOL = 1e-9  # kg over the rated payload


def check_arm(arm: ArmModel, where: str) -> None:
    _require(len(arm.joints) > 0, f"{where}.joints", {}, "an arm needs at least one joint")
    for i, row in enumerate(arm.dh):
        _require(
            len(row) == 4, f"{where}.dh[{i}]", row, "a DH row is 4 numbers [a m, alpha rad, d m, theta_offset rad]"
        )
    _require(
        len(arm.dh) == len(arm.joints),
        f"{where}.dh",
        f"{len(arm.dh)} rows",
        f"one row per joint: {len(arm.joints)} joints ({', '.join(arm.joints)})",
    )
    for name, joint in arm.joints.items():
        check_joint(joint, f"{where}.joints.{name}")


def check_joint(joint: Joint, where: str) -> None:
    _vector(joint.com, 3, f"{where}.com", "centre of mass [x, y, z], m")
    check_inertia(joint.inertia, f"{where}.inertia")
    lo_hi = joint.limits.position
    _vector(lo_hi, 2, f"{where}.limits.position", "position range [min, max], rad")
    _require(lo_hi[0] < lo_hi[1], f"{where}.limits.position", lo_hi, "min must be below max")
    rating = joint.reducer
    _require(
        rating.repeated_peak_torque <= rating.momentary_peak_torque,
        f"{where}.reducer.repeated_peak_torque",
        rating.repeated_peak_torque,
        f"above the momentary peak torque {rating.momentary_peak_torque:g} N·m; the momentary limit is the higher",
    )


def check_inertia(values: list[float], where: str) -> None:
    """[Ixx, Iyy, Izz, Ixy, Ixz, Iyz] about the centre of mass: a possible rigid body's."""
    _vector(values, 6, where, "[Ixx, Iyy, Izz, Ixy, Ixz, Iyz], kg·m²")
    moments = np.linalg.eigvalsh(inertia_matrix(values))
    scale = max(float(np.max(np.abs(moments))), 1e-300)
    _require(
        moments[0] >= -INERTIA_TOL * scale,
        where,
        values,
        f"not positive semi-definite (principal moments {_moments(moments)} kg·m²): no rigid body has it",
    )
    _require(
        moments[0] + moments[1] >= moments[2] * (1.0 - INERTIA_TOL) - INERTIA_TOL * scale,
        where,
        values,
        f"principal moments {_moments(moments)} kg·m² break the triangle inequality "
        "(each at most the sum of the other two): no rigid body has them",
    )


def inertia_matrix(values) -> np.ndarray:
    """The 3×3 tensor of [Ixx, Iyy, Izz, Ixy, Ixz, Iyz] (products as the tensor's entries)."""
    xx, yy, zz, xy, xz, yz = values
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]], float)


def check_robot_arm(robot: Robot, arms: Mapping[str, ArmModel], part_mass: float | None, where: str) -> None:
    """A robot with an arm model: its poses, cycle, dwells and loads against the arm it names."""
    if robot.arm is None:
        for field in ("waypoints", "cycle", "dwell"):
            value = getattr(robot, field)
            _require(not value, f"{where}.{field}", value, "only with an arm model: set `arm` to an entry of arms")
        return
    _require(
        robot.arm in arms,
        f"{where}.arm",
        robot.arm,
        "no such arm model; " + did_you_mean(robot.arm, list(arms) or ["(none: the scene has no arms)"], "arms"),
    )
    _require(
        robot.pick_time is None,
        f"{where}.pick_time",
        robot.pick_time,
        "a robot with an arm model is timed by its cycle; give pick_time or arm, not both",
    )
    arm = arms[robot.arm]
    _check_poses(robot, arm, where)
    _check_load(robot.tool, f"{where}.tool")
    _check_load(robot.payload, f"{where}.payload")
    payload = robot.payload.mass if robot.payload.mass is not None else part_mass
    _require(
        payload is not None,
        f"{where}.payload.mass",
        None,
        f"conveyor {robot.conveyor!r} carries no parts; give the payload's mass",
    )
    carried = payload + (robot.tool.mass or 0.0)
    _require(
        carried <= arm.rated_payload + PAYLOAD_TOL,
        f"{where}.payload.mass",
        payload,
        f"with the tool's {robot.tool.mass or 0.0:g} kg the arm carries {carried:g} kg, above its rated payload "
        f"{arm.rated_payload:g} kg (arms.{robot.arm}.rated_payload)",
    )


def _check_poses(robot: Robot, arm: ArmModel, where: str) -> None:
    _require(len(robot.waypoints) >= 2, f"{where}.waypoints", robot.waypoints, "a cycle needs at least two named poses")
    names = list(arm.joints)
    for pose, angles in robot.waypoints.items():
        at = f"{where}.waypoints.{pose}"
        _vector(angles, len(names), at, f"one angle per joint ({', '.join(names)}), rad")
        for i, (angle, joint) in enumerate(zip(angles, arm.joints.values())):
            lo, hi = joint.limits.position
            _require(
                lo <= angle <= hi,
                f"{at}[{i}]",
                angle,
                f"outside joint {names[i]}'s position limits [{lo:g}, {hi:g}] rad (arms.{robot.arm})",
            )
    cycle = robot.cycle if robot.cycle is not None else list(robot.waypoints)
    for i, pose in enumerate(cycle):
        _require(
            pose in robot.waypoints,
            f"{where}.cycle[{i}]",
            pose,
            "no such pose; " + did_you_mean(pose, list(robot.waypoints), "waypoints"),
        )
    _require(len(cycle) >= 2, f"{where}.cycle", cycle, "a cycle passes through at least two poses")
    for field in ("grip", "release"):
        pose = getattr(robot, field)
        _require(
            pose in cycle, f"{where}.{field}", pose, "not a pose of the cycle; " + did_you_mean(pose, cycle, "poses")
        )
    _require(robot.grip != robot.release, f"{where}.release", robot.release, "the part is left where it was not taken")
    for pose, seconds in robot.dwell.items():
        _require(
            pose in cycle,
            f"{where}.dwell.{pose}",
            seconds,
            "not a pose of the cycle; " + did_you_mean(pose, cycle, "poses"),
        )
        _require(seconds >= 0, f"{where}.dwell.{pose}", seconds, "a dwell is a time, s ≥ 0")


def _check_load(load: Load, where: str) -> None:
    _vector(load.com, 3, f"{where}.com", "centre of mass [x, y, z], m")
    check_inertia(load.inertia, f"{where}.inertia")


def check_arms(scene: Scene, where: str) -> None:
    for name, arm in scene.arms.items():
        check_arm(arm, f"{where}.arms.{name}")
    for name, robot in scene.robots.items():
        conveyor = scene.conveyors.get(robot.conveyor)
        part_mass = conveyor.parts.mass if conveyor is not None and conveyor.parts is not None else None
        check_robot_arm(robot, scene.arms, part_mass, f"{where}.robots.{name}")


def _vector(values: Any, n: int, where: str, what: str) -> None:
    _require(len(values) == n, where, values, f"{n} numbers: {what}")


def _moments(moments) -> str:
    return "[" + ", ".join(f"{m:.3g}" for m in moments) + "]"


def _require(ok: bool, where: str, value: Any, message: str) -> None:
    if not ok:
        raise SceneError(where, value, message)
