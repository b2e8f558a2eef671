"""The time step: one source of dt for every caller, behind one stability guard, and the run plan.

`time_step(layout, params, solver)` takes `Solver.dt` (refused, at `solver.dt`, if it breaks a bound) or
picks the largest step the bounds allow: explicit stability, the cap `max_dt`, at most one part entry per
step. `plan` cuts a duration into whole steps of that dt and into chunks (snapshots, progress,
checkpoints); `twin.time_loop` steps them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from twin import step as step_mod
from twin.errors import TwinInputError
from twin.kernels import thermal
from twin.model import Layout, Params

TEMPERATURE_MARGIN = 50.0  # K above the hottest configured temperature, for the radiation stability bound
BOUND_RTOL = 1e-9  # a dt equal to a bound up to rounding of the bound's arithmetic is at the bound


@dataclass(frozen=True)
class Plan:
    """A run of `steps` steps of `dt` (s), cut into chunks of `steps_per_chunk` (the last may be shorter)."""

    dt: float
    steps: int
    steps_per_chunk: int

    @property
    def chunks(self) -> int:
        return -(-self.steps // self.steps_per_chunk)

    @property
    def duration(self) -> float:
        return self.dt * self.steps


def time_step(layout: Layout, params: Params, solver: step_mod.Solver) -> float:
    """The dt (s) of every step: `solver.dt` if it keeps every bound, else the largest the bounds allow.

    Bounds: explicit stability (for `explicit`), the cap `max_dt` (when dt is automatic), and at most
    one part entry per step on every conveyor. A `solver.dt` that breaks a bound is refused with a
    `TwinInputError` at `solver.dt`. Needs concrete params (call it outside jit).
    """
    if solver.method == "steady":
        raise TwinInputError(
            "solver.method", "steady", "a steady solve takes no time steps; use twin.steady_state or twin.simulate"
        )
    bounds = {}
    if solver.method == "explicit":
        limit = _explicit_limit(layout, params, _hottest(params) + TEMPERATURE_MARGIN, solver.safety)
        if not 0.0 < limit < math.inf:
            raise TwinInputError(
                "solver.method",
                solver.method,
                f"the explicit stability limit is {limit:g} s: a "
                "value in the scene is out of the precision's range; check it, or use an implicit "
                "solver (solver=backward_euler)",
            )
        bounds["the explicit stability limit; use a smaller dt or solver=backward_euler"] = limit
    for c, conveyor in enumerate(layout.conveyors):
        if conveyor.has_parts:
            speed = params.belts.setpoint[conveyor.segments[0]]
            bounds[f"half the part interval on conveyor {conveyor.name!r} (spacing/speed/2)"] = 0.5 * float(
                params.part_spacing[c] / speed
            )
    if solver.dt is not None:
        for reason, bound in bounds.items():
            if solver.dt > bound * (1.0 + BOUND_RTOL):
                raise TwinInputError("solver.dt", solver.dt, f"must be ≤ {bound:.4g} s, {reason}")
        return float(solver.dt)
    return min([solver.max_dt, *bounds.values()])


def _explicit_limit(layout: Layout, params: Params, T_max: float, safety: float) -> float:
    """The forward-Euler stable dt, s, for temperatures up to T_max (°C)."""
    return float(_stable_dt(layout, jax.lax.stop_gradient(params), T_max, safety))


@functools.partial(jax.jit, static_argnums=0)  # one program per layout, new params or not (run eagerly,
def _stable_dt(layout: Layout, params: Params, T_max, safety):  # each small operation would compile alone)
    k_cell, coeffs = step_mod.cell_terms(layout, params)
    bcs = step_mod.boundaries(layout, params, k_cell, 0.0)
    return thermal.stable_dt(coeffs, bcs, T_max=T_max, safety=safety)


def _hottest(params: Params) -> float:
    temps = [params.initial_T, params.heater_setpoint, params.hvac_supply_T, params.part_T0, params.ambient_T]
    temps += [f.temperature for f in params.faces] + [f.schedule for f in params.faces]
    return max([float(jnp.max(t)) for t in temps if t.size] + [0.0])


def steps_for(duration: float, dt_max: float) -> tuple[float, int]:
    """(dt, steps): the fewest whole steps of at most dt_max that cover `duration` exactly."""
    steps = max(1, math.ceil(duration / dt_max - 1e-9))
    return duration / steps, steps


def plan(duration: float, dt_max: float, chunk_seconds: float) -> Plan:
    """Steps of at most dt_max covering `duration`, in ⌈duration / chunk_seconds⌉ chunks of equal steps
    but the last (dt does not depend on the chunking, so snapshot intervals never change results)."""
    dt, steps = steps_for(duration, dt_max)
    chunks = min(steps, max(1, math.ceil(duration / chunk_seconds - 1e-9)))
    return Plan(dt=dt, steps=steps, steps_per_chunk=-(-steps // chunks))
