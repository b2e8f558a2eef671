"""The run's status: unconverged solves and the first non-finite value, recorded inside jit, raised outside.

Inside a jitted loop nothing can be raised, so every step records in `State.status` when (the end time
of the step) and where (which state array, which entry) a value first became non-finite. `check`
turns that into a one-line `SimulationError` naming the time and the cell or entity.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from twin.errors import SimulationError
from twin.model import Layout, State, Status

# (name, entity kind, getter): the state arrays that must stay finite; parts are masked to live slots.
CHECKED = (
    ("temperature field", "cell", lambda s: s.T),
    ("heater controller integral", "heater", lambda s: s.heater_integral),
    ("heater output", "heater", lambda s: s.heater_output),
    ("heater energy", "heater", lambda s: s.heater_energy),
    ("part position", "part", lambda s: jnp.where(s.parts.alive, s.parts.s, 0.0)),
    ("part temperature", "part", lambda s: jnp.where(s.parts.alive, s.parts.T, 0.0)),
    ("part cure", "part", lambda s: jnp.where(s.parts.alive, s.parts.alpha, 0.0)),
    ("belt speed", "segment", lambda s: s.belts.v),
    ("belt controller integral", "segment", lambda s: s.belts.integral),
    ("motor energy", "segment", lambda s: s.belts.energy),
)


def initial(dtype) -> Status:
    """No problem yet."""
    return Status(
        unconverged_steps=jnp.zeros((), jnp.int32),
        nonfinite_time=jnp.full((), jnp.nan, dtype),
        nonfinite_what=jnp.full((), -1, jnp.int32),
        nonfinite_index=jnp.zeros((), jnp.int32),
    )


def update(status: Status, state: State, converged) -> Status:
    """The status after a step that produced `state` (its `t` is the step's end time).

    A sum of all checked values is non-finite exactly when one of them is, so the common case costs a
    few reductions; which array and entry is worked out only on the step where it first happens.
    """
    arrays = [(i, get(state).reshape(-1)) for i, (_, _, get) in enumerate(CHECKED) if np.size(get(state))]
    unconverged = status.unconverged_steps + (~jnp.asarray(converged)).astype(jnp.int32)
    if not arrays:
        return status.replace(unconverged_steps=unconverged)
    total = sum(jnp.sum(x) for _, x in arrays)  # no 0.0 start: keeps float32 float32
    first = ~jnp.isfinite(total) & (status.nonfinite_what < 0)

    def locate(_):
        bad = jnp.stack([~jnp.all(jnp.isfinite(x)) for _, x in arrays])
        which = jnp.argmax(bad)
        index = jnp.stack([jnp.argmin(jnp.isfinite(x)) for _, x in arrays]).astype(jnp.int32)[which]
        return jnp.asarray([i for i, _ in arrays], jnp.int32)[which], index

    def keep(_):
        return status.nonfinite_what, status.nonfinite_index

    what, index = jax.lax.cond(first, locate, keep, None)
    return Status(
        unconverged_steps=unconverged,
        nonfinite_time=jnp.where(first, state.t, status.nonfinite_time),
        nonfinite_what=what,
        nonfinite_index=index,
    )


def check(layout: Layout, state: State, hint: str = "") -> None:
    """Raise `SimulationError` if the run produced a non-finite value (outside jit)."""
    what = int(state.status.nonfinite_what)
    if what < 0:
        return
    name, kind, get = CHECKED[what]
    index = int(state.status.nonfinite_index)
    where = _entity(layout, kind, index, np.shape(get(state)))
    advice = hint or "the time step may be unstable for this scene (solver.dt), or a value is out of range"
    raise SimulationError(name, float(state.status.nonfinite_time), f"{where}; {advice}")


def _entity(layout: Layout, kind: str, index: int, shape: tuple[int, ...]) -> str:
    """'cell [j, i] (x = …, y = …)', 'heater oven_1', 'part 3 on conveyor main', 'segment main.oven'."""
    if kind == "cell":
        cell = np.unravel_index(index, shape)
        centre = [(i + 0.5) * h for i, h in zip(cell[::-1], layout.spacing)]
        coords = ", ".join(f"{a} = {c:.3g} m" for a, c in zip("xyz", centre))
        return f"at cell {list(map(int, cell))} ({coords})"
    if kind == "heater":
        return f"at heater {layout.heater_names[index]!r}"
    if kind == "segment":
        return f"at belt segment {layout.segments[index].name!r}"
    conveyor, slot = np.unravel_index(index, shape)
    return f"at a part (slot {slot}) on conveyor {layout.conveyors[conveyor].name!r}"
