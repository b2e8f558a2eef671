"""Parts on the conveyors: heat exchange with the air they pass through, and their kinematics.

Parts ride at the speed of the belt segment under them (twin.belts), stop at processing stations and
queue in front of busy ones (twin.stations). A part enters at the path start every `spacing` metres of
belt travel when there is room, rides to the pick station it is assigned to (the robots of a conveyor
take turns; without robots parts leave at the path end) and is removed there. Slots are fixed, so the
count is exact: entered = left + on the belt, always.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from twin import belts, stations
from twin.kernels import parts as part_physics
from twin.kernels import sampling
from twin.model import Layout, Params, PartsState


def positions(conveyor, s):
    """Points (n, d) at arc lengths s along the conveyor's polyline; smooth in s within a segment."""
    arc = jnp.asarray(conveyor.arc, s.dtype)
    return jnp.stack(
        [jnp.interp(s, arc, jnp.asarray(conveyor.vertices[:, d], s.dtype)) for d in range(conveyor.vertices.shape[1])],
        axis=1,
    )


def exchange_heat(layout: Layout, params: Params, parts: PartsState, T, dt: float):
    """Parts exchange heat with their air cell over dt (plus the time since they entered mid-step).

    Returns the updated parts and the heat they give the air as a source, W/m³ (two-way coupling:
    what the parts lose, the air gains, exactly).
    """
    q = jnp.zeros(layout.shape, T.dtype)
    if not layout.conveyors:
        return parts, q
    new_T, new_alpha = [], []
    for c, conveyor in enumerate(layout.conveyors):
        if not conveyor.has_parts:
            new_T.append(parts.T[c])
            new_alpha.append(parts.alpha[c])
            continue
        idx, w = sampling.corner_weights(positions(conveyor, parts.s[c]), layout.spacing, layout.shape)
        heat_capacity = params.part_mass[c] * params.part_c_p[c]
        tau = heat_capacity / (params.part_h[c] * params.part_area[c])
        T_old, alive = parts.T[c], parts.alive[c]
        T_new = jnp.where(alive, part_physics.exchange(T_old, sampling.gather(T, idx, w), tau, dt + parts.lag[c]),
                          T_old)
        alpha = part_physics.cure(parts.alpha[c], 0.5 * (T_old + T_new), params.cure_A[c], params.cure_Ea[c],
                                  params.cure_n[c], dt + parts.lag[c])
        new_alpha.append(jnp.where(alive, alpha, parts.alpha[c]))
        new_T.append(T_new)
        heat = jnp.where(alive, heat_capacity * (T_old - T_new), 0.0)  # J released to the air
        q = q + sampling.deposit(heat / (dt * layout.cell_volume), idx, w, layout.shape)
    updated = parts.replace(T=jnp.stack(new_T), alpha=jnp.stack(new_alpha), lag=jnp.zeros_like(parts.lag))
    return updated, q


def advance(layout: Layout, params: Params, parts: PartsState, travel, t, dt: float) -> PartsState:
    """Move parts by their segment's belt travel this step (m, per segment) — held at stations and
    queued behind each other — pick those that reached their pick station, let new ones in."""
    for c, conveyor in enumerate(layout.conveyors):
        if conveyor.has_parts:
            parts = _advance_one(c, conveyor, params, parts, travel, t, dt)
    return parts


def _advance_one(c: int, conveyor, params: Params, parts: PartsState, travel, t, dt: float) -> PartsState:
    parts, free_since, ride = stations.serve_and_release(c, conveyor, params, parts, dt)
    alive, s_old = parts.alive[c], parts.s[c]
    parts = parts.replace(wip=parts.wip.at[c].add(dt * jnp.sum(alive)))
    riding = alive & ~parts.serving[c]
    free = jnp.where(riding, s_old + ride * belts.displacement(conveyor, s_old, travel), s_old)
    pick_at = jnp.asarray(np.asarray(conveyor.stations), s_old.dtype)[parts.station[c]]
    target = stations.gate(conveyor, parts.next_station[c], free, pick_at)
    s = jnp.where(alive, stations.keep_gaps(target, s_old, alive, params.part_pitch[c]), s_old)
    early = dt * ride * jnp.clip((free - target) / jnp.where(free > s_old, free - s_old, 1.0), 0.0, 1.0)
    parts = stations.arrive(c, conveyor, params, parts.replace(s=parts.s.at[c].set(s)), free_since, early, dt)

    picked, when, parts = _pick(c, conveyor, params, parts, alive, s >= pick_at - 1e-9, t + dt - early, t + dt)
    parts = _record_picks(c, parts, picked)
    parts = _record_exits(c, parts, picked, when)
    return _let_in(c, conveyor, params, parts, alive & ~picked, s, travel, dt)


def _pick(c: int, conveyor, params: Params, parts: PartsState, alive, at_station, arrival, end):
    """Robots take the parts waiting at their station once free; returns (picked, pick time, parts).

    A robot picks at the later of the part's arrival and the end of its previous pick (no later than
    `end`, the end of the step), and is then busy for its pick time.
    """
    station = parts.station[c]
    done = parts.next_station[c] >= len(conveyor.station_names)
    when = jnp.maximum(arrival, parts.robot_free_at[c][station])
    picked = alive & done & at_station & (when <= end)
    mine = picked[:, None] & (station[:, None] == jnp.arange(parts.robot_free_at.shape[1])[None, :])
    busy_until = jnp.max(jnp.where(mine, (when + params.pick_time[c][station])[:, None], -jnp.inf), axis=0)
    free_at = jnp.where(jnp.any(mine, axis=0), busy_until, parts.robot_free_at[c])
    return picked, when, parts.replace(robot_free_at=parts.robot_free_at.at[c].set(free_at))


def _let_in(c: int, conveyor, params: Params, parts: PartsState, alive, s, travel, dt: float) -> PartsState:
    """A new part enters at the path start every `spacing` of infeed belt travel, when there is room."""
    spacing, pitch = params.part_spacing[c], params.part_pitch[c]
    infeed = travel[conveyor.segments[0]]  # belt travel at the path start this step
    behind = jnp.min(jnp.where(alive, s, jnp.inf))  # the last part on the belt
    room = behind >= pitch
    moved = parts.travel[c] + infeed
    enter = (moved >= spacing) & room & jnp.any(~alive)  # never overwrite a part: a full belt waits
    # It entered `residual` of travel ago, but no further on than one pitch behind the last part.
    residual = jnp.where(enter, jnp.clip(moved - spacing, 0.0, jnp.minimum(spacing, behind - pitch)), 0.0)
    slot = jnp.argmin(alive)  # first free slot; capacity exceeds what the belt can hold
    fresh = enter & (jnp.arange(alive.shape[0]) == slot)
    station = parts.n_in[c] % len(conveyor.stations)
    waiting = jnp.minimum(moved, spacing)  # a blocked infeed holds its next part, it does not pile up
    return parts.replace(
        s=parts.s.at[c].set(jnp.where(fresh, residual, s)),
        T=parts.T.at[c].set(jnp.where(fresh, params.part_T0[c], parts.T[c])),
        alpha=parts.alpha.at[c].set(jnp.where(fresh, 0.0, parts.alpha[c])),
        alive=parts.alive.at[c].set(alive | fresh),
        station=parts.station.at[c].set(jnp.where(fresh, station, parts.station[c])),
        next_station=parts.next_station.at[c].set(jnp.where(fresh, 0, parts.next_station[c])),
        serving=parts.serving.at[c].set(parts.serving[c] & ~fresh),
        lag=parts.lag.at[c].set(jnp.where(fresh, residual * dt / jnp.where(infeed > 0, infeed, 1.0), parts.lag[c])),
        travel=parts.travel.at[c].set(jnp.where(enter, residual, waiting)),
        n_in=parts.n_in.at[c].add(enter.astype(parts.n_in.dtype)),
    )


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


def _record_picks(c: int, parts: PartsState, picked) -> PartsState:
    """Accumulate pick statistics and hold each station's last picked part values."""
    T, alpha = parts.T[c], parts.alpha[c]

    def stats(old, x):
        return jnp.stack([
            old[0] + jnp.sum(jnp.where(picked, x, 0.0)),
            jnp.minimum(old[1], jnp.min(jnp.where(picked, x, jnp.inf))),
            jnp.maximum(old[2], jnp.max(jnp.where(picked, x, -jnp.inf))),
        ])

    at_station = picked[:, None] & (parts.station[c][:, None] == jnp.arange(parts.last_T.shape[1])[None, :])
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
