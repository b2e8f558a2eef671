"""Parts on the conveyors: their kinematics, then the heat they exchange with the air they pass through.

Parts ride at the speed of the belt segment under them (twin.line.belts), stop at processing stations and
queue in front of busy ones (twin.line.stations). A part enters at the path start every `spacing` metres of
belt travel when there is room, rides to the pick station it is assigned to (the robots of a conveyor
take turns; without robots parts leave at the path end) and is removed there. Slots are fixed, so the
count is exact: entered = left + on the belt, always.

Each step first moves the parts (`advance`), which fixes, in continuous time, when each part's time on
the belt in this step began (the step start, or its entry) and ended (the step end, or its pick); then
`exchange_heat` lets each part exchange heat over exactly that interval. So temperature and cure at pick
are those at the interpolated pick time, and work in progress integrates exactly.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from twin.line import belts, stations
from twin.kernels import parts as part_physics
from twin.kernels import sampling
from twin.kernels.pytree import pytree_dataclass
from twin.model import Layout, Params, PartsState


@pytree_dataclass
class Moves:
    """What each part slot did this step, for the heat exchange and the records (all (c, n))."""

    active: Bool[Array, "c n"]  # a part was on the belt for some of the step
    since: Float[Array, "c n"]  # s: its time on the belt this step began (step start, or its entry)
    until: Float[Array, "c n"]  # s: and ended (step end, or its pick)
    s_air: Float[Array, "c n"]  # m: where it meets the air (its position at the step start, or its entry)
    picked: Bool[Array, "c n"]  # it left the conveyor this step
    pick_point: Int[Array, "c n"]  # pick point it left at (index into ConveyorLayout.pick_points)


@pytree_dataclass
class Exits:
    """The parts that left this step (mask `left`), for the per-part table (all (c, n))."""

    left: Bool[Array, "c n"]
    id: Int[Array, "c n"]
    t_in: Float[Array, "c n"]  # s
    t_out: Float[Array, "c n"]  # s
    pick_point: Int[Array, "c n"]  # pick point index
    T: Float[Array, "c n"]  # °C at pick
    alpha: Float[Array, "c n"]  # cure at pick


def positions(conveyor, s):
    """Points (n, d) at arc lengths s along the conveyor's polyline; smooth in s within a segment."""
    arc = jnp.asarray(conveyor.arc, s.dtype)
    return jnp.stack(
        [jnp.interp(s, arc, jnp.asarray(conveyor.vertices[:, d], s.dtype)) for d in range(conveyor.vertices.shape[1])],
        axis=1,
    )


def advance(layout: Layout, params: Params, parts: PartsState, travel, t, dt: float) -> tuple[PartsState, Moves]:
    """Move parts by their segment's belt travel this step (m, per segment) — held at stations and
    queued behind each other — pick those that reached their pick station, let new ones in."""
    moves = []
    for c, conveyor in enumerate(layout.conveyors):
        if conveyor.has_parts:
            parts, move = _advance_one(c, conveyor, params, parts, travel, t, dt)
        else:
            none = jnp.zeros_like(parts.alive[c])
            move = (none, jnp.full_like(parts.s[c], t), jnp.full_like(parts.s[c], t), parts.s[c], none,
                    parts.pick_point[c])
        moves.append(move)
    if not moves:  # no conveyors: (0, n) arrays
        none = jnp.zeros_like(parts.alive)
        return parts, Moves(none, parts.s, parts.s, parts.s, none, parts.pick_point)
    return parts, Moves(*(jnp.stack(column) for column in zip(*moves)))


def _advance_one(c: int, conveyor, params: Params, parts: PartsState, travel, t, dt: float):
    on_belt, s_old = parts.alive[c], parts.s[c]
    parts, free_since, ride = stations.serve_and_release(c, conveyor, params, parts, dt)
    riding = on_belt & ~parts.serving[c]
    free = jnp.where(riding, s_old + ride * belts.displacement(conveyor, s_old, travel), s_old)
    target = stations.gate(conveyor, parts.next_station[c], free, _pick_points(conveyor, parts, c))
    s = jnp.where(on_belt, stations.keep_gaps(target, s_old, on_belt, params.part_pitch[c]), s_old)
    early = dt * ride * jnp.clip((free - target) / jnp.where(free > s_old, free - s_old, 1.0), 0.0, 1.0)
    parts, fresh, early_fresh = _let_in(c, conveyor, params, parts.replace(s=parts.s.at[c].set(s)), on_belt, s,
                                        travel, t, dt)
    alive, s, early = on_belt | fresh, parts.s[c], jnp.where(fresh, early_fresh, early)
    parts = stations.arrive(c, conveyor, params, parts, free_since, early, _lead(conveyor, params, parts, c, travel, dt),
                            dt)

    # Exact by construction: a part not held back by the queue sits on its gate bit for bit (keep_gaps).
    pick_at = _pick_points(conveyor, parts, c)
    picked, when, parts = _pick(c, conveyor, params, parts, alive, s >= pick_at, t + dt - early, t + dt)
    parts = _record_exits(c, parts, picked, when)
    parts = parts.replace(alive=parts.alive.at[c].set(alive & ~picked))
    since = jnp.where(on_belt, t, parts.t_in[c])
    until = jnp.where(picked, when, t + dt)
    parts = parts.replace(wip=parts.wip.at[c].add(jnp.sum(jnp.where(alive, until - since, 0.0))))
    return parts, (alive, since, until, jnp.where(on_belt, s_old, s), picked, parts.pick_point[c])


def _lead(conveyor, params: Params, parts: PartsState, c: int, travel, dt: float):
    """s a queued part needs to close up one pitch to each processing station (padded to q)."""
    q = parts.starved.shape[1]
    at = jnp.asarray(np.pad(conveyor.station_at, (0, q - len(conveyor.station_at))), parts.s.dtype)
    speed = travel[belts.segment_of(conveyor, at)] / dt
    return params.part_pitch[c] / jnp.maximum(speed, jnp.finfo(parts.s.dtype).tiny)


def _pick_points(conveyor, parts: PartsState, c: int):
    """Arc length of the pick station each part on conveyor c goes to, m."""
    return jnp.asarray(np.asarray(conveyor.pick_points), parts.s.dtype)[parts.pick_point[c]]


def _pick(c: int, conveyor, params: Params, parts: PartsState, alive, at_station, arrival, end):
    """Robots take the parts waiting at their station once free; returns (picked, pick time, parts).

    A robot picks at the later of the part's arrival and the end of its previous pick (no later than
    `end`, the end of the step), and is then busy for its pick time.
    """
    station = parts.pick_point[c]
    done = parts.next_station[c] >= len(conveyor.station_names)
    when = jnp.maximum(arrival, parts.robot_free_at[c][station])
    picked = alive & done & at_station & (when <= end)
    mine = picked[:, None] & (station[:, None] == jnp.arange(parts.robot_free_at.shape[1])[None, :])
    busy_until = jnp.max(jnp.where(mine, (when + params.pick_time[c][station])[:, None], -jnp.inf), axis=0)
    free_at = jnp.where(jnp.any(mine, axis=0), busy_until, parts.robot_free_at[c])
    return picked, when, parts.replace(robot_free_at=parts.robot_free_at.at[c].set(free_at))


def _let_in(c: int, conveyor, params: Params, parts: PartsState, occupied, s, travel, t, dt: float):
    """A new part enters at the path start every `spacing` of infeed belt travel, when there is room.

    `occupied`: slots in use at the step start (a slot freed by a pick this step is reused only from the
    next step, so each slot holds one part per step); `s`: their positions at the step end. A part that
    would have ridden past its first gate (station or pick point) within the step waits there.
    Returns the parts, the mask of the slot that took a new part, and how long it has waited at its
    gate by the step end (s).
    """
    spacing, pitch = params.part_spacing[c], params.part_pitch[c]
    infeed = travel[conveyor.segments[0]]  # belt travel at the path start this step
    behind = jnp.min(jnp.where(occupied, s, jnp.inf))  # the last part on the belt
    # A queue backed up to the infeed parks its last part one pitch in, up to rounding of the pitch sums.
    room = behind >= pitch - stations.position_tolerance(s.dtype, conveyor.length)
    moved = parts.travel[c] + infeed
    enter = (moved >= spacing) & room & jnp.any(~occupied)  # never overwrite a part: a full belt waits
    # It entered `residual` of travel ago, but no further on than one pitch behind the last part.
    limit = jnp.maximum(jnp.minimum(spacing, behind - pitch), 0.0)
    residual = jnp.where(enter, jnp.clip(moved - spacing, 0.0, limit), 0.0)
    slot = jnp.argmin(occupied)  # first free slot; capacity exceeds what the belt can hold
    fresh = enter & (jnp.arange(occupied.shape[0]) == slot)
    station = parts.n_in[c] % len(conveyor.pick_points)
    first_gate = stations.station_positions(conveyor, s.dtype)[0] if conveyor.station_names else jnp.asarray(
        np.asarray(conveyor.pick_points), s.dtype)[station]
    at = jnp.minimum(residual, first_gate)
    per_metre = dt / jnp.where(infeed > 0, infeed, 1.0)  # s per metre of infeed travel this step
    waiting = jnp.minimum(moved, spacing)  # a blocked infeed holds its next part, it does not pile up
    parts = parts.replace(
        s=parts.s.at[c].set(jnp.where(fresh, at, s)),
        T=parts.T.at[c].set(jnp.where(fresh, params.part_T0[c], parts.T[c])),
        alpha=parts.alpha.at[c].set(jnp.where(fresh, 0.0, parts.alpha[c])),
        alive=parts.alive.at[c].set(occupied | fresh),
        id=parts.id.at[c].set(jnp.where(fresh, parts.n_in[c], parts.id[c])),
        t_in=parts.t_in.at[c].set(jnp.where(fresh, t + dt - residual * per_metre, parts.t_in[c])),
        pick_point=parts.pick_point.at[c].set(jnp.where(fresh, station, parts.pick_point[c])),
        next_station=parts.next_station.at[c].set(jnp.where(fresh, 0, parts.next_station[c])),
        serving=parts.serving.at[c].set(parts.serving[c] & ~fresh),
        travel=parts.travel.at[c].set(jnp.where(enter, residual, waiting)),
        n_in=parts.n_in.at[c].add(enter.astype(parts.n_in.dtype)),
    )
    return parts, fresh, (residual - at) * per_metre


def _record_exits(c: int, parts: PartsState, picked, when) -> PartsState:
    """Count the parts that left and keep the first and last time one left (interpolated in the step)."""
    first = jnp.min(jnp.where(picked, when, jnp.inf))
    last = jnp.max(jnp.where(picked, when, -jnp.inf))
    times = parts.exit_times[c]
    any_out = jnp.any(picked)
    return parts.replace(
        n_out=parts.n_out.at[c].add(jnp.sum(picked).astype(parts.n_out.dtype)),
        exit_times=parts.exit_times.at[c].set(jnp.stack([
            jnp.where(jnp.isnan(times[0]) & any_out, first, times[0]),
            jnp.where(any_out, last, times[1]),
        ])),
    )


def _record_picks(c: int, parts: PartsState, picked, station) -> PartsState:
    """Accumulate pick statistics and hold each station's last picked part values."""
    T, alpha = parts.T[c], parts.alpha[c]

    def stats(old, x):
        return jnp.stack([
            old[0] + jnp.sum(jnp.where(picked, x, 0.0)),
            jnp.minimum(old[1], jnp.min(jnp.where(picked, x, jnp.inf))),
            jnp.maximum(old[2], jnp.max(jnp.where(picked, x, -jnp.inf))),
        ])

    at_station = picked[:, None] & (station[:, None] == jnp.arange(parts.last_T.shape[1])[None, :])
    count = jnp.sum(at_station, axis=0)
    safe = jnp.maximum(count, 1)

    def held(old, x):
        mean = jnp.sum(jnp.where(at_station, x[:, None], 0.0), axis=0) / safe
        return jnp.where(count > 0, mean, old)

    return parts.replace(
        picked_T=parts.picked_T.at[c].set(stats(parts.picked_T[c], T)),
        picked_alpha=parts.picked_alpha.at[c].set(stats(parts.picked_alpha[c], alpha)),
        last_T=parts.last_T.at[c].set(held(parts.last_T[c], T)),
        last_alpha=parts.last_alpha.at[c].set(held(parts.last_alpha[c], alpha)),
    )


def exchange_heat(layout: Layout, params: Params, parts: PartsState, moves: Moves, T, dt: float):
    """Each part exchanges heat with its air cell over its time on the belt this step; record the picks.

    The air is the field at the step start, sampled where the part met it. Returns the parts, the heat
    they give the air as a source in W/m³ over the step (two-way coupling: what the parts lose, the air
    gains, exactly) and the `Exits` of this step.
    """
    q = jnp.zeros(layout.shape, T.dtype)
    exits = Exits(left=moves.picked, id=parts.id, t_in=parts.t_in, t_out=moves.until, pick_point=moves.pick_point,
                  T=parts.T, alpha=parts.alpha)
    if not layout.conveyors:
        return parts, q, exits
    new_T, new_alpha = [], []
    for c, conveyor in enumerate(layout.conveyors):
        if not conveyor.has_parts:
            new_T.append(parts.T[c])
            new_alpha.append(parts.alpha[c])
            continue
        idx, w = sampling.corner_weights(positions(conveyor, moves.s_air[c]), layout.spacing, layout.shape)
        heat_capacity = params.part_mass[c] * params.part_c_p[c]
        tau = heat_capacity / (params.part_h[c] * params.part_area[c])
        active, exposure = moves.active[c], jnp.maximum(moves.until[c] - moves.since[c], 0.0)
        T_old = parts.T[c]
        T_part = jnp.where(active, part_physics.exchange(T_old, sampling.gather(T, idx, w), tau, exposure), T_old)
        alpha = part_physics.cure(parts.alpha[c], 0.5 * (T_old + T_part), params.cure_A[c], params.cure_Ea[c],
                                  params.cure_n[c], exposure)
        new_alpha.append(jnp.where(active, alpha, parts.alpha[c]))
        new_T.append(T_part)
        heat = jnp.where(active, heat_capacity * (T_old - T_part), 0.0)  # J released to the air
        q = q + sampling.deposit(heat / (dt * layout.cell_volume), idx, w, layout.shape)
    parts = parts.replace(T=jnp.stack(new_T), alpha=jnp.stack(new_alpha))
    for c, conveyor in enumerate(layout.conveyors):
        if conveyor.has_parts:
            parts = _record_picks(c, parts, moves.picked[c], moves.pick_point[c])
    return parts, q, exits.replace(T=parts.T, alpha=parts.alpha)
