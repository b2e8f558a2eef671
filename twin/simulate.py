"""`simulate`: run a scene for a duration, chunk by chunk, and collect what a run reports.

The step loop is one jitted `lax.scan` per chunk; between chunks (outside jit) the host takes a field
snapshot and moves the progress bar.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from twin import metrics as metrics_mod
from twin import step as step_mod
from twin.build import build
from twin.errors import TwinInputError
from twin.model import Layout, Params, State
from twin.rollout import Plan, max_stable_dt, plan
from twin.schema import Scene

PRECISIONS = {"float32": jnp.float32, "float64": jnp.float64}
DEVICES = ("auto", "cpu", "gpu")


@dataclass
class Result:
    """What a run produced. Times in s; sensor values in their configured units."""

    scene: Scene
    layout: Layout
    params: Params
    state: State  # final
    plan: Plan
    sensors: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (time, value)
    snapshot_times: np.ndarray  # (n,)
    snapshots: np.ndarray  # (n, *grid) °C
    metrics: dict = field(default_factory=dict)


def set_precision(precision: str):
    """Enable float64 in JAX when asked for (a process-wide JAX setting); return the dtype."""
    if precision not in PRECISIONS:
        raise TwinInputError("precision", precision, f"allowed: {', '.join(PRECISIONS)}")
    if precision == "float64":
        jax.config.update("jax_enable_x64", True)
    return PRECISIONS[precision]


def select_device(name: str) -> jax.Device:
    """The JAX device for `device=auto|cpu|gpu`; auto takes a GPU when JAX sees one."""
    if name not in DEVICES:
        raise TwinInputError("device", name, f"allowed: {', '.join(DEVICES)}")
    if name != "cpu":
        try:
            return jax.devices("gpu")[0]
        except RuntimeError:  # no GPU backend in this JAX install, or no GPU visible
            if name == "gpu":
                raise TwinInputError("device", name, "JAX sees no GPU here; install the CUDA build "
                                     "(pip install 'factory-twin[gpu]') or use device=cpu") from None
    return jax.devices("cpu")[0]


def simulate(
    scene: Scene,
    duration: float = 3600.0,
    solver: step_mod.Solver = step_mod.Solver(),
    precision: str = "float32",
    snapshot_every: float = 300.0,
    progress: bool = False,
    device: str = "auto",
) -> Result:
    """Run `scene` for `duration` seconds on `device`; field snapshots every ≈snapshot_every seconds."""
    with jax.default_device(select_device(device)):
        return _simulate(scene, duration, solver, set_precision(precision), snapshot_every, progress)


def _simulate(scene, duration, solver, dtype, snapshot_every, progress) -> Result:
    layout, params, state = build(scene, dtype)
    the_plan = plan(duration, max_stable_dt(layout, params, solver), snapshot_every)
    chunk = _compile_chunk(layout, solver, the_plan)
    fixed = jax.jit(step_mod.fixed_terms, static_argnums=0)(layout, params)
    initial = np.asarray(jax.jit(step_mod.readings, static_argnums=0)(layout, params, state))
    snaps, readings = [np.asarray(state.T)], []
    chunk_seconds = the_plan.dt * the_plan.steps_per_chunk
    # Counted in seconds of line time, so the rate shown is the real-time factor.
    with tqdm(total=duration, desc=f"simulate {scene.name}", unit="s", unit_scale=True,
              disable=None if progress else True) as bar:
        for _ in range(the_plan.chunks):
            state, r = chunk(params, state, fixed)
            readings.append(np.asarray(r))
            snaps.append(np.asarray(state.T))
            bar.update(chunk_seconds)
    series = np.concatenate([initial[None], *readings])
    times = np.arange(series.shape[0]) * the_plan.dt
    result = Result(
        scene=scene, layout=layout, params=params, state=state, plan=the_plan,
        sensors=_resample(layout, times, series, duration),
        snapshot_times=np.arange(the_plan.chunks + 1) * the_plan.dt * the_plan.steps_per_chunk,
        snapshots=np.stack(snaps),
    )
    result.metrics = metrics_mod.summarise(layout, params, state, duration)
    return result


def _compile_chunk(layout: Layout, solver: step_mod.Solver, the_plan: Plan):
    step = step_mod.make_step(layout, solver, the_plan.dt)

    def chunk(params, state, fixed):
        return jax.lax.scan(lambda s, _: step(params, s, fixed), state, length=the_plan.steps_per_chunk)

    return jax.jit(chunk)


def _resample(layout: Layout, times, series, duration) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each sensor at its own sample times k·period (linear in time between steps), in its unit."""
    out = {}
    for j, sensor in enumerate(layout.sensors):
        t = np.arange(0.0, duration + 1e-9 * duration, sensor.period)
        out[sensor.name] = (t, metrics_mod.to_unit(np.interp(t, times, series[:, j]), sensor.unit))
    return out
