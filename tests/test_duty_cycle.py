"""Pick-and-place duty cycles (twin.kernels.duty_cycle): minimum-jerk moves whose peaks are the stated
constants, timed to the demanded cycle, never beyond the joint limits, with the line's cycle when the arm
cannot keep up; samples that add up to the cycle and pass through the waypoints."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from twin.kernels import duty_cycle as dc

# home, above the pick, at it, above the place, at it, home (rad, six joints)
WAYPOINTS = np.array(
    [
        [0.0, -0.5, 0.8, 0.0, 0.6, 0.0],
        [0.9, -0.2, 0.6, 0.1, 0.9, 0.3],
        [0.9, 0.1, 0.5, 0.1, 1.2, 0.3],
        [-0.8, -0.2, 0.6, -0.1, 0.9, -0.4],
        [-0.8, 0.1, 0.5, -0.1, 1.2, -0.4],
        [0.0, -0.5, 0.8, 0.0, 0.6, 0.0],
    ]
)
DWELL = np.array([0.0, 0.0, 0.4, 0.0, 0.3, 0.5])  # s: grip, release, wait at home
MAX_SPEED = np.array([2.5, 2.5, 3.0, 5.0, 5.0, 7.0])  # rad/s
MAX_ACCELERATION = np.array([8.0, 8.0, 10.0, 20.0, 20.0, 30.0])  # rad/s²


def _args():
    return tuple(jnp.asarray(x) for x in (WAYPOINTS, DWELL)), jnp.asarray(MAX_SPEED), jnp.asarray(MAX_ACCELERATION)


def test_the_blend_and_its_peaks():
    s = jnp.linspace(0.0, 1.0, 200_001)
    blend, rate, curvature = dc._quintic(s)
    assert float(blend[0]) == 0.0 and float(blend[-1]) == 1.0
    assert float(jnp.max(rate)) == pytest.approx(dc.PEAK_SPEED, rel=1e-9)
    assert float(jnp.max(jnp.abs(curvature))) == pytest.approx(dc.PEAK_ACCELERATION, rel=1e-9)
    for x in np.random.default_rng(0).uniform(0, 1, 20):
        d1 = jax.grad(lambda s: dc._quintic(s)[0])(x)
        d2 = jax.grad(lambda s: dc._quintic(s)[1])(x)
        assert float(d1) == pytest.approx(float(dc._quintic(x)[1]), rel=1e-12)
        assert float(d2) == pytest.approx(float(dc._quintic(x)[2]), rel=1e-12, abs=1e-12)


def test_the_shortest_moves_reach_a_limit_and_never_pass_one():
    (waypoints, _), vmax, amax = _args()
    shortest = dc.shortest_moves(waypoints, vmax, amax)
    s = jnp.linspace(0.0, 1.0, 20_001)
    _, rate, curvature = dc._quintic(s)
    for k, T in enumerate(np.asarray(shortest)):
        delta = np.abs(WAYPOINTS[k + 1] - WAYPOINTS[k])
        speed = delta[:, None] * np.asarray(rate)[None, :] / T
        acceleration = delta[:, None] * np.abs(np.asarray(curvature))[None, :] / T**2
        usage = np.maximum(speed.max(axis=1) / MAX_SPEED, acceleration.max(axis=1) / MAX_ACCELERATION)
        assert np.max(usage) == pytest.approx(1.0, rel=1e-6)  # the limiting joint at its limit
        assert np.all(usage <= 1.0 + 1e-9)


def test_cycle_is_the_demanded_one_when_it_fits_and_the_arms_own_when_not():
    (waypoints, dwell), vmax, amax = _args()
    fastest = float(jnp.sum(dc.shortest_moves(waypoints, vmax, amax)) + jnp.sum(dwell))

    def cycle(demanded):
        return dc.timing(waypoints, dwell, demanded, vmax, amax)[1]

    slack = 1.5 * fastest
    assert float(cycle(slack)) == pytest.approx(slack, rel=1e-14)
    assert float(jax.grad(cycle)(slack)) == pytest.approx(1.0, rel=1e-14)
    assert float(cycle(0.5 * fastest)) == pytest.approx(fastest, rel=1e-14)  # too slow for the line
    assert float(jax.grad(cycle)(0.5 * fastest)) == 0.0


def test_samples_add_up_to_the_cycle_and_pass_through_the_waypoints():
    (waypoints, dwell), vmax, amax = _args()
    moves, cycle = dc.timing(waypoints, dwell, 12.0, vmax, amax)
    per_move = 64
    samples = dc.sample(waypoints, dwell, moves, per_move)
    assert samples.q.shape == (1 + 5 * (per_move + 1), 6)
    assert float(jnp.sum(samples.duration)) == pytest.approx(float(cycle), rel=1e-14)
    at_rest = np.flatnonzero(np.all(np.asarray(samples.qd) == 0.0, axis=1))
    np.testing.assert_array_equal(np.asarray(samples.q)[at_rest], WAYPOINTS)
    for k in range(5):  # the speed integrates to the move (midpoint rule: error ~ 1/per_move²)
        mine = np.asarray(samples.move) == k
        travelled = np.sum(np.asarray(samples.qd)[mine] * np.asarray(samples.duration)[mine, None], axis=0)
        np.testing.assert_allclose(travelled, WAYPOINTS[k + 1] - WAYPOINTS[k], rtol=0, atol=1e-3)
    assert np.any(np.asarray(samples.accelerating)) and not np.all(np.asarray(samples.accelerating))
