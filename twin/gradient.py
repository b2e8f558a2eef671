"""Objectives through the whole line and their gradients: the engine of calibration and tuning.

    run_value = twin.evaluate(objective, layout, params, solver, duration=600.0)
    value, grad, status = twin.value_and_grad(objective, layout, params, solver, duration=600.0)

`objective(run) -> scalar` sees a `Run`: the final `State`, every sensor's per-step readings and the
step times. The initial state is built *from params* inside the differentiated function
(`twin.build.initial_state`), so gradients see that belts start at their setpoints and the first part's
travel is the spacing. The program — initial state, checkpointed rollout, objective, gradient — is
jitted once per (layout, solver, plan, objective, parameters differentiated) and kept (`PROGRAMS`), so
a second call with new parameter values runs without compiling; what does not change in time (the
arm robots' duties among it) is one program per layout that every objective shares, its gradient
added by its pullback.

The plan (dt and the number of steps) is fixed by the first call for a given duration: an optimiser
needs one discretisation throughout. Later calls check that dt still keeps the stability bounds of
their params (`twin.time_step`) and refuse it, at `solver.dt`, if not.

Readings that are not yet defined — the temperature or cure of the last part picked, before the first
pick — are NaN. `run.defined(name)` masks them and `run.reading(name, fill)` replaces them by a
value with no gradient behind it; a NaN objective is refused with a line naming the sensor.
`run.throughput(conveyor)` is the smooth throughput (parts/h between the first and last exit), the
objective to maximise flow by: a part count steps where the gradient sees nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend import core as jax_core

from twin import status as status_mod
from twin import step as step_mod
from twin import time_loop
from twin.build import initial_state
from twin.errors import TwinInputError, did_you_mean
from twin.line.picking import steady_throughput
from twin.model import Layout, Params, State, Status
from twin.time_step import steps_for, time_step

PROGRAMS = 32  # compiled objective programs kept (each holds its layout's arrays)


@dataclasses.dataclass(frozen=True)
class Run:
    """What an objective sees: `final` state, `readings` (steps, sensors) in SI units in layout order,
    `times` (steps,) the end of each step, s."""

    layout: Layout
    final: State
    readings: jax.Array
    times: jax.Array

    def _column(self, name: str) -> int:
        names = [s.name for s in self.layout.sensors]
        if name not in names:
            raise TwinInputError("sensor", name, did_you_mean(name, names, "the scene's sensors"))
        return names.index(name)

    def defined(self, name: str) -> jax.Array:
        """(steps,) True where sensor `name` has a value (a pick sensor is undefined before its first pick)."""
        return jnp.isfinite(self.readings[:, self._column(name)])

    def reading(self, name: str, fill: float = 0.0) -> jax.Array:
        """(steps,) sensor `name` in SI units, `fill` where it is undefined; weight a loss with `defined`."""
        values = self.readings[:, self._column(name)]
        return jnp.where(jnp.isfinite(values), values, fill)

    def throughput(self, conveyor: str | None = None) -> jax.Array:
        """Parts/h between the first and the last exit of `conveyor`, or summed over every conveyor
        (None): the smooth throughput (twin.line.picking.steady_throughput). NaN, and refused as an
        objective, until two parts have left."""
        rates = steady_throughput(self.final.tallies) * 3600.0
        if conveyor is None:
            return jnp.sum(rates)
        names = [c.name for c in self.layout.conveyors]
        if conveyor not in names:
            raise TwinInputError("conveyor", conveyor, did_you_mean(conveyor, names, "the scene's conveyors"))
        return rates[names.index(conveyor)]


class Evaluation(NamedTuple):
    value: jax.Array  # the objective
    status: Status  # unconverged steps, the first non-finite value (twin.check_status)


class Gradient(NamedTuple):
    value: jax.Array
    grad: Params  # d value / d every parameter (zeros for those not in `wrt`)
    status: Status


def evaluate(
    objective: Callable[[Run], jax.Array],
    layout: Layout,
    params: Params,
    solver: step_mod.Solver,
    *,
    duration: float | None = None,
    n_steps: int | None = None,
) -> Evaluation:
    """The objective of a run from `initial_state(layout, params)`; see the module docstring."""
    dt, steps = _plan(layout, params, solver, duration, n_steps)
    value, aux = _program(layout, solver, dt, steps, objective, None)(params)
    return Evaluation(*_checked(value, aux, layout))


def value_and_grad(
    objective: Callable[[Run], jax.Array],
    layout: Layout,
    params: Params,
    solver: step_mod.Solver,
    *,
    duration: float | None = None,
    n_steps: int | None = None,
    wrt: tuple[str, ...] | None = None,
) -> Gradient:
    """(value, gradient as Params, status) of the objective by reverse mode through the checkpointed run.

    wrt: parameter paths to differentiate ("zone_k", "belts.setpoint", "faces[1].h"); None: all. The
    others are held fixed and get zero gradients (and cost nothing in the reverse pass).
    """
    selected = None if wrt is None else tuple(sorted(set(_leaf_paths(params, path) for path in wrt)))
    dt, steps = _plan(layout, params, solver, duration, n_steps)
    (value, aux), grad = _program(layout, solver, dt, steps, objective, selected or ())(params)
    value, status = _checked(value, aux, layout)
    return Gradient(value, grad, status)


# ---------------------------------------------------------------------------------------------- plan


_PLANS: dict = {}  # (layout, solver, duration or steps) -> (dt, steps) of the first call


def _plan(layout, params, solver, duration, n_steps) -> tuple[float, int]:
    if (duration is None) == (n_steps is None):
        raise TypeError("give exactly one of duration= and n_steps=")
    key = (layout, solver, duration, n_steps)
    if key not in _PLANS:
        dt = time_step(layout, params, solver)
        _PLANS[key] = steps_for(duration, dt) if duration is not None else (dt, int(n_steps))
    dt, steps = _PLANS[key]
    time_step(layout, params, dataclasses.replace(solver, dt=dt))  # still within the bounds of these params
    return dt, steps


# ---------------------------------------------------------------------------------------------- program


def _program(layout: Layout, solver: step_mod.Solver, dt: float, steps: int, objective: Callable, wrt):
    """params -> the evaluation (wrt None) or (value and aux, gradient) (wrt: selected leaf paths, () all).

    What does not change in time (`step_mod.Fixed`, with the arm robots' duties) is computed by its own
    program, compiled once per layout, and enters the run's program as an input; the gradient reaches
    params through it by that program's pullback (`_whole_gradient`), added to the run's own."""
    if wrt is None:
        run = _run_program(layout, solver, dt, steps, objective, None, None)
        return lambda params: run(params, step_mod.fixed_terms_program(layout, params))

    def with_gradient(params: Params):
        moved = _fixed_moved(layout, params, wrt) if wrt else None
        run = _run_program(layout, solver, dt, steps, objective, wrt, moved)
        (value, aux), (direct, through_fixed) = run(params, step_mod.fixed_terms_program(layout, params))
        return (value, aux), _whole_gradient(layout, wrt, params, direct, through_fixed)

    return with_gradient


_MOVED: dict = {}  # (layout, wrt) -> which leaves of Fixed the parameters wrt move


def _fixed_moved(layout: Layout, params: Params, wrt: tuple[str, ...]) -> tuple[bool, ...]:
    """Per leaf of `step_mod.Fixed`, whether the leaves `wrt` of params can reach it: every output of
    `fixed_terms`'s traced program that an equation fed by them writes (structural, so true at any
    parameter values; a nested program counts whole). The run differentiates only those: the others'
    cotangents, accumulated over every step, are most of a reverse pass (the thermal coefficients),
    and a calibration's unknowns rarely touch them."""
    key = (layout, wrt)
    if key not in _MOVED:
        program = jax.make_jaxpr(functools.partial(step_mod.fixed_terms, layout))(params).jaxpr
        paths = [_path(p) for p, _ in jax.tree_util.tree_leaves_with_path(params)]
        reached = {v for v, path in zip(program.invars, paths) if path in wrt}
        for eqn in program.eqns:
            if any(not isinstance(v, jax_core.Literal) and v in reached for v in eqn.invars):
                reached.update(eqn.outvars)
        _MOVED[key] = tuple(not isinstance(v, jax_core.Literal) and v in reached for v in program.outvars)
    return _MOVED[key]


@functools.lru_cache(maxsize=PROGRAMS)
def _run_program(layout: Layout, solver: step_mod.Solver, dt: float, steps: int, objective: Callable, wrt, moved=None):
    """The jitted (params, fixed) -> evaluation, or value and gradient in both (wrt not None); with
    `moved` (per leaf of Fixed), the leaves it marks False are held (their cotangent zero)."""
    run = time_loop.trajectory(step_mod.make_step(layout, solver, dt), dt, steps, checkpointed=True)

    def value(params: Params, fixed: step_mod.Fixed):
        state = initial_state(layout, params)
        final, readings, _ = run(params, state, fixed, state.t, 0)
        times = (jnp.arange(1, steps + 1, dtype=jnp.int32).astype(state.t.dtype)) * dt
        out = jnp.asarray(objective(Run(layout, final, readings, times)))
        if out.shape != ():
            raise TwinInputError(
                "objective",
                f"shape {out.shape}",
                "must return a scalar: reduce it (jnp.sum, jnp.mean) or weight it into one number",
            )
        return out, (final, jnp.any(~jnp.isfinite(readings), axis=0))

    if wrt is None:
        return jax.jit(value)
    if not wrt:
        return jax.jit(jax.value_and_grad(value, argnums=(0, 1), has_aux=True))

    def partial(params: Params, fixed: step_mod.Fixed):  # the leaves not chosen held: no reverse pass for them
        if moved is not None:
            leaves, tree = jax.tree.flatten(fixed)
            fixed = jax.tree.unflatten(tree, [x if m else jax.lax.stop_gradient(x) for x, m in zip(leaves, moved)])
        return value(_only(params, wrt, held=jax.lax.stop_gradient(params)), fixed)

    return jax.jit(jax.value_and_grad(partial, argnums=(0, 1), has_aux=True))


@functools.partial(jax.jit, static_argnums=(0, 1))
def _whole_gradient(layout: Layout, wrt, params: Params, direct: Params, cotangent: step_mod.Fixed) -> Params:
    """The run's own gradient plus what reaches params through `fixed_terms` (its pullback of the
    objective's cotangent of the Fixed terms), the leaves outside `wrt` zero (wrt () : all)."""
    _, pullback = jax.vjp(functools.partial(step_mod.fixed_terms, layout), params)
    grad = jax.tree.map(jnp.add, direct, pullback(cotangent)[0])
    return _only(grad, wrt) if wrt else grad


def _only(params: Params, wrt, held: Params | None = None) -> Params:
    """params with the leaves outside the paths `wrt` replaced by `held`'s (default zeros)."""
    leaves = jax.tree_util.tree_leaves_with_path(params)
    others = jax.tree_util.tree_leaves(held) if held is not None else [jnp.zeros_like(x) for _, x in leaves]
    chosen = [leaf if _path(p) in wrt else other for (p, leaf), other in zip(leaves, others)]
    return jax.tree.unflatten(jax.tree.structure(params), chosen)


def _checked(value, aux, layout) -> tuple[jax.Array, Status]:
    """(value, status), or a one-line error where the value is not finite: the run, or which reading."""
    final, undefined = aux
    if bool(jnp.isfinite(value)):
        return value, final.status
    status_mod.check(layout, final)  # the run itself went non-finite: when, where
    names = [s.name for s, bad in zip(layout.sensors, np.asarray(undefined)) if bad]
    if names and bool(jnp.isnan(value)):  # an undefined reading gives NaN; ±inf comes from the objective
        first = names[0]
        also = f" (also undefined at some steps: {', '.join(names[1:])})" if len(names) > 1 else ""
        raise TwinInputError(
            "objective",
            float(value),
            f"is not finite: sensor {first!r} reads NaN before it has a value (before the first pick); "
            f"mask it: run.reading({first!r}) with weights run.defined({first!r}){also}",
        )
    short = [(c.name, int(n)) for c, n in zip(layout.conveyors, np.asarray(final.tallies.n_out)) if n < 2]
    if short:
        name, n = short[0]
        raise TwinInputError(
            "objective",
            float(value),
            f"is not finite: {n} part(s) left conveyor {name!r} in the run, and its throughput needs two "
            "exits; run longer (duration=)",
        )
    raise TwinInputError(
        "objective",
        float(value),
        "is not finite, although the run and every reading it used are: look at the objective itself "
        "(a logarithm or a division of zero)",
    )


# ---------------------------------------------------------------------------------------------- paths


def _path(keys) -> str:
    """'belts.setpoint', 'faces[1].h' from a pytree key path."""
    text = jax.tree_util.keystr(keys)
    return re.sub(r"^\.", "", text)


def _leaf_paths(params: Params, path: str) -> str:
    """`path` if it names a leaf of Params, else a one-line error listing the leaves."""
    names = [_path(p) for p, _ in jax.tree_util.tree_leaves_with_path(params)]
    if path not in names:
        raise TwinInputError("wrt", path, did_you_mean(path, names, "parameters"))
    return path


__all__ = ["Evaluation", "Gradient", "Run", "evaluate", "value_and_grad"]
