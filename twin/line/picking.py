"""Robots pick parts at their pick points: which part goes to which robot, when a robot takes it, and
what is recorded when it leaves.

The robots of a conveyor take its parts in turn (part i goes to pick point i mod r, so two robots
alternate); without robots a conveyor's parts leave at its path end, one pick point with no pick time.
A robot picks a part at the later of the part's arrival at its pick point and the end of the robot's
previous pick, and is then busy for its pick time; parts that arrive meanwhile wait there and queue
behind (twin.line.stations keeps their gaps). Every function takes and returns one conveyor's slice of
the parts and tallies (twin.model).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from twin.model import ConveyorLayout, PartsState, Tallies


def assigned(conveyor: ConveyorLayout, n_in):
    """The pick point (index into `conveyor.pick_points`) of the part entering as number `n_in`."""
    return n_in % len(conveyor.pick_points)


def pick_positions(conveyor: ConveyorLayout, parts: PartsState):
    """Arc length of the pick point each part goes to, m (n,)."""
    return jnp.asarray(np.asarray(conveyor.pick_points), parts.s.dtype)[parts.pick_point]


def pick(conveyor: ConveyorLayout, pick_time, parts: PartsState, alive, at_point, arrival, end):
    """Robots take the parts waiting at their pick point once free; returns (picked, pick time, parts).

    pick_time: s each robot is busy per part (r,); at_point: the parts at their pick point by the end
    of the step; arrival: s when each got there; end: s, the step's end (no pick later than that).
    Only parts done with every processing station are picked.
    """
    done = parts.next_station >= len(conveyor.station_names)
    when = jnp.maximum(arrival, parts.robot_free_at[parts.pick_point])
    picked = alive & done & at_point & (when <= end)
    mine = _at_each(picked, parts.pick_point, parts.robot_free_at.shape[0])
    busy_until = jnp.max(jnp.where(mine, (when + pick_time[parts.pick_point])[:, None], -jnp.inf), axis=0)
    free_at = jnp.where(jnp.any(mine, axis=0), busy_until, parts.robot_free_at)
    return picked, when, parts.replace(robot_free_at=free_at)


def record_exits(tallies: Tallies, picked, when) -> Tallies:
    """Count the parts that left and keep the first and last time one left (interpolated in the step)."""
    first = jnp.min(jnp.where(picked, when, jnp.inf))
    last = jnp.max(jnp.where(picked, when, -jnp.inf))
    times = tallies.exit_times
    any_out = jnp.any(picked)
    return tallies.replace(
        n_out=tallies.n_out + jnp.sum(picked).astype(tallies.n_out.dtype),
        exit_times=jnp.stack(
            [
                jnp.where(jnp.isnan(times[0]) & any_out, first, times[0]),
                jnp.where(any_out, last, times[1]),
            ]
        ),
    )


def steady_throughput(tallies: Tallies):
    """Parts/s leaving each conveyor between its first and last exit, (n_out − 1)/(last − first); NaN
    where fewer than two have left.

    The smooth throughput: exit times are interpolated within the step, so it moves continuously with
    belt speeds, spacings and service times, and where the exits are regular (a bottleneck's cycle,
    a steady infeed) a new exit at the run's end leaves it unchanged. A count over a fixed time does
    neither: it steps each time an exit crosses the end of the run.
    """
    first, last = tallies.exit_times[..., 0], tallies.exit_times[..., 1]
    defined = (tallies.n_out >= 2) & (last > first)
    span = jnp.where(defined, last - first, 1.0)  # both branches finite: no NaN in the gradient
    rate = (tallies.n_out - 1).astype(span.dtype) / span
    return jnp.where(defined, rate, jnp.nan)


def record_picks(tallies: Tallies, T, alpha, picked, pick_point) -> Tallies:
    """Accumulate the statistics of the parts picked this step (temperature T °C, cure alpha, at pick)
    and hold each pick point's last picked part values (the mean when one point picked several)."""

    def stats(old, x):
        return jnp.stack(
            [
                old[0] + jnp.sum(jnp.where(picked, x, 0.0)),
                jnp.minimum(old[1], jnp.min(jnp.where(picked, x, jnp.inf))),
                jnp.maximum(old[2], jnp.max(jnp.where(picked, x, -jnp.inf))),
            ]
        )

    at_point = _at_each(picked, pick_point, tallies.last_T.shape[0])
    count = jnp.sum(at_point, axis=0)
    safe = jnp.maximum(count, 1).astype(T.dtype)

    def held(old, x):
        mean = jnp.sum(jnp.where(at_point, x[:, None], 0.0), axis=0) / safe
        return jnp.where(count > 0, mean, old)

    return tallies.replace(
        picked_T=stats(tallies.picked_T, T),
        picked_alpha=stats(tallies.picked_alpha, alpha),
        last_T=held(tallies.last_T, T),
        last_alpha=held(tallies.last_alpha, alpha),
        picks=tallies.picks + count.astype(tallies.picks.dtype),
    )


def _at_each(mask, pick_point, r: int):
    """(n, r): part i is in `mask` and goes to pick point j."""
    return mask[:, None] & (pick_point[:, None] == jnp.arange(r, dtype=pick_point.dtype)[None, :])
