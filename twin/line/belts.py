"""Belt segments in the line: the parts they carry load them, and their motors and drag heat the air.

Within one thermal step the belt mechanics take `n_sub` substeps (they settle in a fraction of a second);
the load is the parts' mass on each segment at the start of the step, a part that spans a transfer
shared by the segments in proportion to its length on each, plus a correction for the step before: a
part that entered within it loads the next step for the time it already rode, and one picked within it
unloads the next for the time it was counted but gone (`presence_correction`). So the time integral of
the load is exact, and the load — and the motors' energy — moves continuously with the parts' positions
and entry and pick times (and so with spacing and service times), not by whole parts and whole steps.

The carrying rollers' bearings use their life at the ISO 281 rate of each substep's speed and load in
the air along the segment (twin.kernels.bearing.life_use_rate); the life used adds to the drag
(`worn`), so a worn segment draws more power and warms its air a little more.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from twin.kernels import bearing, sampling
from twin.kernels import belt as belt_physics
from twin.model import BeltState, Layout, Params, PartsState


def _local_segment(conveyor, s):
    """Position in conveyor.segments of the segment under each arc position s (m)."""
    return jnp.searchsorted(jnp.asarray(conveyor.segment_ends[:-1], s.dtype), s, side="right")


def segment_of(conveyor, s):
    """Index into Layout.segments of the segment under each arc position s (m) on `conveyor`."""
    return jnp.asarray(conveyor.segments, jnp.int32)[_local_segment(conveyor, s)]


def displacement(conveyor, s, travel):
    """How far parts at s (m) move this step, given each segment's belt travel (m, per Layout segment).

    A part that reaches a transfer spends the rest of the step on the next belt (the part of the step
    left is the part of its own belt's travel not used), so parts keep their order across transfers.
    Assumes a belt travels less than a segment length per step.
    """
    local = _local_segment(conveyor, s)
    index = jnp.asarray(conveyor.segments, jnp.int32)
    here = travel[index[local]]
    after = travel[index[jnp.minimum(local + 1, len(conveyor.segments) - 1)]]
    to_end = jnp.asarray(conveyor.segment_ends, s.dtype)[local] - s
    crosses = (here > to_end) & (local < len(conveyor.segments) - 1)
    left = 1.0 - to_end / jnp.where(here > 0, here, 1.0)
    return jnp.where(crosses, to_end + left * after, here)


def segment_loads(layout: Layout, params: Params, parts: PartsState, dtype) -> jnp.ndarray:
    """Mass of the parts on each segment, kg, shape (g,): each part's mass split over the segments by the
    share of its length (centred on its position, within the path) that lies on each."""
    loads = []
    for c, conveyor in enumerate(layout.conveyors):
        if not conveyor.has_parts:
            loads.append(jnp.zeros(len(conveyor.segments), dtype))
            continue
        mass = jnp.where(parts.alive[c], params.part_mass[c], 0.0)
        loads.append(mass @ _shares(conveyor, parts.s[c], params.part_length[c]))
    return jnp.concatenate(loads) if loads else jnp.zeros(0, dtype)


def presence_correction(layout: Layout, params: Params, alive_before, parts: PartsState, moves, dt: float):
    """kg per segment for the next step's load: each part's time on the belt this step (`moves`) less
    the full step the load at its start counted it for (`alive_before`), over dt, times its mass, at
    its position at the step end (where it was picked, or where it entered)."""
    out = []
    for c, conveyor in enumerate(layout.conveyors):
        if not conveyor.has_parts:
            out.append(jnp.zeros(len(conveyor.segments), parts.s.dtype))
            continue
        present = jnp.where(moves.active[c], moves.until[c] - moves.since[c], 0.0)
        missed = (present - jnp.where(alive_before[c], dt, 0.0)) / dt
        out.append((params.part_mass[c] * missed) @ _shares(conveyor, parts.s[c], params.part_length[c]))
    return jnp.concatenate(out) if out else jnp.zeros(0, parts.s.dtype)


def _shares(conveyor, s, length):
    """(n, segments) share of each part's length on each of its conveyor's segments; rows sum to 1."""
    ends = jnp.asarray(conveyor.segment_ends, s.dtype)
    starts = jnp.concatenate([jnp.zeros(1, s.dtype), ends[:-1]])[None, :]
    lo = jnp.clip(s - 0.5 * length, 0.0, ends[-1])[:, None]
    hi = jnp.clip(s + 0.5 * length, 0.0, ends[-1])[:, None]
    overlap = jnp.maximum(jnp.minimum(hi, ends[None, :]) - jnp.maximum(lo, starts), 0.0)
    total = jnp.sum(overlap, axis=1, keepdims=True)
    at = (
        jnp.arange(len(conveyor.segments), dtype=jnp.int32)[None, :]
        == _local_segment(conveyor, s).astype(jnp.int32)[:, None]
    )  # a point: its segment
    return jnp.where(total > 0, overlap / jnp.where(total > 0, total, 1.0), at.astype(s.dtype))


def worn(params: Params, bearing_use) -> belt_physics.BeltParams:
    """The belts' parameters with the drag factor their bearings' used life adds (before and in the run)."""
    r = params.bearings
    return params.belts.replace(wear=params.belts.wear + r.wear_per_life * (r.used_before + bearing_use))


def bearing_use(params: Params, belts: BeltState):
    """(g,) fraction of each segment's bearing life used, before and in this run."""
    return params.bearings.used_before + belts.bearing_use


def segment_air(layout: Layout, T) -> jnp.ndarray:
    """(g,) °C: the air along each segment, the mean over its drag points."""
    if not layout.segments:
        return jnp.zeros(0, T.dtype)
    idx = jnp.asarray(np.concatenate([s.drag_idx for s in layout.segments]))
    w = jnp.asarray(np.concatenate([s.drag_w for s in layout.segments]), T.dtype)  # 1/q folded in
    owner = np.concatenate([np.full(len(s.drag_idx), g) for g, s in enumerate(layout.segments)])
    return jax.ops.segment_sum(sampling.gather(T, idx, w), jnp.asarray(owner), len(layout.segments))


def use_rate(params: Params, v, load, T_air):
    """(g,) 1/s: the bearings' life used per second at belt speed v carrying `load` kg of parts."""
    carried = params.belts.belt_mass + load
    return bearing.life_use_rate(params.bearings, v, carried, T_air, belt_physics.GRAVITY) / 3600.0


def advance(layout: Layout, params: Params, belts: BeltState, load, T, t, dt: float, n_sub: int):
    """Belts over dt in n_sub substeps, their bearings in the air of the field T: (new state, belt travel
    per segment (m), heat source W/m³)."""
    p, h = worn(params, belts.bearing_use), dt / n_sub
    T_air = segment_air(layout, T)

    def substep(i, carry):
        v, z, energy, charge, travel, loss_heat, drag_heat, use = carry
        v, z = belt_physics.substep(p, v, z, load, t + i * h, h)
        force, _ = belt_physics.motor_force(p, v, z)
        current, power, losses = belt_physics.electrics(p, force, v)
        drag = belt_physics.drag_force(p, v, load, t + (i + 1) * h)
        return (
            v,
            z,
            energy + h * power,
            charge + h * current,
            travel + h * v,
            loss_heat + h * losses,
            drag_heat + h * drag * v,
            use + h * use_rate(params, v, load, T_air),
        )

    zeros = jnp.zeros_like(belts.v)
    v, z, energy, charge, travel, loss_heat, drag_heat, use = jax.lax.fori_loop(
        0, n_sub, substep, (belts.v, belts.integral, belts.energy, belts.charge, zeros, zeros, zeros, zeros)
    )
    state = BeltState(
        v=v,
        integral=z,
        energy=energy,
        charge=charge,
        heat=belts.heat + loss_heat + drag_heat,
        pending_load=belts.pending_load,
        bearing_use=belts.bearing_use + use,
    )
    return state, travel, heat_source(layout, loss_heat, drag_heat, dt)


def heat_source(layout: Layout, loss_heat, drag_heat, dt: float):
    """Motor losses at the motors, drag work along the segments, as W/m³ over the step."""
    if not layout.segments:
        return 0.0
    segs = layout.segments
    motor_idx = jnp.asarray(np.stack([s.motor_idx for s in segs]))
    motor_w = jnp.asarray(np.stack([s.motor_w for s in segs]), loss_heat.dtype)
    q = sampling.deposit(loss_heat, motor_idx, motor_w, layout.shape)
    drag_idx = jnp.asarray(np.concatenate([s.drag_idx for s in segs]))
    drag_w = jnp.asarray(np.concatenate([s.drag_w for s in segs]), drag_heat.dtype)
    owner = np.concatenate([np.full(len(s.drag_idx), g) for g, s in enumerate(segs)])
    q = q + sampling.deposit(drag_heat[owner], drag_idx, drag_w, layout.shape)
    return q / (dt * layout.cell_volume)


def instruments(params: Params, belts: BeltState):
    """(current A, electrical power W) of every motor in this state."""
    force, _ = belt_physics.motor_force(params.belts, belts.v, belts.integral)
    current, power, _ = belt_physics.electrics(params.belts, force, belts.v)
    return current, power
