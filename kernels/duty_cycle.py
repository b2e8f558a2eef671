"""A robot's pick-and-place duty cycle in joint space: minimum-jerk moves through waypoints, dwells at
them, timed to the cycle the line demands and capped by the joints' speed and acceleration limits.

Each move from waypoint k to k+1 is the minimum-jerk (quintic) profile q = q₀ + Δ·(10s³ − 15s⁴ + 6s⁵),
s = t/T, at rest at both ends; its peak speed is 1.875·|Δ|/T and its peak acceleration (10/√3)·|Δ|/T²,
so the shortest move the limits allow is T_min = maxⱼ max(1.875·|Δⱼ|/v_maxⱼ, √((10/√3)·|Δⱼ|/a_maxⱼ)).
Every move is stretched by one factor, so that moves plus dwells fill the demanded cycle; where even
the shortest moves do not fit, the arm runs at its limits and its cycle is longer than demanded — the
line then waits for it (the cycle time is the pick point's service time).

Sampled at `per_move` midpoints per move and one sample per dwell (at rest), each with the time it
stands for, for the life integrals (twin.kernels.reducer) and the torque history (twin.kernels.arm).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp

PEAK_SPEED = 1.875  # max of d/ds (10s³ − 15s⁴ + 6s⁵), at s = ½
PEAK_ACCELERATION = 10.0 / math.sqrt(3.0)  # max |d²/ds²|, at s = ½ ∓ √3/6


class Samples(NamedTuple):
    q: jnp.ndarray  # (samples, joints) rad
    qd: jnp.ndarray  # rad/s
    qdd: jnp.ndarray  # rad/s²
    duration: jnp.ndarray  # (samples,) s each sample stands for
    move: jnp.ndarray  # (samples,) index of the move (dwells: the move they follow, −1 before the first)
    accelerating: jnp.ndarray  # (samples,) bool: the first or last quarter of a move (starts and stops)


def shortest_moves(waypoints, max_speed, max_acceleration):
    """(moves,) s: the shortest minimum-jerk time of each move within the joint limits."""
    delta = jnp.abs(jnp.diff(waypoints, axis=0))
    by_speed = PEAK_SPEED * delta / max_speed[None, :]
    squared = PEAK_ACCELERATION * delta / max_acceleration[None, :]
    moving = squared > 0  # a joint that stays put: time 0, and no infinite slope of √ in the gradient
    by_acceleration = jnp.where(moving, jnp.sqrt(jnp.where(moving, squared, 1.0)), 0.0)
    return jnp.max(jnp.maximum(by_speed, by_acceleration), axis=1)


def timing(waypoints, dwell, demanded_cycle, max_speed, max_acceleration):
    """(move durations (moves,) s, cycle time s): moves stretched to fill `demanded_cycle` with the dwells
    (`dwell` (waypoints,) s, at each waypoint), never shorter than the limits allow."""
    shortest = shortest_moves(waypoints, max_speed, max_acceleration)
    stretch = jnp.maximum((demanded_cycle - jnp.sum(dwell)) / jnp.sum(shortest), 1.0)
    moves = shortest * stretch
    return moves, jnp.sum(moves) + jnp.sum(dwell)


def _quintic(s):
    """(position, d/ds, d²/ds²) of the minimum-jerk blend at s ∈ [0, 1]."""
    return (
        s**3 * (10.0 - 15.0 * s + 6.0 * s**2),
        30.0 * s**2 * (1.0 - s) ** 2,
        60.0 * s * (1.0 - s) * (1.0 - 2.0 * s),
    )


def sample(waypoints, dwell, moves, per_move: int) -> Samples:
    """The cycle sampled: each dwell once (at rest at its waypoint), each move at `per_move` midpoints."""
    n_moves = moves.shape[0]
    s = (jnp.arange(per_move, dtype=moves.dtype) + 0.5) / per_move
    blend, rate, curvature = _quintic(s)
    delta = jnp.diff(waypoints, axis=0)  # (moves, joints)
    T = moves[:, None, None]
    q = waypoints[:-1, None, :] + delta[:, None, :] * blend[None, :, None]
    qd = delta[:, None, :] * rate[None, :, None] / T
    qdd = delta[:, None, :] * curvature[None, :, None] / T**2
    zero = jnp.zeros_like(waypoints)
    parts = {
        "q": [waypoints[:1]],
        "qd": [zero[:1]],
        "qdd": [zero[:1]],
        "duration": [dwell[:1]],
        "move": [jnp.full(1, -1, jnp.int32)],
        "accelerating": [jnp.zeros(1, bool)],
    }
    edge = (s < 0.25) | (s > 0.75)
    for k in range(n_moves):
        for key, value in (
            ("q", q[k]),
            ("qd", qd[k]),
            ("qdd", qdd[k]),
            ("duration", jnp.full(per_move, 1.0 / per_move, moves.dtype) * moves[k]),
            ("move", jnp.full(per_move, k, jnp.int32)),
            ("accelerating", edge),
        ):
            parts[key].append(value)
        for key, value in (
            ("q", waypoints[k + 1 : k + 2]),
            ("qd", zero[:1]),
            ("qdd", zero[:1]),
            ("duration", dwell[k + 1 : k + 2]),
            ("move", jnp.full(1, k, jnp.int32)),
            ("accelerating", jnp.zeros(1, bool)),
        ):
            parts[key].append(value)
    return Samples(**{key: jnp.concatenate(value) for key, value in parts.items()})
