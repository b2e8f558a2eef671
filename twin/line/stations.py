"""Processing stations and accumulation on a conveyor: service, blocking, queues with a minimum gap.

A part heading to station k stops at its position; if the station is free it is served for the
station's service time, then released once station k+1 has fewer than `buffer + 1` parts committed to
it (waiting, riding towards it or in service) — otherwise the station is blocked and holds it. Parts
behind keep a centre distance of at least one pitch (length + min gap), so queues form in the
accumulation zone in front of a busy station and clear when it frees.

Queueing is exact, not smoothed: positions are the belt travel capped by the station gate and by the
part ahead, a piecewise-linear function of the belt speeds, so gradients exist wherever no part
changes which limit binds. A service that ends within a step hands its overshoot to the next part
served there in the same step, and a part arriving mid-step starts service at its arrival, so cycles and
exit times are exact in continuous time, not whole numbers of steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from twin.model import ConveyorLayout, PartsState, Tallies

POSITION_ULPS = 16  # rounding allowance of a sum of a few arc positions, in units of eps·length


def position_tolerance(dtype, length: float):
    """m: how far apart two arc positions up to `length` (m) may be and still count as equal, in `dtype`.

    For comparisons that are not exact by construction (a queue's tail, the sum of many pitches).
    """
    return POSITION_ULPS * float(jnp.finfo(dtype).eps) * length


def station_positions(conveyor, dtype):
    """Arc length of each processing station and, past the last, +inf (no gate)."""
    return jnp.asarray(np.append(conveyor.station_at, np.inf), dtype)


def serve_and_release(conveyor: ConveyorLayout, parts: PartsState, tallies: Tallies, dt: float):
    """Advance service by dt and release the finished parts that have room downstream (one conveyor's
    parts and tallies, twin.model).

    A finished part leaves at the later of the end of its service and the moment room appeared
    downstream (at once if there was room at the step start, else when the part ahead left the next
    station this step), so releases, rides and blocked times are exact in continuous time, not whole
    steps. Returns the parts and tallies; per station (padded to q), how long before the step's end it became
    free (s): dt if it was empty all step, the time since its part left, 0 if it is still busy (a part
    arriving this step starts service no earlier than that); and per part the fraction of the step it
    may ride (1, or for a part released this step the time since it left).
    """
    K, q = len(conveyor.station_names), tallies.blocked.shape[0]
    if K == 0:
        return parts, tallies, jnp.zeros(q, parts.dwell.dtype), jnp.ones_like(parts.dwell)
    alive, serving, nxt = parts.alive, parts.serving, parts.next_station
    dwell = jnp.where(serving, parts.dwell - dt, parts.dwell)
    done = serving & (dwell <= 0.0)
    since_done = jnp.clip(-dwell / dt, 0.0, 1.0)  # fraction of the step since each part's service ended
    committed = jnp.sum(alive[:, None] & (nxt[:, None] == jnp.arange(K + 1, dtype=nxt.dtype)[None, :]), axis=0)
    release = jnp.zeros_like(done)
    ride = jnp.zeros_like(dwell)
    left = [jnp.zeros((), dwell.dtype)] * (K + 1)  # per station: fraction of the step since its part left
    before = committed  # counts before the station downstream released its part this step
    for k in reversed(range(K)):  # downstream first: a release frees room for the station before it
        if k == K - 1:
            may, room = True, 1.0
        else:
            limit = conveyor.buffers[k + 1]
            may = committed[k + 1] <= limit
            room = jnp.where(before[k + 1] <= limit, 1.0, left[k + 1])
        leaving = done & (nxt == k) & may
        ride = jnp.where(leaving, jnp.minimum(since_done, room), ride)
        left[k] = jnp.max(jnp.where(leaving, ride, 0.0))
        before = committed
        committed = committed.at[k + 1].add(jnp.sum(leaving)).at[k].add(-jnp.sum(leaving))
        release = release | leaving
    here = jnp.where(serving, nxt, q)  # index q is dropped: not at a station
    blocked = jnp.where(done, jnp.maximum(since_done - ride, 0.0) * dt, 0.0)  # finished, waiting for room
    parts = parts.replace(dwell=dwell, serving=serving & ~release, next_station=jnp.where(release, nxt + 1, nxt))
    tallies = tallies.replace(blocked=tallies.blocked + jnp.zeros(q, dwell.dtype).at[here].add(blocked, mode="drop"))
    was_busy = jnp.zeros(q, bool).at[here].set(True, mode="drop")
    free_for = dt * jnp.stack(left[:K] + [jnp.zeros((), dwell.dtype)] * (q - K))
    return parts, tallies, jnp.where(was_busy, free_for, dt), jnp.where(release, ride, 1.0)


def gate(conveyor, next_station, s_free, pick_at):
    """Positions capped at the station each part heads to: its next processing station, or once past
    the last one, the pick point of its robot (or the path end)."""
    K = len(conveyor.station_names)
    return jnp.minimum(
        s_free, jnp.where(next_station < K, station_positions(conveyor, s_free.dtype)[next_station], pick_at)
    )


def keep_gaps(target, s_old, alive, pitch):
    """Each part at most one pitch behind the part ahead (in the order they ride), else at `target`.

    With parts sorted front to back (rank i), the limit set by the parts ahead is min over j < i of
    (target_j + j·pitch) − i·pitch: a running minimum, exact for queues of any length. A part the
    queue does not hold back keeps its `target` bit for bit, so a part gated at a station sits exactly
    on the station's position, and `s >= at` tests are exact in any precision.
    """
    order = jnp.argsort(jnp.where(alive, -s_old, jnp.inf))
    rank = jnp.arange(target.shape[0], dtype=target.dtype)
    ranked = target[order]
    ahead = jnp.concatenate([jnp.full((1,), jnp.inf, ranked.dtype), (ranked + rank * pitch)[:-1]])
    capped = jnp.minimum(ranked, jax.lax.cummin(ahead) - rank * pitch)
    return jnp.zeros_like(target).at[order].set(capped)


def arrive(
    conveyor: ConveyorLayout, service_time, parts: PartsState, tallies: Tallies, free_since, early, lead, dt: float
) -> tuple[PartsState, Tallies]:
    """Parts that reached a free station start service there (for `service_time` s, per station);
    empty stations count starved time.

    early: s each part has been at its station's position by the end of the step (how far its belt
    travel overshot the gate); lead: s a follower needs to close up one pitch to each station (pitch
    over belt speed there). Service starts at the later of the part's arrival, the station freeing and,
    when the station's previous part left this step, that moment plus the lead (the follower queued one
    pitch behind cannot be there sooner). Starved time is the time each station stood empty, exactly.
    """
    K, q = len(conveyor.station_names), tallies.starved.shape[0]
    if K == 0:
        return parts, tallies
    alive, serving, nxt, s = parts.alive, parts.serving, parts.next_station, parts.s
    busy = jnp.zeros(q, bool).at[jnp.where(serving, nxt, q)].set(True, mode="drop")
    reached = alive & ~serving & (nxt < K) & (s >= station_positions(conveyor, s.dtype)[nxt])  # exact: see keep_gaps
    # The part that reaches a station is the front of its queue, so at most one starts per station.
    start = reached & ~busy[jnp.minimum(nxt, q - 1)]
    station = jnp.minimum(nxt, K - 1)
    free = jnp.where(free_since < dt, jnp.maximum(free_since - lead, 0.0), free_since)
    offset = jnp.minimum(early, free[station])  # s before the step end its service started
    started = jnp.zeros(q, dtype=s.dtype).at[jnp.where(start, nxt, q)].set(offset, mode="drop")
    empty = jnp.where(busy, 0.0, free_since - started)
    parts = parts.replace(serving=serving | start, dwell=jnp.where(start, service_time[station] - offset, parts.dwell))
    return parts, tallies.replace(starved=tallies.starved + jnp.where(jnp.arange(q) < K, empty, 0.0))
