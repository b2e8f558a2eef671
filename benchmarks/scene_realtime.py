"""How much faster than real time the default scene runs: `twin.simulate`'s chunked loop, float32.

    python benchmarks/scene_realtime.py                     # one hour of line time, 3 timed runs
    python benchmarks/scene_realtime.py --shift             # one 8-hour shift (28800 s)
    python benchmarks/scene_realtime.py --duration 600 --repeats 5 --solver crank_nicolson --max-dt 10
    python benchmarks/scene_realtime.py --out /tmp/rt.json  # default benchmarks/results/scene_realtime.json

What is timed is the loop `twin.simulate` runs — the same jitted chunk (`lax.scan` over the steps of
one snapshot interval) called chunk after chunk, with the field snapshot and readings copied to the
host after each chunk — split into:

- `compile_s`: tracing and XLA compilation of the chunk (`jit(...).lower(...).compile()`), the first
  time in the process (what a `twin simulate` command pays without the persistent cache);
  `recompile_s`: the same compile again once the process is warm (ahead-of-time lowering bypasses the
  program cache; a further `twin.simulate` call or sweep job with an equal layout and plan reuses the
  compiled chunk, twin.time_loop.program, and pays none of it);
- `warmup_s`: one full untimed run of the compiled loop (first-touch allocations, thread pools);
- `wall_s`: the median (and min/max/all) of `--repeats` (default 5, at least 3) timed runs of the compiled loop.

From the median: `realtime_factor` = simulated s / wall s, `steps_per_s`, and `cell_steps_per_s`
(grid cells × steps / s). `end_to_end_s` is one call of `twin.simulate` itself, as a user sees it from
Python in a warm process (build, stable dt, compile, run, metrics; no files written). The JSON also records the machine
(CPU count, platform, jax version, backend and devices) and the run's plan (dt, steps, chunks).

Needs only the installed package (`pip install -e .`); runs on whatever device JAX picks (set
`JAX_PLATFORMS=cpu` to force the CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import jax
import numpy as np

import twin
from twin import step as step_mod
from twin.build import build
from twin.precision import set_precision
from twin.run import parts_log
from twin.simulate import chunk_program
from twin.time_step import plan, time_step

SHIFT_S = 8 * 3600.0
DEFAULT_OUT = Path(__file__).parent / "results" / "scene_realtime.json"


def machine() -> dict:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": getattr(jax.lib, "__version__", None) or _version("jaxlib"),
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "x64": bool(jax.config.jax_enable_x64),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def run_loop(compiled, layout, params, state, fixed, the_plan) -> None:
    """What twin.simulate does per chunk: one jitted chunk, then snapshot, readings and leavers to the host."""
    origin = state.t
    for j in range(the_plan.chunks):
        log = parts_log.empty(layout, the_plan.steps_per_chunk, state.T.dtype)
        state, readings, log = compiled(params, state, fixed, origin, np.int32(j * the_plan.steps_per_chunk), log)
        np.asarray(readings)
        np.asarray(state.T)
        np.asarray(log.count)


def benchmark(
    scene_name: str, duration: float, snapshot_every: float, solver: twin.Solver, precision: str, repeats: int
) -> dict:
    scene = twin.load_scene(scene_name)
    layout, params, state = build(scene, set_precision(precision))
    the_plan = plan(duration, time_step(layout, params, solver), snapshot_every)
    fixed = jax.jit(step_mod.fixed_terms, static_argnums=0)(layout, params)

    def compile_chunk():
        t0 = time.perf_counter()
        log = parts_log.empty(layout, the_plan.steps_per_chunk, state.T.dtype)
        compiled = (
            chunk_program(layout, solver, the_plan).lower(params, state, fixed, state.t, np.int32(0), log).compile()
        )
        return compiled, time.perf_counter() - t0

    compiled, compile_s = compile_chunk()  # cold: the first compile in the process, as a CLI run pays
    compiled, recompile_s = compile_chunk()  # what each further simulate() in the same process pays

    t0 = time.perf_counter()
    run_loop(compiled, layout, params, state, fixed, the_plan)
    warmup_s = time.perf_counter() - t0

    walls = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_loop(compiled, layout, params, state, fixed, the_plan)
        walls.append(time.perf_counter() - t0)
    wall = statistics.median(walls)

    t0 = time.perf_counter()
    twin.simulate(scene, duration, solver, precision, snapshot_every)
    end_to_end_s = time.perf_counter() - t0

    cells = int(np.prod(layout.shape))
    return {
        "scene": scene_name,
        "duration_s": duration,
        "precision": precision,
        "solver": {
            "method": solver.method,
            "dt": solver.dt,
            "max_dt": solver.max_dt,
            "safety": solver.safety,
            "tol": solver.tol,
            "maxiter": solver.maxiter,
        },
        "grid": list(layout.shape),
        "cells": cells,
        "plan": {
            "dt_s": the_plan.dt,
            "steps": the_plan.steps,
            "steps_per_chunk": the_plan.steps_per_chunk,
            "chunks": the_plan.chunks,
            "snapshot_every_s": snapshot_every,
        },
        "compile_s": compile_s,
        "recompile_s": recompile_s,
        "warmup_s": warmup_s,
        "repeats": repeats,
        "wall_s": wall,
        "wall_s_min": min(walls),
        "wall_s_max": max(walls),
        "wall_s_all": walls,
        "realtime_factor": duration / wall,
        "steps_per_s": the_plan.steps / wall,
        "cell_steps_per_s": cells * the_plan.steps / wall,
        "end_to_end_s": end_to_end_s,
        "end_to_end_realtime_factor": duration / end_to_end_s,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="gigafactory_cell", help="shipped scene name or .yaml path")
    parser.add_argument("--duration", type=float, default=3600.0, help="simulated s (default 3600)")
    parser.add_argument("--shift", action="store_true", help=f"simulate one 8-hour shift ({SHIFT_S:.0f} s)")
    parser.add_argument("--snapshot-every", type=float, default=300.0, help="s between snapshots (default 300)")
    parser.add_argument("--solver", default="explicit", choices=["explicit", "backward_euler", "crank_nicolson"])
    parser.add_argument("--max-dt", type=float, default=2.0, help="s (default 2.0, as conf/solver)")
    parser.add_argument("--precision", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs after the warm-up (default 5, ≥ 3)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON file (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    if args.repeats < 3:
        parser.error("--repeats must be ≥ 3")
    duration = SHIFT_S if args.shift else args.duration

    result = {
        "benchmark": "scene_realtime",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **benchmark(
            args.scene,
            duration,
            args.snapshot_every,
            twin.Solver(method=args.solver, max_dt=args.max_dt),
            args.precision,
            args.repeats,
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    m = result["machine"]
    print(
        f"{result['scene']}: {duration:.0f} s of line time, {result['precision']}, {args.solver}, "
        f"{result['plan']['steps']} steps of {result['plan']['dt_s']:.3g} s on {result['cells']} cells "
        f"({m['backend']}, {m['cpu_count']} CPUs, jax {m['jax']})"
    )
    print(
        f"  compile {result['compile_s']:.2f} s (again in the same process {result['recompile_s']:.2f} s), "
        f"warm-up run {result['warmup_s']:.2f} s"
    )
    print(
        f"  wall {result['wall_s']:.2f} s (median of {args.repeats}, {result['wall_s_min']:.2f}–"
        f"{result['wall_s_max']:.2f}) → {result['realtime_factor']:.0f}× real time, "
        f"{result['steps_per_s']:.0f} steps/s, {result['cell_steps_per_s'] / 1e6:.1f} M cell-steps/s"
    )
    print(
        f"  twin.simulate end to end {result['end_to_end_s']:.2f} s "
        f"({result['end_to_end_realtime_factor']:.0f}× real time)"
    )
    print(f"  wrote {args.out}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
