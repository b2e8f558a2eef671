"""`simulate`: run a scene for a duration, chunk by chunk, and collect what a run reports.

The steps run in chunks of one compiled program (`twin.time_loop.program`); between chunks (outside
jit) the host takes a field snapshot, collects the parts that left, checks the run's status and moves
the progress bar. A run that produces a non-finite value stops at the end of that chunk with a
`SimulationError` naming the time and the cell or entity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from twin import metrics as metrics_mod
from twin import status, time_loop
from twin import step as step_mod
from twin.build import build
from twin.errors import TwinInputError
from twin.line import robots, sensors
from twin.model import Layout, Params, State
from twin.precision import DEVICES, PRECISIONS, select_device, set_precision
from twin.run import checkpoint, parts_log
from twin.run.checkpoint import Checkpoints
from twin.run.config import check_run
from twin.run.size import Limits, check_plan_size, check_scene_size
from twin.scene.schema import Scene
from twin.time_step import Plan, plan, time_step

__all__ = [
    "DEVICES",
    "PRECISIONS",
    "Checkpoints",
    "Result",
    "check_plan",
    "chunk_program",
    "resume",
    "simulate",
    "select_device",
    "set_precision",
]


@dataclass
class Result:
    """What a run produced. Times in s; sensor values in their configured units."""

    scene: Scene
    layout: Layout
    params: Params
    state: State  # final
    plan: Plan | None  # None for a steady solve
    sensors: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (time, value)
    snapshot_times: np.ndarray  # (n,)
    snapshots: np.ndarray  # (n, *grid) °C
    metrics: dict = field(default_factory=dict)
    parts: dict[str, np.ndarray] = field(default_factory=dict)  # the per-part table, twin.run.parts_log.COLUMNS
    # every sensor at every step, in SI, layout order: (step times (steps+1,), readings (steps+1, sensors));
    # None for a steady solve. What `sensors` samples, and what a recording samples at its own times.
    readings: tuple[np.ndarray, np.ndarray] | None = None


def simulate(
    scene: Scene,
    duration: float = 3600.0,
    solver: step_mod.Solver = step_mod.Solver(),
    precision: str = "float32",
    snapshot_every: float = 300.0,
    progress: bool = False,
    device: str = "auto",
    limits: Limits = Limits(),
    checkpoints: Checkpoints | None = None,
) -> Result:
    """Run `scene` for `duration` seconds on `device`; field snapshots every ≈snapshot_every seconds.

    With `solver.method == "steady"` the steady state is solved instead (twin.steady; `duration` and
    `snapshot_every` are not used). A run estimated beyond `limits` (memory, steps) is refused before
    any work (twin.run.size). With `checkpoints`, a transient run writes its state to
    `checkpoints.path` every `checkpoints.every` seconds of line time; `twin.resume(path)` continues it.
    """
    _check_inputs(scene, duration, solver, precision, snapshot_every, device, limits)
    _check_checkpoints(checkpoints)
    with jax.default_device(select_device(device)):
        dtype = set_precision(precision)
        check_scene_size(scene, dtype, limits)
        if solver.method == "steady":
            from twin import steady

            return steady.simulate_steady(scene, solver, dtype)
        layout, params, state, the_plan = _prepare(scene, duration, solver, dtype, snapshot_every, limits)
        run = checkpoint.Run(scene, duration, solver, precision, snapshot_every, device, limits, the_plan)
        return _simulate(run, progress, layout, params, state, None, checkpoints)


def resume(path: str | Path, progress: bool = False) -> Result:
    """Continue the run whose checkpoint is at `path` (written by `simulate(..., checkpoints=...)`) to its
    end, checkpointing on as it did; the Result is bit-for-bit the one of an uninterrupted run."""
    stored = checkpoint.read(path)
    run = stored.run
    try:
        _check_inputs(run.scene, run.duration, run.solver, run.precision, run.snapshot_every, run.device, run.limits)
    except TwinInputError as err:  # a setting the file holds: name the file and the attribute
        raise TwinInputError(f"{path}:/{err.where}", err.value, err.message) from None
    with jax.default_device(select_device(run.device)):
        dtype = set_precision(run.precision)
        check_scene_size(run.scene, dtype, run.limits)
        layout, params, initial, the_plan = _prepare(
            run.scene, run.duration, run.solver, dtype, run.snapshot_every, run.limits
        )
        if the_plan != run.plan:
            raise TwinInputError(
                str(path),
                f"dt {run.plan.dt:g} s, {run.plan.steps} steps",
                "the rebuilt run steps "
                f"differently (dt {the_plan.dt:g} s, {the_plan.steps} steps): the checkpoint was "
                "written by another version of twin",
            )
        checkpoints = Checkpoints(Path(path), stored.every, stored.config)
        return _simulate(run, progress, layout, params, initial, stored, checkpoints)


def check_plan(
    scene: Scene,
    duration: float,
    solver: step_mod.Solver,
    precision: str,
    snapshot_every: float,
    device: str = "auto",
    limits: Limits = Limits(),
) -> None:
    """Every check a run can make before it steps — run settings, device, size, the scene's build
    (geometry on the grid), the time step's bounds and the plan — without stepping: a sweep makes it for
    every job before any job starts."""
    _check_inputs(scene, duration, solver, precision, snapshot_every, device, limits)
    with jax.default_device(select_device(device)):
        dtype = set_precision(precision)
        check_scene_size(scene, dtype, limits)
        if solver.method == "steady":
            from twin.steady import check_steady

            check_steady(scene)
            return
        _prepare(scene, duration, solver, dtype, snapshot_every, limits)


def _check_checkpoints(checkpoints) -> None:
    if checkpoints is None:
        return
    if not isinstance(checkpoints, Checkpoints):
        raise TwinInputError("checkpoints", checkpoints, "expected a twin.Checkpoints or None")


def _check_inputs(scene, duration, solver, precision, snapshot_every, device, limits) -> None:
    if not isinstance(scene, Scene):
        raise TwinInputError("scene", scene, "expected a twin.Scene (twin.load_scene or twin.scene_from_mapping)")
    check_run(duration, precision, snapshot_every, device, solver)
    if not isinstance(limits, Limits):
        raise TwinInputError("limits", limits, "expected a twin.Limits")


def _prepare(scene, duration, solver, dtype, snapshot_every, limits):
    """(layout, params, state, plan) of a transient run, its size checked again once the plan is known."""
    layout, params, state = build(scene, dtype)
    the_plan = plan(duration, time_step(layout, params, solver), snapshot_every)
    check_plan_size(scene, the_plan, snapshot_every, dtype, limits)
    return layout, params, state, the_plan


def _simulate(
    run: checkpoint.Run,
    progress: bool,
    layout: Layout,
    params: Params,
    initial: State,
    stored: checkpoint.Stored | None,
    checkpoints: Checkpoints | None,
) -> Result:
    """Step the plan's chunks from `initial`, or from where `stored` (a checkpoint) had got to,
    checkpointing as asked."""
    the_plan = run.plan
    chunk = chunk_program(layout, run.solver, the_plan)
    fixed = step_mod.fixed_terms_program(layout, params)
    robots.check_peaks(layout, fixed.robots)
    if stored is None:
        readings_now = jax.jit(_readings_now, static_argnums=0)(layout, params, initial, fixed)
        so_far = checkpoint.start(initial, readings_now, layout, checkpoints)
    else:
        so_far = stored.so_far(layout, initial)
    # Counted in seconds of line time, so the rate shown is the real-time factor.
    with tqdm(
        total=run.duration,
        initial=so_far.time,
        desc=f"simulate {run.scene.name}",
        unit="s",
        unit_scale=True,
        disable=None if progress else True,
    ) as bar:
        for j in range(so_far.chunks_done, the_plan.chunks):
            first = j * the_plan.steps_per_chunk
            log = parts_log.empty(layout, the_plan.steps_per_chunk, initial.T.dtype)
            state, r, exits = chunk(params, so_far.state, fixed, so_far.origin, jnp.asarray(first, jnp.int32), log)
            status.check(layout, state)
            done = min(the_plan.steps_per_chunk, the_plan.steps - first)
            so_far.state, so_far.chunks_done = state, j + 1
            so_far.readings.append(np.asarray(r)[:done])
            so_far.parts.collect(exits)
            so_far.snapshots.append(np.asarray(state.T))
            so_far.snapshot_times.append((first + done) * the_plan.dt)
            if j + 1 < the_plan.chunks:
                checkpoint.maybe_write(so_far, checkpoints, run)
            bar.update(done * the_plan.dt)
    series = np.concatenate(so_far.readings)
    times = np.arange(series.shape[0]) * the_plan.dt
    result = Result(
        scene=run.scene,
        layout=layout,
        params=params,
        state=so_far.state,
        plan=the_plan,
        sensors=resample(layout, times, series, run.duration),
        snapshot_times=np.asarray(so_far.snapshot_times),
        snapshots=np.stack(so_far.snapshots),
        parts=so_far.parts.table(so_far.state),
        readings=(times, series),
    )
    result.metrics = metrics_mod.summarise(layout, params, so_far.state, run.duration, fixed.robots)
    return result


def _readings_now(layout: Layout, params: Params, state: State, fixed: step_mod.Fixed):
    bcs = step_mod.boundaries(layout, params, fixed.k_cell, state.t)
    return sensors.readings(layout, params, state, bcs, fixed.robots)


def chunk_program(layout: Layout, solver: step_mod.Solver, the_plan: Plan):
    """chunk(params, state, fixed, origin, first, log) -> (state, readings, log): the steps first+1 …
    first+steps_per_chunk of the plan, the parts that left gathered into `log`
    (`parts_log.empty(layout, the_plan.steps_per_chunk, dtype)`); steps past the plan's end are skipped.
    One compiled program for every chunk of the plan, and for every run with an equal layout and plan."""
    ragged = the_plan.steps % the_plan.steps_per_chunk != 0  # only then can a chunk reach past the end
    return time_loop.program(
        layout,
        solver,
        the_plan.dt,
        the_plan.steps_per_chunk,
        last=the_plan.steps if ragged else None,
        gather=parts_log.append,
    )


def resample(layout: Layout, times, series, duration) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each sensor at its own sample times k·period, in its unit, from its readings at the steps' times
    (s), as its kind says (twin.line.sensors: interpolated, held, or a rate or fraction per period)."""
    out = {}
    for j, sensor in enumerate(layout.sensors):
        t, values = sensors.samples(sensor, times, series[:, j], duration)
        out[sensor.name] = (t, metrics_mod.to_unit(values, sensor.unit))
    return out
