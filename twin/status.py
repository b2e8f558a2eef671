"""The run's status: unconverged solves and the first non-finite value, recorded inside jit, raised outside.

Inside a jitted loop nothing can be raised, so every step records in `State.status` when (the end time
of the step) and where (which state array, which entry) a value first became non-finite. `check`
turns that into a one-line `SimulationError` naming the time and the cell or entity.
"""

from __future__ import annotations

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
    return Status(unconverged_steps=jnp.zeros((), jnp.int32), nonfinite_time=jnp.full((), jnp.nan, dtype),
                  nonfinite_what=jnp.full((), -1, jnp.int32), nonfinite_index=jnp.zeros((), jnp.int32))


def update(status: Status, state: State, converged) -> Status:
    """The status after a step that produced `state` (its `t` is the step's end time)."""
    bad, first = [], []
    for _, _, get in CHECKED:
        finite = jnp.isfinite(get(state)).reshape(-1)
        if finite.size == 0:
            continue
        index = jnp.argmin(finite)  # the first False, in one pass
        bad.append(~finite[index])
        first.append(index)
    if not bad:
        return status.replace(unconverged_steps=status.unconverged_steps + (~converged).astype(jnp.int32))
    bad, first = jnp.stack(bad), jnp.stack(first).astype(jnp.int32)
    which = jnp.argmax(bad)
    new = jnp.any(bad) & (status.nonfinite_what < 0)
    present = [i for i, (_, _, get) in enumerate(CHECKED) if np.size(get(state)) > 0]
    return Status(
        unconverged_steps=status.unconverged_steps + (~converged).astype(jnp.int32),
        nonfinite_time=jnp.where(new, state.t, status.nonfinite_time),
        nonfinite_what=jnp.where(new, jnp.asarray(present, jnp.int32)[which], status.nonfinite_what),
        nonfinite_index=jnp.where(new, first[which], status.nonfinite_index),
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
