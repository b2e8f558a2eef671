"""The one time loop: `lax.scan` of the coupled step, for every caller, and its compiled programs.

`trajectory(step, dt, n_steps, ...)` is the loop (jax-cfd's `trajectory` is the model): steps
first+1 … first+n_steps, step k ending at origin + k·dt (computed, not accumulated, so float32 time
does not drift); each step's readings are stacked, and a `gather` hook folds each step's other output
(the parts that left) into an accumulator. Two options: `checkpointed` scans in nested chunks, each
under `jax.checkpoint` (`checkpoint_schedule`: two levels, three past 10⁴ steps), so reverse-mode
gradient memory grows like √N (then ∛N) states instead of N (`rollout`); `last`
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
        schedule = checkpoint_schedule(n_steps) if checkpointed else ()
        (state, gathered), readings = nested_scan(body, (state, gathered), ks, schedule)
        return state, readings, gathered

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


def nested_scan(body: Callable, carry, xs, schedule: tuple[int, ...]):
    """`lax.scan(body, carry, xs)` in nested checkpointed chunks: `schedule` gives the chunk lengths,
    innermost first. Each chunk of schedule[0] steps is one `jax.checkpoint`, each chunk of schedule[1]
    such chunks another, and so on; the reverse pass keeps one carry per chunk at each level and
    recomputes a chunk's steps (one more forward per level). Steps past the last whole outermost chunk
    run under the schedule one level shorter."""
    if not schedule:
        return jax.lax.scan(body, carry, xs)
    f = body
    for _ in schedule:
        f = jax.checkpoint(functools.partial(_scan_chunk, f))
    whole = math.prod(schedule)
    outer = xs.shape[0] // whole
    carry, ys = jax.lax.scan(f, carry, xs[: outer * whole].reshape(outer, *reversed(schedule)))
    ys = jax.tree.map(lambda y: y.reshape(outer * whole, *y.shape[1 + len(schedule) :]), ys)
    if outer * whole == xs.shape[0]:
        return carry, ys
    carry, rest = nested_scan(body, carry, xs[outer * whole :], schedule[:-1])
    return carry, jax.tree.map(lambda a, b: jnp.concatenate([a, b]), ys, rest)


def _scan_chunk(body, carry, xs):
    return jax.lax.scan(body, carry, xs)


# A step's reverse-pass residuals over the bytes of one carried state: 0.18 MB against 0.058 MB on the
# default scene (benchmarks/gradient.py --chunks fits memory = a·N/k + b·k + c over chunk lengths k).
RESIDUALS_PER_STATE = 3.2
THIRD_LEVEL_FROM = 10_000  # steps: past this a third level keeps gradient memory ~N^(1/3), for one forward more


def checkpoint_schedule(n_steps: int) -> tuple[int, ...]:
    """Chunk lengths (innermost first) that minimise the reverse pass's memory: with two levels, N/k
    carried states plus k steps' residuals (ρ states each) is least at k = √(N/ρ); with three,
    N/(k₁k₂) + k₂ + ρk₁ at k₁ = (N/ρ²)^(1/3), k₂ = ρk₁. Each length is a divisor of what it splits
    where one is near, so that no remainder scan (another copy of the step to compile, forward and
    backward) is needed."""
    rho = RESIDUALS_PER_STATE
    if n_steps < THIRD_LEVEL_FROM:
        return (_near_divisor(n_steps, math.sqrt(n_steps / rho)),)
    inner = _near_divisor(n_steps, (n_steps / rho**2) ** (1 / 3))
    return (inner, _near_divisor(n_steps // inner, rho * inner))


def _near_divisor(n: int, target: float) -> int:
    """The largest divisor of n at most `target`, if it is at least half of it; else `target` rounded."""
    best = max(1, min(n, round(target)))
    divisor = max(d for d in range(1, best + 1) if n % d == 0)
    return divisor if 2 * divisor >= best else best


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
    fixed = step_mod.fixed_terms_program(layout, params)
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
