"""Parts on the conveyors: their kinematics, then the heat they exchange with the air they pass through.

Parts ride at the speed of the belt segment under them (twin.line.belts), stop at processing stations and
queue in front of busy ones (twin.line.stations). A part enters at the path start every `spacing` metres of
belt travel when there is room, rides to the pick point it is assigned to and is picked there
(twin.line.picking). Slots are fixed, so the
count is exact: entered = left + on the belt, always.

Each step first moves the parts (`advance`), which fixes, in continuous time, when each part's time on
the belt in this step began (the step start, or its entry) and ended (the step end, or its pick); then
`exchange_heat` lets each part exchange heat over exactly that interval. So temperature and cure at pick
are those at the interpolated pick time, and work in progress integrates exactly.

Each conveyor is stepped on its own slice of the state (`take`), and the slices are stacked back: the
functions below take and return one conveyor's parts and tallies, never an index into all of them.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from twin.kernels import parts as part_physics
from twin.kernels import sampling
from twin.kernels.pytree import pytree_dataclass, stack, take
from twin.line import belts, picking, stations
from twin.model import ConveyorLayout, Layout, Params, PartsState, Tallies


@pytree_dataclass
class Moves:
    """What each part slot did this step, for the heat exchange and the records (all (*c, n))."""

    active: Bool[Array, "*c n"]  # a part was on the belt for some of the step
    since: Float[Array, "*c n"]  # s: its time on the belt this step began (step start, or its entry)
    until: Float[Array, "*c n"]  # s: and ended (step end, or its pick)
    s_air: Float[Array, "*c n"]  # m: where it meets the air (its position at the step start, or its entry)
    picked: Bool[Array, "*c n"]  # it left the conveyor this step
    pick_point: Int[Array, "*c n"]  # pick point it left at (index into ConveyorLayout.pick_points)


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


@pytree_dataclass
class ConveyorParams:
    """One conveyor's numbers for its parts, stations and robots (a slice of `Params`; units there)."""

    spacing: Float[Array, ""]
    mass: Float[Array, ""]
    c_p: Float[Array, ""]
    area: Float[Array, ""]
    h: Float[Array, ""]
    T0: Float[Array, ""]
    cure_A: Float[Array, ""]
    cure_Ea: Float[Array, ""]
    cure_n: Float[Array, ""]
    pitch: Float[Array, ""]
    service_time: Float[Array, " q"]
    pick_time: Float[Array, " r"]


def conveyor_params(params: Params, c: int) -> ConveyorParams:
    return ConveyorParams(
        spacing=params.part_spacing[c],
        mass=params.part_mass[c],
        c_p=params.part_c_p[c],
        area=params.part_area[c],
        h=params.part_h[c],
        T0=params.part_T0[c],
        cure_A=params.cure_A[c],
        cure_Ea=params.cure_Ea[c],
        cure_n=params.cure_n[c],
        pitch=params.part_pitch[c],
        service_time=params.service_time[c],
        pick_time=params.pick_time[c],
    )


def positions(conveyor: ConveyorLayout, s):
    """Points (n, d) at arc lengths s along the conveyor's polyline; smooth in s within a segment."""
    arc = jnp.asarray(conveyor.arc, s.dtype)
    return jnp.stack(
        [jnp.interp(s, arc, jnp.asarray(conveyor.vertices[:, d], s.dtype)) for d in range(conveyor.vertices.shape[1])],
        axis=1,
    )


def advance(layout: Layout, params: Params, parts: PartsState, tallies: Tallies, travel, t, dt: float):
    """Move parts by their segment's belt travel this step (m, per segment) — held at stations and
    queued behind each other — pick those that reached their pick point, let new ones in. Returns the
    parts, the tallies and the `Moves`."""
    if not layout.conveyors:  # (0, n) arrays
        none = jnp.zeros_like(parts.alive)
        return parts, tallies, Moves(none, parts.s, parts.s, parts.s, none, parts.pick_point)
    stepped = []
    for c, conveyor in enumerate(layout.conveyors):
        one, kept = take(parts, c), take(tallies, c)
        if conveyor.has_parts:
            stepped.append(_advance_one(conveyor, conveyor_params(params, c), one, kept, travel, t, dt))
        else:
            none = jnp.zeros_like(one.alive)
            t_all = jnp.full_like(one.s, t)
            stepped.append((one, kept, Moves(none, t_all, t_all, one.s, none, one.pick_point)))
    parts, tallies, moves = (stack(column) for column in zip(*stepped))
    return parts, tallies, moves


def _advance_one(
    conveyor: ConveyorLayout, cp: ConveyorParams, parts: PartsState, tallies: Tallies, travel, t, dt: float
):
    on_belt, s_old = parts.alive, parts.s
    parts, tallies, free_since, ride = stations.serve_and_release(conveyor, parts, tallies, dt)
    riding = on_belt & ~parts.serving
    free = jnp.where(riding, s_old + ride * belts.displacement(conveyor, s_old, travel), s_old)
    target = stations.gate(conveyor, parts.next_station, free, picking.pick_positions(conveyor, parts))
    s = jnp.where(on_belt, stations.keep_gaps(target, s_old, on_belt, cp.pitch), s_old)
    early = dt * ride * jnp.clip((free - target) / jnp.where(free > s_old, free - s_old, 1.0), 0.0, 1.0)
    parts, tallies, fresh, early_fresh = _let_in(conveyor, cp, parts.replace(s=s), tallies, on_belt, travel, t, dt)
    alive, s, early = on_belt | fresh, parts.s, jnp.where(fresh, early_fresh, early)
    lead = _lead(conveyor, cp, travel, tallies.starved.shape[0], s.dtype, dt)
    parts, tallies = stations.arrive(conveyor, cp.service_time, parts, tallies, free_since, early, lead, dt)

    # Exact by construction: a part not held back by the queue sits on its gate bit for bit (keep_gaps).
    at_point = s >= picking.pick_positions(conveyor, parts)
    picked, when, parts = picking.pick(conveyor, cp.pick_time, parts, alive, at_point, t + dt - early, t + dt)
    tallies = picking.record_exits(tallies, picked, when)
    parts = parts.replace(alive=alive & ~picked)
    since = jnp.where(on_belt, t, parts.t_in)
    until = jnp.where(picked, when, t + dt)
    tallies = tallies.replace(wip=tallies.wip + jnp.sum(jnp.where(alive, until - since, 0.0)))
    return parts, tallies, Moves(alive, since, until, jnp.where(on_belt, s_old, s), picked, parts.pick_point)


def _lead(conveyor: ConveyorLayout, cp: ConveyorParams, travel, q: int, dtype, dt: float):
    """s a queued part needs to close up one pitch to each processing station (padded to q)."""
    at = jnp.asarray(np.pad(conveyor.station_at, (0, q - len(conveyor.station_at))), dtype)
    speed = travel[belts.segment_of(conveyor, at)] / dt
    return cp.pitch / jnp.maximum(speed, jnp.finfo(dtype).tiny)


def _let_in(
    conveyor: ConveyorLayout, cp: ConveyorParams, parts: PartsState, tallies: Tallies, occupied, travel, t, dt: float
):
    """A new part enters at the path start every `spacing` of infeed belt travel, when there is room.

    `occupied`: slots in use at the step start (a slot freed by a pick this step is reused only from the
    next step, so each slot holds one part per step); `parts.s`: their positions at the step end. A part
    that would have ridden past its first gate (station or pick point) within the step waits there.
    Returns the parts, the tallies, the mask of the slot that took a new part, and how long it has
    waited at its gate by the step end (s).
    """
    s, spacing, pitch = parts.s, cp.spacing, cp.pitch
    infeed = travel[conveyor.segments[0]]  # belt travel at the path start this step
    behind = jnp.min(jnp.where(occupied, s, jnp.inf))  # the last part on the belt
    # A queue backed up to the infeed parks its last part one pitch in, up to rounding of the pitch sums.
    room = behind >= pitch - stations.position_tolerance(s.dtype, conveyor.length)
    moved = parts.travel + infeed
    enter = (moved >= spacing) & room & jnp.any(~occupied)  # never overwrite a part: a full belt waits
    # It entered `residual` of travel ago, but no further on than one pitch behind the last part.
    limit = jnp.maximum(jnp.minimum(spacing, behind - pitch), 0.0)
    residual = jnp.where(enter, jnp.clip(moved - spacing, 0.0, limit), 0.0)
    slot = jnp.argmin(occupied)  # first free slot; capacity exceeds what the belt can hold
    fresh = enter & (jnp.arange(occupied.shape[0]) == slot)
    point = picking.assigned(conveyor, tallies.n_in)
    first_gate = (
        stations.station_positions(conveyor, s.dtype)[0]
        if conveyor.station_names
        else jnp.asarray(np.asarray(conveyor.pick_points), s.dtype)[point]
    )
    at = jnp.minimum(residual, first_gate)
    per_metre = dt / jnp.where(infeed > 0, infeed, 1.0)  # s per metre of infeed travel this step
    waiting = jnp.minimum(moved, spacing)  # a blocked infeed holds its next part, it does not pile up
    parts = parts.replace(
        s=jnp.where(fresh, at, s),
        T=jnp.where(fresh, cp.T0, parts.T),
        alpha=jnp.where(fresh, 0.0, parts.alpha),
        alive=occupied | fresh,
        id=jnp.where(fresh, tallies.n_in, parts.id),
        t_in=jnp.where(fresh, t + dt - residual * per_metre, parts.t_in),
        pick_point=jnp.where(fresh, point, parts.pick_point),
        next_station=jnp.where(fresh, 0, parts.next_station),
        serving=parts.serving & ~fresh,
        travel=jnp.where(enter, residual, waiting),
    )
    tallies = tallies.replace(n_in=tallies.n_in + enter.astype(tallies.n_in.dtype))
    return parts, tallies, fresh, (residual - at) * per_metre


def exchange_heat(layout: Layout, params: Params, parts: PartsState, tallies: Tallies, moves: Moves, T, dt: float):
    """Each part exchanges heat with its air cell over its time on the belt this step; record the picks.

    The air is the field at the step start, sampled where the part met it. Returns the parts, the
    tallies, the heat they give the air as a source in W/m³ over the step (two-way coupling: what the
    parts lose, the air gains, exactly) and the `Exits` of this step.
    """
    q = jnp.zeros(layout.shape, T.dtype)
    exits = Exits(
        left=moves.picked,
        id=parts.id,
        t_in=parts.t_in,
        t_out=moves.until,
        pick_point=moves.pick_point,
        T=parts.T,
        alpha=parts.alpha,
    )
    if not layout.conveyors:
        return parts, tallies, q, exits
    exchanged = []
    for c, conveyor in enumerate(layout.conveyors):
        one, kept, moved = take(parts, c), take(tallies, c), take(moves, c)
        if conveyor.has_parts:
            one, heat = _exchange_one(layout, conveyor, conveyor_params(params, c), one, moved, T, dt)
            q = q + heat
            kept = picking.record_picks(kept, one.T, one.alpha, moved.picked, moved.pick_point)
        exchanged.append((one, kept))
    parts, tallies = (stack(column) for column in zip(*exchanged))
    return parts, tallies, q, exits.replace(T=parts.T, alpha=parts.alpha)


def _exchange_one(
    layout: Layout, conveyor: ConveyorLayout, cp: ConveyorParams, parts: PartsState, moves: Moves, T, dt: float
):
    """One conveyor's parts after exchanging heat with the air T (°C) and curing over the step, and the
    heat they gave the air as W/m³ over the step."""
    idx, w = sampling.corner_weights(positions(conveyor, moves.s_air), layout.spacing, layout.shape)
    heat_capacity = cp.mass * cp.c_p
    tau = heat_capacity / (cp.h * cp.area)
    active, exposure = moves.active, jnp.maximum(moves.until - moves.since, 0.0)
    T_old = parts.T
    T_part = jnp.where(active, part_physics.exchange(T_old, sampling.gather(T, idx, w), tau, exposure), T_old)
    alpha = part_physics.cure(parts.alpha, 0.5 * (T_old + T_part), cp.cure_A, cp.cure_Ea, cp.cure_n, exposure)
    heat = jnp.where(active, heat_capacity * (T_old - T_part), 0.0)  # J released to the air
    source = sampling.deposit(heat / (dt * layout.cell_volume), idx, w, layout.shape)
    return parts.replace(T=T_part, alpha=jnp.where(active, alpha, parts.alpha)), source
