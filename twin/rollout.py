"""Time loops: the time step and its guard, the run plan, and the differentiable rollout.

One source of dt for every caller: `time_step(layout, params, solver)` takes `Solver.dt` (refused, at
`solver.dt`, if it breaks a bound) or picks the largest step the bounds allow. `rollout` and
`twin.simulate` both step with it. Step k of a loop ends at t₀ + k·dt (computed, not accumulated, so
float32 time does not drift). `rollout` scans the step over N steps in ≈√N chunks, each chunk under
`jax.checkpoint`, so reverse-mode gradient memory grows like √N states instead of N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from twin import status
from twin import step as step_mod
from twin.errors import TwinInputError
from twin.kernels import thermal
from twin.model import Layout, Params, State

TEMPERATURE_MARGIN = 50.0  # K above the hottest configured temperature, for the radiation stability bound
BOUND_RTOL = 1e-9  # a dt equal to a bound up to rounding of the bound's arithmetic is at the bound
TRACED = (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError)


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
        raise TwinInputError("solver.method", "steady", "a steady solve takes no time steps; use twin.steady_state "
                             "or twin.simulate")
    bounds = {}
    if solver.method == "explicit":
        limit = _explicit_limit(layout, params, _hottest(params) + TEMPERATURE_MARGIN, solver.safety)
        if not 0.0 < limit < math.inf:
            raise TwinInputError("solver.method", solver.method, f"the explicit stability limit is {limit:g} s: a "
                                 "value in the scene is out of the precision's range; check it, or use an implicit "
                                 "solver (solver=backward_euler)")
        bounds["the explicit stability limit; use a smaller dt or solver=backward_euler"] = limit
    for c, conveyor in enumerate(layout.conveyors):
        if conveyor.has_parts:
            speed = params.belts.setpoint[conveyor.segments[0]]
            bounds[f"half the part interval on conveyor {conveyor.name!r} (spacing/speed/2)"] = 0.5 * float(
                params.part_spacing[c] / speed)
    if solver.dt is not None:
        for reason, bound in bounds.items():
            if solver.dt > bound * (1.0 + BOUND_RTOL):
                raise TwinInputError("solver.dt", solver.dt, f"must be ≤ {bound:.4g} s, {reason}")
        return float(solver.dt)
    return min([solver.max_dt, *bounds.values()])


def _explicit_limit(layout: Layout, params: Params, T_max: float, safety: float) -> float:
    """The forward-Euler stable dt, s, for temperatures up to T_max (°C), as one compiled program (run
    eagerly, the coefficients' many small operations would each be compiled on their own)."""
    def limit(params):
        fixed = step_mod.fixed_terms(layout, params)
        bcs = step_mod.boundaries(layout, params, fixed.k_cell, 0.0)
        return thermal.stable_dt(fixed.coeffs, bcs, T_max=T_max, safety=safety)

    return float(jax.jit(limit)(jax.lax.stop_gradient(params)))


def _hottest(params: Params) -> float:
    temps = [params.heater_setpoint, params.hvac_supply_T, params.part_T0, params.ambient_T]
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


def _chunk_length(n_steps: int) -> int:
    """≈√N steps per checkpointed chunk; a divisor of N where one is near, so that no remainder scan
    (a second copy of the step to compile, forward and backward) is needed."""
    root = max(1, math.isqrt(n_steps))
    divisor = max(d for d in range(1, root + 1) if n_steps % d == 0)
    return divisor if 2 * divisor >= root else root


def _rollout_dt(layout: Layout, params: Params, solver: step_mod.Solver) -> float:
    """`time_step`, or under jit (params traced, no numbers to check) the solver's own dt."""
    try:
        return time_step(layout, params, solver)
    except TRACED:
        if solver.dt is None:
            raise TwinInputError("solver.dt", None, "rollout under jit needs a fixed step: pass Solver(dt=...); "
                                 "twin.time_step(layout, params, solver), called outside jit, gives the "
                                 "largest allowed") from None
        return float(solver.dt)


def rollout(layout: Layout, params: Params, state: State, solver: step_mod.Solver, n_steps: int | None = None, *,
            duration: float | None = None, throw: bool = False):
    """Advance `n_steps` steps (or `duration` seconds) from `state`; returns (final state, readings
    (steps, sensors)). Differentiable.

    dt is `time_step(layout, params, solver)` (with `duration`: shortened to cover it exactly, as
    `twin.simulate` does); `final.status` reports unconverged solves and the first non-finite value,
    and `throw=True` raises `SimulationError` on the latter (outside jit only).
    """
    if (n_steps is None) == (duration is None):
        raise TypeError("rollout: give exactly one of n_steps and duration")
    dt = _rollout_dt(layout, params, solver)
    if duration is not None:
        dt, n_steps = steps_for(duration, dt)
    step = step_mod.make_step(layout, solver, dt)
    fixed = step_mod.fixed_terms(layout, params)
    origin = state.t

    def body(s, k):
        new, r, _ = step(params, s, fixed, origin + k.astype(origin.dtype) * dt)
        return new, r

    inner = _chunk_length(n_steps)
    outer, rest = divmod(n_steps, inner)
    chunk = jax.checkpoint(lambda s, ks: jax.lax.scan(body, s, ks))
    ks = jnp.arange(1, n_steps + 1, dtype=jnp.int32)
    state, readings = jax.lax.scan(chunk, state, ks[: outer * inner].reshape(outer, inner))
    readings = readings.reshape(outer * inner, -1)
    if rest:
        state, tail = jax.lax.scan(body, state, ks[outer * inner:])
        readings = jnp.concatenate([readings, tail])
    if throw:
        try:
            status.check(layout, state)
        except TRACED:
            raise TypeError("rollout(throw=True) needs concrete values: call it outside jit, or check "
                            "final.status with twin.check_status(layout, final) after the jitted call") from None
    return state, readings
