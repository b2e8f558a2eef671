"""The one time loop: `lax.scan` of the coupled step, in ≈√N checkpointed chunks, for every caller.

Step k of a loop ends at t₀ + k·dt (computed, not accumulated, so float32 time does not drift).
`rollout` scans the step over N steps in ≈√N chunks, each chunk under `jax.checkpoint`, so reverse-mode
gradient memory grows like √N states instead of N.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from twin import status
from twin import step as step_mod
from twin.errors import TwinInputError
from twin.model import Layout, Params, State
from twin.time_step import steps_for, time_step

TRACED = (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError)


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
