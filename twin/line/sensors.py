"""Sensor kinds: what each measures, in which units, what it targets and how it is read — one table.

`KINDS` maps each kind of `scene.sensors.<name>.kind` to its `Kind`. The scene checks take a kind's
units and target from here, `resolve` turns a target name into indices for the build (once, for the
checks and the build alike), the step reads every sensor with its `read`, and the run turns the
per-step readings into samples by its `series`. Adding a kind: its name in `twin.scene.schema.SensorKind`,
an entry here, its docs (docs/scenes.md, docs/results.md) and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from twin.errors import MISSING, SceneError, did_you_mean
from twin.kernels import robot_wear, sampling, thermal
from twin.line import belts, robots
from twin.model import Layout, Params, SensorLayout, State
from twin.scene.schema import Scene

# What a kind's `target` names: a place, or the entity it reads.
POSITION, SURFACE, HEATER, SEGMENT, CONVEYOR, PICKS, STATION, JOINT = (
    "position",
    "surface",
    "heater",
    "segment",
    "conveyor",
    "picks",
    "station",
    "joint",
)
ALL_JOINTS = -1  # a robot target without a joint: the weakest (or most loaded) joint
# How per-step readings become samples at k·period: interpolated in time; held since the last step (a
# count); per hour over the period before each sample (a cumulative count); fraction of the period
# before each sample (a cumulative time, s).
LINEAR, HELD, RATE, FRACTION = "linear", "held", "rate", "fraction"


class Context(NamedTuple):
    """What a reading needs besides the state: the faces' conditions at the state's time (surface
    sensors) and the arm robots' duties (twin.line.robots)."""

    bcs: thermal.Boundaries
    duties: tuple = ()


@dataclass(frozen=True)
class Kind:
    """A sensor kind. read(layout, params, state, ctx, sensor) -> its value (SI; lives in h) in
    `state`, with `ctx` a `Context`."""

    meaning: str
    units: tuple[str, ...]  # allowed, the first the default
    target: str
    read: Callable
    series: str = LINEAR
    needs_cure: bool = False  # a PICKS kind that reads the parts' cure


def _air(layout, params, state, ctx, s):
    return sampling.gather(state.T, jnp.asarray(s.idx), jnp.asarray(s.w, state.T.dtype))[0]


def _surface(layout, params, state, ctx, s):
    axis, side = s.target
    face = thermal.face_temperature(state.T, ctx.bcs, axis, side)
    return sampling.gather(face, jnp.asarray(s.idx), jnp.asarray(s.w, state.T.dtype))[0]


def _heater_power(layout, params, state, ctx, s):
    (i,) = s.target
    return state.heater_output[i] * params.heater_power[i]


def _motor(which: int):
    def read(layout, params, state, ctx, s):
        return belts.instruments(params, state.belts)[which][s.target[0]]

    return read


def _bearing_life(layout, params, state, ctx, s):
    """h: what a segment's bearings have left at this moment's speed, load and air temperature."""
    (g,) = s.target
    load = jnp.maximum(belts.segment_loads(layout, params, state.parts, state.T.dtype) + state.belts.pending_load, 0.0)
    rate = belts.use_rate(params, state.belts.v, load, belts.segment_air(layout, state.T))[g] * 3600.0
    left = 1.0 - belts.bearing_use(params, state.belts)[g]
    return jnp.where(rate > 0, left / jnp.where(rate > 0, rate, 1.0), jnp.inf)


def _joint(value: Callable, weakest: Callable):
    """A robot-joint reading: value(robot layout, arm params, duty, state) -> (J,), one joint's entry or,
    for a robot target, `weakest` of them."""

    def read(layout, params, state, ctx, s):
        a, j = s.target
        values = value(layout.robot_arms[a], params.arms[a], ctx.duties[a], state)
        return weakest(values) if j == ALL_JOINTS else values[j]

    return read


def _damage(robot, p, d, state):
    return robots.damage_of(robot, p, state.tallies)


def _remaining_life(robot, p, d, state):
    return robot_wear.scaled_life(robots.joint_state(robot, p, d, state.T).life_h, 1.0 - _damage(robot, p, d, state))


KINDS: dict[str, Kind] = {
    "air_temperature": Kind("air temperature at a point", ("degC", "K"), POSITION, _air),
    "surface_temperature": Kind("temperature of a boundary face at a point on it", ("degC", "K"), SURFACE, _surface),
    "part_temperature": Kind(
        "temperature of the last part picked",
        ("degC", "K"),
        PICKS,
        lambda layout, params, state, ctx, s: state.tallies.last_T[s.target],
    ),
    "cure": Kind(
        "cure degree of the last part picked",
        ("1", "%"),
        PICKS,
        lambda layout, params, state, ctx, s: state.tallies.last_alpha[s.target],
        needs_cure=True,
    ),
    "heater_power": Kind("electrical power of a heater", ("W", "kW"), HEATER, _heater_power),
    "belt_speed": Kind(
        "speed of a belt segment",
        ("m/s", "m/min"),
        SEGMENT,
        lambda layout, params, state, ctx, s: state.belts.v[s.target[0]],
    ),
    "motor_current": Kind("current of a segment's motor", ("A",), SEGMENT, _motor(0)),
    "motor_power": Kind("electrical power of a segment's motor", ("W", "kW"), SEGMENT, _motor(1)),
    "bearing_life": Kind(
        "hours a segment's roller bearings have left at this speed, load and air temperature (ISO 281 Lnm)",
        ("h", "d"),
        SEGMENT,
        _bearing_life,
    ),
    "bearing_use": Kind(
        "fraction of a segment's roller bearing life used, from used_before",
        ("1", "%"),
        SEGMENT,
        lambda layout, params, state, ctx, s: belts.bearing_use(params, state.belts)[s.target[0]],
    ),
    "work_in_progress": Kind(
        "parts on a conveyor",
        ("parts",),
        CONVEYOR,
        lambda layout, params, state, ctx, s: jnp.sum(state.parts.alive[s.target[0]]).astype(state.T.dtype),
        series=HELD,
    ),
    "throughput": Kind(
        "parts leaving a conveyor per hour over each period",
        ("parts/h", "parts/min"),
        CONVEYOR,
        lambda layout, params, state, ctx, s: state.tallies.n_out[s.target[0]].astype(state.T.dtype),
        series=RATE,
    ),
    "blocked_fraction": Kind(
        "fraction of each period a processing station held a finished part it could not release",
        ("1", "%"),
        STATION,
        lambda layout, params, state, ctx, s: state.tallies.blocked[s.target],
        series=FRACTION,
    ),
    "starved_fraction": Kind(
        "fraction of each period a processing station stood empty",
        ("1", "%"),
        STATION,
        lambda layout, params, state, ctx, s: state.tallies.starved[s.target],
        series=FRACTION,
    ),
    "joint_torque": Kind(
        "RMS torque of a robot joint over its cycle (a robot: its largest)",
        ("Nm", "kNm"),
        JOINT,
        _joint(lambda robot, p, d, state: d.rms_torque, jnp.max),
    ),
    "joint_peak_torque": Kind(
        "peak torque of a robot joint over its cycle (a robot: its largest)",
        ("Nm", "kNm"),
        JOINT,
        _joint(lambda robot, p, d, state: d.peak_torque, jnp.max),
    ),
    "reducer_life": Kind(
        "L10 life of a joint's reducer at this duty and its surface temperature (a robot: the shortest)",
        ("h", "d"),
        JOINT,
        _joint(lambda robot, p, d, state: robots.joint_state(robot, p, d, state.T).reducer_life_h, jnp.min),
    ),
    "damage": Kind(
        "fraction of a joint's life used, from damage_so_far (a robot: the largest)",
        ("1", "%"),
        JOINT,
        _joint(_damage, jnp.max),
    ),
    "remaining_life": Kind(
        "hours a joint has left at this duty and temperature (a robot: the shortest)",
        ("h", "d"),
        JOINT,
        _joint(_remaining_life, jnp.min),
    ),
}
TARGETS = {  # what the target of each target kind names, for messages
    HEATER: "a heater name",
    SEGMENT: "a belt segment as conveyor.segment, or a conveyor of one segment",
    CONVEYOR: "a conveyor name",
    PICKS: "a robot, or a conveyor without robots",
    STATION: "a processing station as conveyor.station",
    JOINT: "a robot with an arm model, or one of its joints as robot.joint",
}


def readings(layout: Layout, params: Params, state: State, bcs: thermal.Boundaries, duties: tuple):
    """Every sensor's value in SI (°C, W, cure fraction, m/s, A, parts, s, N·m; lives in h), in layout
    order (s,); `duties` the arm robots' (twin.line.robots.duties)."""
    ctx = Context(bcs, duties)
    values = [KINDS[s.kind].read(layout, params, state, ctx, s) for s in layout.sensors]
    return jnp.stack(values) if values else jnp.zeros((0,), state.T.dtype)


def samples(sensor: SensorLayout, times: np.ndarray, series: np.ndarray, duration: float) -> tuple:
    """(t, values in SI) of one sensor at its sample times k·period, from its readings at the steps'
    `times` (s)."""
    t = np.arange(0.0, duration + 1e-9 * duration, sensor.period)
    return t, samples_at(sensor, t, times, series)


def samples_at(sensor: SensorLayout, t: np.ndarray, times: np.ndarray, series: np.ndarray) -> np.ndarray:
    """Values in SI of one sensor at increasing sample times `t` (s, any spacing), from its readings at
    the steps' `times`: interpolated, held since the last step, or a rate or fraction over the period
    before each sample (from the run's start for a sample within its first period)."""
    how = KINDS[sensor.kind].series
    if how == LINEAR:
        return np.interp(t, times, series)
    before = t - sensor.period
    if how == FRACTION:
        return (np.interp(t, times, series) - np.interp(before, times, series)) / sensor.period
    eps = 1e-9 * max(float(times[-1]), 1.0)

    def held(at):
        return series[np.clip(np.searchsorted(times, at + eps, side="right") - 1, 0, None)]

    if how == HELD:
        return held(t)
    return (held(t) - held(before)) * 3600.0 / sensor.period


def resolve(kind: str, target: str | None, scene: Scene, where: str) -> tuple[int, ...]:
    """The indices the target of a `kind` sensor names — heater (i,), segment (g,) over all conveyors'
    segments in order, conveyor (c,), pick point (c, r) as the build orders them, station (c, k) — or a
    one-line `SceneError` at `where` saying what it should name. Position kinds resolve to ()."""
    spec = KINDS[kind]
    if spec.target in (POSITION, SURFACE):
        return ()
    if target is None:
        raise SceneError(where, MISSING, f"required by {_a(kind)} sensor: {TARGETS[spec.target]}")
    if spec.target == HEATER:
        return (_index(target, list(scene.heaters), where, "heater", "heaters", "(none defined)"),)
    if spec.target == SEGMENT:
        conveyor, segment = segment_target(target, scene, where)
        flat = [(c, s) for c, v in scene.conveyors.items() for s in list(v.belt_segments())]
        return (flat.index((conveyor, segment)),)
    if spec.target == STATION:
        return _station(target, scene, where)
    if spec.target == JOINT:
        return _robot_joint(target, scene, where)
    if spec.target == CONVEYOR:
        c = _index(target, list(scene.conveyors), where, "conveyor", "conveyors", "(none: the scene has no conveyors)")
        _carries_parts(target, scene, where)
        return (c,)
    return _pick_point(kind, target, scene, where)


def segment_target(target: str, scene: Scene, where: str = "target") -> tuple[str, str]:
    """(conveyor, segment) a belt sensor reads: ``conveyor.segment``, or a conveyor of exactly one segment."""
    conveyor, dot, segment = target.partition(".")
    if not dot:
        targets = [
            f"{c}.{s}" if len(list(v.belt_segments())) > 1 else c
            for c, v in scene.conveyors.items()
            for s in list(v.belt_segments())
        ] or ["(none: the scene has no conveyors)"]
        _require(
            conveyor in scene.conveyors, where, target, "no such conveyor; " + did_you_mean(target, targets, "targets")
        )
        names = list(scene.conveyors[conveyor].belt_segments())
        _require(
            len(names) == 1,
            where,
            target,
            f"conveyor {conveyor!r} has {len(names)} segments; target one as conveyor.segment: "
            + ", ".join(f"{conveyor}.{s}" for s in names),
        )
        return conveyor, names[0]
    _known_conveyor(conveyor, scene, where, target)
    names = list(scene.conveyors[conveyor].belt_segments())
    label = "segments" if scene.conveyors[conveyor].segments else "segments (none listed: the default one)"
    _require(
        segment in names,
        where,
        target,
        f"conveyor {conveyor!r} has no segment {segment!r}; " + did_you_mean(segment, names, label),
    )
    return conveyor, segment


def _robot_joint(target: str, scene: Scene, where: str) -> tuple[int, int]:
    """(arm robot index, joint index or ALL_JOINTS) of `robot` or `robot.joint`."""
    name, dot, joint = target.partition(".")
    armed = [n for n, r in scene.robots.items() if r.arm is not None]
    _require(
        name in armed,
        where,
        target,
        "no robot with an arm model of this name; "
        + did_you_mean(name, armed or ["(none defined)"], "robots with arms"),
    )
    if not dot:
        return armed.index(name), ALL_JOINTS
    joints = list(scene.arms[scene.robots[name].arm].joints)
    _require(
        joint in joints,
        where,
        target,
        f"robot {name!r} has no joint {joint!r}; " + did_you_mean(joint, joints, "joints"),
    )
    return armed.index(name), joints.index(joint)


def _station(target: str, scene: Scene, where: str) -> tuple[int, int]:
    conveyor, dot, station = target.partition(".")
    _known_conveyor(conveyor, scene, where, target)
    names = list(scene.conveyors[conveyor].stations)
    _require(bool(names), where, target, f"conveyor {conveyor!r} has no processing stations")
    _require(
        bool(dot) and station in names,
        where,
        target,
        "name a processing station as conveyor.station; "
        + did_you_mean(target, [f"{conveyor}.{n}" for n in names], "stations"),
    )
    return list(scene.conveyors).index(conveyor), names.index(station)


def _pick_point(kind: str, target: str, scene: Scene, where: str) -> tuple[int, int]:
    """(conveyor, pick point) of a robot — its rank by pick_at among its conveyor's robots, as the build
    orders them — or of a conveyor without robots (its path end, 0)."""
    _require(
        not (target in scene.robots and target in scene.conveyors),
        where,
        target,
        "both a robot and a conveyor have this name; rename one",
    )
    if target in scene.robots:
        conveyor = scene.robots[target].conveyor
        pickers = sorted((r.pick_at, name) for name, r in scene.robots.items() if r.conveyor == conveyor)
        point = [name for _, name in pickers].index(target)
    else:
        known = [*scene.robots, *scene.conveyors] or ["(none defined)"]
        _require(
            target in scene.conveyors,
            where,
            target,
            "no robot or conveyor of this name; " + did_you_mean(target, known, "robots and conveyors"),
        )
        pickers = [name for name, r in scene.robots.items() if r.conveyor == target]
        _require(
            not pickers, where, target, f"conveyor {target!r} has robots ({', '.join(pickers)}); target one of them"
        )
        conveyor, point = target, 0
    parts = _carries_parts(conveyor, scene, where, target)
    _require(
        not KINDS[kind].needs_cure or parts.cure is not None,
        where,
        target,
        f"parts on conveyor {conveyor!r} have no cure kinetics; add conveyors.{conveyor}.parts.cure",
    )
    return list(scene.conveyors).index(conveyor), point


def _carries_parts(conveyor: str, scene: Scene, where: str, target: str | None = None):
    parts = scene.conveyors[conveyor].parts
    _require(
        parts is not None,
        where,
        target or conveyor,
        f"conveyor {conveyor!r} carries no parts; add conveyors.{conveyor}.parts",
    )
    return parts


def _known_conveyor(conveyor: str, scene: Scene, where: str, target: str) -> None:
    known = list(scene.conveyors) or ["(none: the scene has no conveyors)"]
    _require(
        conveyor in scene.conveyors,
        where,
        target,
        f"no such conveyor {conveyor!r}; " + did_you_mean(conveyor, known, "conveyors"),
    )


def _index(name: str, names: list[str], where: str, what: str, plural: str, none: str) -> int:
    _require(name in names, where, name, f"no such {what}; " + did_you_mean(name, names or [none], plural))
    return names.index(name)


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _require(ok: bool, where: str, value, message: str) -> None:
    if not ok:
        raise SceneError(where, value, message)
