"""Robots with arm models on the line (twin.line.robots): scene checks of arms and their cycles, the
arm's cycle as the pick point's service time, its heat in the field, wear with temperature, sensors and
the robots section of the metrics — every line test in float32 and float64."""

from __future__ import annotations

import copy
import functools
import math
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fixtures import small_line
from test_scene_validation import DELETE, _apply

import twin
from twin.errors import SceneError
from twin.kernels import fatigue
from twin.line import robots
from twin.scene.convert import scene_from_mapping
from twin.scene.files import read_scene_mapping
from twin.step import fixed_terms

ROOT = pathlib.Path(__file__).parent.parent
DEFAULT = read_scene_mapping(ROOT / "scenes" / "gigafactory_cell.yaml")
PRECISIONS = ["float32", "float64"]
# Relative agreement of line values computed two ways. Measured: ≤ 3e-7 (float32), ≤ 1e-15 (float64);
# margin ×30.
AGREE = {"float32": 1e-5, "float64": 3e-14}


def armed_line(**robot_changes) -> dict:
    """small_line() with the default scene's arm model on both robots (its poses, tool and dwells)."""
    data = small_line()
    data["arms"] = copy.deepcopy(DEFAULT["arms"])
    for name in ("r1", "r2"):
        robot = data["robots"][name]
        template = copy.deepcopy(DEFAULT["robots"]["robot_a"])
        for key in ("arm", "waypoints", "dwell", "tool", "payload"):
            robot[key] = template[key]
        robot["dwell"] = {"pick": 0.5, "place": 0.5}
        robot.update(copy.deepcopy(robot_changes))
    data["sensors"].update(
        {
            "torque": {"kind": "joint_torque", "target": "r1.A2", "period": 5.0},
            "peak": {"kind": "joint_peak_torque", "target": "r1", "period": 5.0, "unit": "kNm"},
            "life": {"kind": "reducer_life", "target": "r1.A3", "period": 5.0},
            "damage": {"kind": "damage", "target": "r2", "period": 5.0},
            "left": {"kind": "remaining_life", "target": "r2", "period": 5.0, "unit": "d"},
        }
    )
    return data


@functools.cache
def built(precision: str, slow: bool = False):
    data = _slow_data() if slow else armed_line(damage_so_far=0.25)
    return twin.build(scene_from_mapping(data), jnp.float32 if precision == "float32" else jnp.float64)


# --- bad input ---------------------------------------------------------------------------------------

BAD = [  # (id, change path, value, where, phrase)
    ("dh-row-of-three", "arms.kr20_class.dh[2]", [0.15, -1.57, 0.0], "scene.arms.kr20_class.dh[2]", "4 numbers"),
    ("dh-rows-short", "arms.kr20_class.dh[5]", DELETE, "scene.arms.kr20_class.dh", "one row per joint"),
    ("negative-mass", "arms.kr20_class.joints.A2.mass", -1.0, "scene.arms.kr20_class.joints.A2.mass", "≥ 0"),
    (
        "inertia-not-psd",
        "arms.kr20_class.joints.A2.inertia",
        [1.0, 1.0, 1.0, 2.0, 0.0, 0.0],
        "scene.arms.kr20_class.joints.A2.inertia",
        "positive semi-definite",
    ),
    (
        "inertia-triangle",
        "arms.kr20_class.joints.A3.inertia",
        [0.1, 0.1, 1.0, 0.0, 0.0, 0.0],
        "scene.arms.kr20_class.joints.A3.inertia",
        "triangle inequality",
    ),
    (
        "inertia-five",
        "arms.kr20_class.joints.A3.inertia",
        [0.1] * 5,
        "scene.arms.kr20_class.joints.A3.inertia",
        "6 numbers",
    ),
    (
        "gear-ratio-zero",
        "arms.kr20_class.joints.A1.gear_ratio",
        0.0,
        "scene.arms.kr20_class.joints.A1.gear_ratio",
        "> 0",
    ),
    (
        "unknown-reducer",
        "arms.kr20_class.joints.A1.reducer.type",
        "planetary",
        "scene.arms.kr20_class.joints.A1.reducer.type",
        "cycloidal",
    ),
    (
        "limits-reversed",
        "arms.kr20_class.joints.A5.limits.position",
        [1.0, -1.0],
        "scene.arms.kr20_class.joints.A5.limits.position",
        "min must be below max",
    ),
    ("waypoint-outside", "robots.r1.waypoints.pick[4]", 3.0, "scene.robots.r1.waypoints.pick[4]", "position limits"),
    ("waypoint-short", "robots.r1.waypoints.pick", [0.0] * 5, "scene.robots.r1.waypoints.pick", "one angle per joint"),
    ("payload-above-rating", "robots.r1.payload.mass", 18.0, "scene.robots.r1.payload.mass", "rated payload"),
    ("unknown-arm", "robots.r1.arm", "kr21_class", "scene.robots.r1.arm", "kr20_class"),
    ("arm-and-pick-time", "robots.r1.pick_time", 5.0, "scene.robots.r1.pick_time", "not both"),
    ("cycle-unknown-pose", "robots.r1.cycle", ["home", "pick", "plcae"], "scene.robots.r1.cycle[2]", "place"),
    ("grip-not-in-cycle", "robots.r1.grip", "lift", "scene.robots.r1.grip", "not a pose of the cycle"),
    ("negative-dwell", "robots.r1.dwell.pick", -1.0, "scene.robots.r1.dwell.pick", "≥ 0"),
]


@pytest.mark.parametrize("path, value, where, phrase", [pytest.param(*b[1:], id=b[0]) for b in BAD])
def test_bad_arms_and_cycles_are_refused_at_their_key(path, value, where, phrase):
    data = armed_line()
    if path == "robots.r1.grip":
        data["robots"]["r1"]["cycle"] = ["home", "above_pick", "pick", "above_place", "place"]
    _apply(data, path, value)
    with pytest.raises(SceneError) as err:
        scene_from_mapping(data)
    message = str(err.value)
    assert message.startswith(where + ":"), message
    assert phrase in message and "\n" not in message


def test_a_cycle_beyond_the_momentary_peak_torque_is_refused():
    data = armed_line()
    data["arms"]["kr20_class"]["joints"]["A2"]["reducer"]["momentary_peak_torque"] = 50.0
    data["arms"]["kr20_class"]["joints"]["A2"]["reducer"]["repeated_peak_torque"] = 40.0
    with pytest.raises(SceneError, match=r"^scene\.robots\.r1: 'A2' — .*momentary peak torque"):
        twin.simulate(scene_from_mapping(data), duration=10.0)


# --- the line ----------------------------------------------------------------------------------------


def test_carrying_runs_from_the_grip_to_the_release_pose():
    # poses home, pick, place (0, 1, 2), 2 samples per move: dwell0, m0 m0, dwell1, m1 m1, dwell2, m2 m2, dwell0
    mask = robots.carrying_mask(3, grip=1, release=2, per_move=2)
    assert mask.astype(int).tolist() == [0, 0, 0, 0, 1, 1, 0, 0, 0, 0]
    wrapped = robots.carrying_mask(3, grip=2, release=0, per_move=1)  # held across the cycle's closing
    assert wrapped.astype(int).tolist() == [0, 0, 0, 0, 0, 1, 0]


@pytest.mark.parametrize("precision", PRECISIONS)
def test_the_arm_keeps_the_line_pace_and_heats_its_base(precision):
    layout, params, state = built(precision)
    fixed = jax.jit(fixed_terms, static_argnums=0)(layout, params)
    interval = float(params.part_spacing[0] / params.belts.setpoint[0])
    for robot, d in zip(layout.robot_arms, fixed.robots):
        assert float(d.demanded) == pytest.approx(2 * interval * 0.9, rel=AGREE[precision])  # two robots share
        assert float(d.cycle_time) == pytest.approx(float(d.demanded), rel=AGREE[precision])
        assert float(fixed.pick_time[robot.conveyor, robot.point]) == float(d.cycle_time)
    # the robots' heat is in the steady source, all of it: deposit conserves power
    heat = sum(float(d.heat) for d in fixed.robots)
    assert heat > 2 * 150.0  # standby and the motion
    bare = jax.jit(robots.heat_source, static_argnums=(0, 2))(layout, fixed.robots, state.T.dtype)
    assert float(jnp.sum(bare)) * layout.cell_volume == pytest.approx(heat, rel=AGREE[precision])


@pytest.mark.parametrize("precision", PRECISIONS)
def test_an_arm_too_slow_for_the_line_sets_its_throughput(precision):
    layout, params, state = built(precision, slow=True)
    fixed = jax.jit(fixed_terms, static_argnums=0)(layout, params)
    cycles = [float(d.cycle_time) for d in fixed.robots]
    assert all(c > float(d.demanded) * 1.5 for c, d in zip(cycles, fixed.robots))  # the limits cap it
    duration = 12.3 * cycles[0]
    result = twin.simulate(scene_from_mapping(_slow_data()), duration=duration, precision=precision)
    metrics = result.metrics
    # parts wait for it: r1, saturated from its first pick (the line's first exit), picks once per cycle
    first = metrics["by_conveyor"]["belt"]["first_exit_s"]
    assert metrics["robots"]["r1"]["picks"] == math.floor((duration - first) / cycles[0]) + 1
    # and the line, two robots alternating, runs at two parts per cycle (steady rate from exit times:
    # within one part of the count, 1 / (n_out − 2))
    rate = metrics["steady_throughput_parts_per_h"]
    assert rate == pytest.approx(2 * 3600.0 / cycles[0], rel=1.0 / (metrics["parts_out"] - 2))
    assert metrics["robots"]["r1"]["keeps_up"] is False


def _slow_data() -> dict:
    data = armed_line(damage_so_far=0.25)
    for joint in data["arms"]["kr20_class"]["joints"].values():
        joint["limits"] = {**joint["limits"], "speed": 0.02, "acceleration": 0.05}
    return data


@pytest.mark.parametrize("precision", PRECISIONS)
def test_a_hotter_base_shortens_reducer_life_by_the_halving_rule(precision):
    layout, params, state = built(precision)
    fixed = jax.jit(fixed_terms, static_argnums=0)(layout, params)
    robot, p, d = layout.robot_arms[0], params.arms[0], fixed.robots[0]
    cool = robots.joint_state(robot, p, d, jnp.full_like(state.T, 20.0))
    hot = robots.joint_state(robot, p, d, jnp.full_like(state.T, 60.0))
    moving = np.isfinite(np.asarray(cool.reducer_life_h))
    rise = np.asarray(hot.surface_T) - 60.0
    expected = 2.0 ** (-(60.0 + rise - 40.0) / 10.0)  # cool: below the 40 °C reference, undiminished
    ratio = np.asarray(hot.reducer_life_h)[moving] / np.asarray(cool.reducer_life_h)[moving]
    np.testing.assert_allclose(ratio, expected[moving], rtol=AGREE[precision] * 10)
    assert np.all(np.asarray(hot.life_h)[moving] < np.asarray(cool.life_h)[moving])  # the reducers set the life
    # members: Basquin's life scales as k_d^(−1/b) with Marin's factor (Shigley's fit rises slightly to ~250 °C)
    b = np.asarray(d.fatigue_exponent)
    marin = float(fatigue.temperature_factor(60.0) / fatigue.temperature_factor(20.0))
    hurt = np.isfinite(np.asarray(cool.fatigue_life_h))
    fatigue_ratio = np.asarray(hot.fatigue_life_h)[hurt] / np.asarray(cool.fatigue_life_h)[hurt]
    np.testing.assert_allclose(fatigue_ratio, (marin ** (-1.0 / b))[hurt], rtol=AGREE[precision] * 100)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_robot_sensors_and_metrics_agree_with_the_duty(precision):
    scene = scene_from_mapping(armed_line(damage_so_far=0.25))
    result = twin.simulate(scene, duration=600.0, precision=precision)
    layout, params, _ = built(precision)
    fixed = jax.jit(fixed_terms, static_argnums=0)(layout, params)
    d1, d2 = fixed.robots
    report = result.metrics["robots"]
    t, torque = result.sensors["torque"]
    np.testing.assert_allclose(torque, float(d1.rms_torque[1]), rtol=AGREE[precision])
    _, peak = result.sensors["peak"]
    np.testing.assert_allclose(peak, float(jnp.max(d1.peak_torque)) / 1e3, rtol=AGREE[precision])
    _, damage = result.sensors["damage"]
    assert damage[0] == pytest.approx(0.25, rel=AGREE[precision])
    assert np.all(np.diff(damage) >= 0)
    r2 = report["r2"]
    picks = r2["picks"]
    assert picks >= 2
    # this run's damage = picks × cycle / life, the life nearly constant (the base air barely warms);
    # summed from 0, so float32 keeps it though it is 1e-9 of the damage so far
    weakest = r2["joints"][r2["weakest_joint"]]
    assert weakest["damage_this_run"] == pytest.approx(picks * weakest["damage_per_cycle"], rel=1e-3)
    assert weakest["damage_this_run"] > 0
    assert damage[-1] == pytest.approx(0.25 + weakest["damage_this_run"], rel=AGREE[precision])
    _, left = result.sensors["left"]
    assert left[-1] * 24.0 == pytest.approx(weakest["remaining_life_h"], rel=1e-3)
    assert weakest["remaining_life_h"] == pytest.approx(weakest["life_h"] * (1 - weakest["damage"]), rel=1e-6)
    assert r2["keeps_up"] and not r2["warnings"]
    assert math.isfinite(report["r1"]["joints"]["A3"]["reducer_life_h"])


def test_the_default_scene_robots_are_arms_within_their_ratings():
    scene = twin.load_scene(ROOT / "scenes" / "gigafactory_cell.yaml")
    assert {r.arm for r in scene.robots.values()} == {"kr20_class"}
    arm = scene.arms["kr20_class"]
    assert len(arm.dh) == len(arm.joints) == 6
    part = scene.conveyors["main"].parts.mass
    for robot in scene.robots.values():
        assert part + robot.tool.mass <= arm.rated_payload
