"""The one time loop: `lax.scan` of the coupled step, for every caller, and its compiled programs.

`trajectory(step, dt, n_steps, ...)` is the loop (jax-cfd's `trajectory` is the model): steps
first+1 … first+n_steps, step k ending at origin + k·dt (computed, not accumulated, so float32 time
does not drift); each step's readings are stacked, and a `gather` hook folds each step's other output
(the parts that left) into an accumulator. Two options: `checkpointed` scans in ≈√N chunks, each under
`jax.checkpoint`, so reverse-mode gradient memory grows like √N states instead of N (`rollout`); `last`
skips the steps past a plan's end (`twin.simulate`'s chunks, all of one compiled length).

`program(...)` jits a trajectory once per (layout, solver, dt, steps, options) and keeps it, so every
caller with an equal layout (the same scene built again: tests, sweeps in one process) shares one
compile; `rollout` and `twin.simulate` both step through it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from twin import status
from twin import step as step_mod
from twin.errors import TwinInputError
from twin.model import Layout, Params, State
from twin.time_step import steps_for, time_step

TRACED = (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError)
PROGRAMS = 64  # compiled programs kept; each holds its layout's arrays as constants


def trajectory(
    step: Callable,
    dt: float,
    n_steps: int,
    *,
    checkpointed: bool = False,
    last: int | None = None,
    gather: Callable | None = None,
):
    """run(params, state, fixed, origin, first, gathered=None) -> (state, readings (n_steps, s), gathered).

    step: `step(params, state, fixed, t_end) -> (state, readings, exits)` (twin.step.make_step).
    gather: `gather(gathered, exits) -> gathered`, folded over the steps (None: exits are dropped).
    last: the plan's last step; steps after it leave the state alone and read zeros.
    """

    def run(params: Params, state: State, fixed: step_mod.Fixed, origin, first, gathered=None):
        def advance(s, k):
            return step(params, s, fixed, origin + k.astype(origin.dtype) * dt)

        def skip(s, k):
            _, r, exits = jax.eval_shape(advance, s, k)
            return (s, *jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), (r, exits)))

        def body(carry, k):
            s, acc = carry
            new, r, exits = advance(s, k) if last is None else jax.lax.cond(k <= last, advance, skip, s, k)
            return (new, acc if gather is None else gather(acc, exits)), r

        ks = first + jnp.arange(1, n_steps + 1, dtype=jnp.int32)
        carry = (state, gathered)
        if not checkpointed:
            (state, gathered), readings = jax.lax.scan(body, carry, ks)
            return state, readings, gathered
        inner = chunk_length(n_steps)
        outer, rest = divmod(n_steps, inner)
        chunk = jax.checkpoint(lambda c, k: jax.lax.scan(body, c, k))
        carry, readings = jax.lax.scan(chunk, carry, ks[: outer * inner].reshape(outer, inner))
        readings = readings.reshape(outer * inner, -1)
        if rest:
            carry, tail = jax.lax.scan(body, carry, ks[outer * inner :])
            readings = jnp.concatenate([readings, tail])
        return carry[0], readings, carry[1]

    return run


@functools.lru_cache(maxsize=PROGRAMS)
def program(
    layout: Layout,
    solver: step_mod.Solver,
    dt: float,
    n_steps: int,
    *,
    checkpointed: bool = False,
    last: int | None = None,
    gather: Callable | None = None,
):
    """The jitted `trajectory` of `make_step(layout, solver, dt)`, compiled once per distinct arguments."""
    step = step_mod.make_step(layout, solver, dt)
    return jax.jit(trajectory(step, dt, n_steps, checkpointed=checkpointed, last=last, gather=gather))


def chunk_length(n_steps: int) -> int:
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
            raise TwinInputError(
                "solver.dt",
                None,
                "rollout under jit needs a fixed step: pass Solver(dt=...); "
                "twin.time_step(layout, params, solver), called outside jit, gives the "
                "largest allowed",
            ) from None
        return float(solver.dt)


def rollout(
    layout: Layout,
    params: Params,
    state: State,
    solver: step_mod.Solver,
    n_steps: int | None = None,
    *,
    duration: float | None = None,
    throw: bool = False,
):
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
    fixed = step_mod.fixed_terms(layout, params)
    state, readings, _ = program(layout, solver, dt, n_steps, checkpointed=True)(params, state, fixed, state.t, 0)
    if throw:
        try:
            status.check(layout, state)
        except TRACED:
            raise TypeError(
                "rollout(throw=True) needs concrete values: call it outside jit, or check "
                "final.status with twin.check_status(layout, final) after the jitted call"
            ) from None
    return state, readings
