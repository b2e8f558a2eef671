"""A PUMA 560 at pick-and-place (twin.kernels.robot_wear): a shorter cycle, a heavier payload or a hotter
base shortens the joints' life; life and damage have gradients in cycle time, payload and a waypoint that
match float64 central differences; a periodic history's count closes every loop."""

from __future__ import annotations

import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fixtures import puma560
from test_duty_cycle import DWELL, MAX_ACCELERATION, MAX_SPEED, WAYPOINTS

import twin
from twin import gradient
from twin import step as step_mod
from twin.kernels import duty_cycle, fatigue, reducer, robot_wear

ROOT = Path(__file__).resolve().parents[1]

GRAVITY = (0.0, 0.0, -9.81)
PER_MOVE = 16
CYCLE = 12.0  # s demanded by the line
PAYLOAD_KG = 4.0
# the sizes of a PUMA's joints (peak torques 60 N·m on the shoulder, 4 N·m on the wrist):
# cycloidal (RV-6E-type: T0, N0 output r/min, K 6000 h) on the main axes, strain-wave (CSF-type: Tr, nr
# input r/min, L10 7000 h) on the wrist; limits: average, repeated peak, momentary, max speed
REDUCERS = [
    ("cycloidal", 58.0, 15.0, 6000.0, 58.0, 117.0, 294.0, 100.0),
    ("cycloidal", 58.0, 15.0, 6000.0, 58.0, 117.0, 294.0, 100.0),
    ("cycloidal", 58.0, 15.0, 6000.0, 58.0, 117.0, 294.0, 100.0),
    ("strain_wave", 5.4, 2000.0, 7000.0, 7.8, 18.0, 35.0, 8500.0),
    ("strain_wave", 5.4, 2000.0, 7000.0, 7.8, 18.0, 35.0, 8500.0),
    ("strain_wave", 5.4, 2000.0, 7000.0, 7.8, 18.0, 35.0, 8500.0),
]
SECTION_MODULUS = np.array([2e-6, 1.5e-6, 5e-7, 5e-8, 1e-7, 2e-8])  # m³ at each member's critical section
STRESS_CONCENTRATION = np.full(6, 2.0)
ALUMINIUM_7075 = dict(fatigue_strength=1466e6, fatigue_exponent=-0.143, ultimate_strength=572e6, walker_gamma=0.5)


def _ratings():
    keys = ("rated_torque", "rated_speed", "rated_life_h", "average_torque_limit")
    keys += ("repeated_peak_torque", "momentary_peak_torque", "max_speed")
    return tuple(
        reducer.Rating(**{k: jnp.asarray(v) for k, v in zip(keys, values)}, kind=kind) for kind, *values in REDUCERS
    )


def _materials():
    return tuple(
        fatigue.Material(**{k: jnp.asarray(v) for k, v in ALUMINIUM_7075.items()}, mean_stress="goodman")
        for _ in range(6)
    )


def wear(cycle, payload_kg, base_T, waypoints) -> robot_wear.JointWear:
    """The joints' wear at a demanded cycle (s), payload (kg), hall temperature at the base (°C)."""
    arm = puma560(jnp.float64)
    dwell, vmax, amax = (jnp.asarray(x) for x in (DWELL, MAX_SPEED, MAX_ACCELERATION))
    moves, cycle_time = duty_cycle.timing(waypoints, dwell, cycle, vmax, amax)
    samples = duty_cycle.sample(waypoints, dwell, moves, PER_MOVE)
    carrying = (samples.move == 2) | (samples.move == 3)  # from the pick to the place
    payload = robot_wear.arm_mod.Payload(payload_kg, jnp.asarray([0.0, 0.0, 0.08]), jnp.eye(3) * 0.01 * payload_kg)
    torque = robot_wear.cycle_torques(arm, samples, jnp.asarray(GRAVITY), payload, carrying)
    temperature = jnp.full(6, 1.0) * base_T + 15.0  # the reducers run 15 K over the air
    return robot_wear.joint_wear(
        arm,
        _ratings(),
        _materials(),
        jnp.asarray(SECTION_MODULUS),
        jnp.asarray(STRESS_CONCENTRATION),
        samples,
        torque,
        cycle_time,
        temperature,
        temperature - 15.0,
        40.0,
        15.0,
        jnp.full(6, 0.2),
    )


WEAR = jax.jit(wear)  # one compile for every cycle, payload and temperature below


@functools.cache
def _wear(cycle=CYCLE, payload_kg=PAYLOAD_KG, base_T=25.0) -> robot_wear.JointWear:
    return WEAR(cycle, payload_kg, base_T, jnp.asarray(WAYPOINTS))


def test_the_nominal_cycle_is_plausible():
    w = _wear()
    assert np.all(np.isfinite(np.asarray(w.life_h))) and np.all(np.asarray(w.life_h) > 0)
    assert float(jnp.min(w.life_h)) > 1000.0  # a plausible arm at a plausible pace: years, not hours
    np.testing.assert_allclose(np.asarray(w.remaining_life_h), 0.8 * np.asarray(w.life_h), rtol=1e-15)


def test_a_shorter_cycle_means_larger_torques_and_shorter_life():
    slow, fast = _wear(cycle=16.0), _wear(cycle=9.0)
    assert float(jnp.max(jnp.abs(fast.torque))) > float(jnp.max(jnp.abs(slow.torque)))
    assert np.all(np.asarray(fast.reducer_life_h) < np.asarray(slow.reducer_life_h))
    assert float(jnp.min(fast.life_h)) < float(jnp.min(slow.life_h))


def test_a_heavier_payload_shortens_life():
    light, heavy = _wear(payload_kg=1.0), _wear(payload_kg=8.0)
    assert np.all(np.asarray(heavy.equivalent_torque)[1:3] > np.asarray(light.equivalent_torque)[1:3])
    assert float(jnp.min(heavy.life_h)) < float(jnp.min(light.life_h))
    assert np.all(np.asarray(heavy.damage_per_cycle)[1:3] > np.asarray(light.damage_per_cycle)[1:3])


def test_a_hotter_base_shortens_reducer_life():
    cool, hot = _wear(base_T=20.0), _wear(base_T=45.0)  # reducers at 35 °C (under the 40 °C reference) and 60 °C
    np.testing.assert_allclose(np.asarray(hot.reducer_life_h / cool.reducer_life_h), 2.0 ** (-20.0 / 15.0), rtol=1e-12)


@pytest.mark.slow  # 30 s: compiles the whole cycle's reverse pass
def test_life_and_damage_gradients_match_central_differences():
    """d(shortest life)/d(cycle time), d(reducer life)/d(payload), d(damage)/d(the pick pose's shoulder
    angle), by reverse mode, against float64 central differences at a 1e-5 relative step."""

    def outcomes(x):
        cycle, payload, shoulder = x[0], x[1], x[2]
        w = wear(cycle, payload, 25.0, jnp.asarray(WAYPOINTS).at[2, 1].set(shoulder))
        return jnp.stack([jnp.min(w.life_h), jnp.sum(w.reducer_life_h), jnp.sum(w.damage_per_cycle)])

    x0 = jnp.asarray([CYCLE, PAYLOAD_KG, WAYPOINTS[2, 1]])
    ad = np.diag(np.asarray(jax.jit(jax.jacrev(outcomes))(x0)))
    f = jax.jit(outcomes)
    for k in range(3):
        h = 1e-5 * abs(float(x0[k]))
        step = jnp.zeros(3).at[k].set(h)
        fd = (float(f(x0 + step)[k]) - float(f(x0 - step)[k])) / (2 * h)
        assert ad[k] == pytest.approx(fd, rel=1e-5) and ad[k] != 0.0, k


def test_a_periodic_count_closes_every_loop():
    """One period of a repeating history, counted from its maximum: only full cycles, and the same damage
    wherever the period was cut."""
    m = _materials()[0]
    rng = np.random.default_rng(3)
    period = 60e6 * np.sin(np.linspace(0, 2 * np.pi, 80, endpoint=False)) + 20e6 * rng.normal(size=80)
    base = float(robot_wear.damage_per_period(m, jnp.asarray(period)))
    for shift in (7, 31, 55):
        rolled = float(robot_wear.damage_per_period(m, jnp.asarray(np.roll(period, shift))))
        assert rolled == pytest.approx(base, rel=1e-13)


def test_the_default_duties_have_finite_gradients_in_every_parameter():
    """Joints that never turn (infinite lives and margins) and joints that stay put in a move (a zero
    distance under a square root) must not put NaN into any parameter's gradient, even with a zero
    cotangent on those outputs (a pullback has no symbolic zeros). Through the line's own pullback of
    the time-invariant terms (twin.gradient), which the gradient tests of the default scene share."""
    layout, params, _ = twin.build(twin.load_scene(ROOT / "scenes" / "gigafactory_cell.yaml"), jnp.float64)
    fixed = step_mod.fixed_terms_program(layout, params)
    cotangent = jax.tree.map(lambda x: jnp.where(jnp.isfinite(x), 1.0, 0.0).astype(x.dtype), fixed)
    grad = gradient._whole_gradient(layout, (), params, jax.tree.map(jnp.zeros_like, params), cotangent)
    bad = [
        jax.tree_util.keystr(path)
        for path, g in jax.tree_util.tree_leaves_with_path(grad)
        if not np.all(np.isfinite(np.asarray(g)))
    ]
    assert not bad
