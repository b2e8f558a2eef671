"""Time loops: a differentiable rollout with nested checkpointing, and the time-step plan.

`rollout` scans the step over N steps in ≈√N chunks, each chunk under `jax.checkpoint`, so reverse-mode
gradient memory grows like √N states instead of N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from twin import step as step_mod
from twin.errors import TwinInputError
from twin.kernels import thermal
from twin.model import Layout, Params, State

TEMPERATURE_MARGIN = 50.0  # K above the hottest configured temperature, for the radiation stability bound


@dataclass(frozen=True)
class Plan:
    """dt (s), steps per chunk and number of chunks: dt·steps·chunks equals the duration exactly."""

    dt: float
    steps_per_chunk: int
    chunks: int

    @property
    def steps(self) -> int:
        return self.steps_per_chunk * self.chunks


def max_stable_dt(layout: Layout, params: Params, solver: step_mod.Solver) -> float:
    """Largest dt the solver may take: explicit stability, the cap, and at most one part entry per step.

    A dt given in the solver that breaks one of these bounds is refused (TwinInputError at `solver.dt`).
    """
    bounds = {}
    if solver.method == "explicit":
        bounds["the explicit stability limit; use a smaller dt or solver=backward_euler"] = _explicit_limit(
            layout, params, _hottest(params) + TEMPERATURE_MARGIN, solver.safety)
    for c, conveyor in enumerate(layout.conveyors):
        if conveyor.has_parts:
            speed = params.belts.setpoint[conveyor.segments[0]]
            bounds[f"half the part interval on conveyor {conveyor.name!r} (spacing/speed/2)"] = 0.5 * float(
                params.part_spacing[c] / speed)
    if solver.dt is not None:
        for reason, bound in bounds.items():
            if solver.dt > bound:
                raise TwinInputError("solver.dt", solver.dt, f"must be ≤ {bound:.4g} s, {reason}")
        return solver.dt
    return min([solver.max_dt, *bounds.values()])


def _explicit_limit(layout: Layout, params: Params, T_max: float, safety: float) -> float:
    """The forward-Euler stable dt, s, for temperatures up to T_max (°C), as one compiled program (run
    eagerly, the coefficients' many small operations would each be compiled on their own)."""
    def limit(params):
        fixed = step_mod.fixed_terms(layout, params)
        bcs = step_mod.boundaries(layout, params, fixed.k_cell, 0.0)
        return thermal.stable_dt(fixed.coeffs, bcs, T_max=T_max, safety=safety)

    return float(jax.jit(limit)(params))


def _hottest(params: Params) -> float:
    temps = [params.heater_setpoint, params.hvac_supply_T, params.part_T0, params.ambient_T]
    temps += [f.temperature for f in params.faces] + [f.schedule for f in params.faces]
    return max([float(np.max(t)) for t in temps if t.size] + [0.0])


def plan(duration: float, max_dt: float, chunk_seconds: float) -> Plan:
    """Split `duration` into whole chunks of ≈chunk_seconds and whole steps of at most max_dt."""
    chunks = max(1, math.ceil(duration / chunk_seconds - 1e-9))
    steps = max(1, math.ceil(duration / chunks / max_dt - 1e-9))
    return Plan(dt=duration / (chunks * steps), steps_per_chunk=steps, chunks=chunks)


def _chunk_length(n_steps: int) -> int:
    """≈√N steps per checkpointed chunk; a divisor of N where one is near, so that no remainder scan
    (a second copy of the step to compile, forward and backward) is needed."""
    root = max(1, math.isqrt(n_steps))
    divisor = max(d for d in range(1, root + 1) if n_steps % d == 0)
    return divisor if 2 * divisor >= root else root


def rollout(layout: Layout, params: Params, state: State, solver: step_mod.Solver, dt: float, n_steps: int):
    """Advance `n_steps` steps of dt; returns (final state, readings (n_steps, sensors)). Differentiable."""
    step = step_mod.make_step(layout, solver, dt)
    fixed = step_mod.fixed_terms(layout, params)

    def body(s, _):
        return step(params, s, fixed)

    def run(s, length):
        return jax.lax.scan(body, s, length=length)

    inner = _chunk_length(n_steps)
    outer, rest = divmod(n_steps, inner)
    chunk = jax.checkpoint(lambda s, _: run(s, inner))
    state, readings = jax.lax.scan(chunk, state, length=outer)
    readings = readings.reshape(outer * inner, -1)
    if rest:
        state, tail = run(state, rest)
        readings = jnp.concatenate([readings, tail])
    return state, readings
