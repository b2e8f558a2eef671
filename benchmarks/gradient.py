"""What a gradient through the whole line costs against the run itself: time, compile and memory.

    python benchmarks/gradient.py                      # default scene and a 4x finer grid, N = 250…16000
    python benchmarks/gradient.py --quick              # a smoke run (small N, default grid)
    python benchmarks/gradient.py --out my.json        # default benchmarks/results/gradient.json
    python benchmarks/gradient.py --chunks             # only the checkpoint-schedule curve

For each grid and number of steps N it compiles, ahead of time, the two run programs `twin.evaluate` and
`twin.value_and_grad` run (the initial state built from params, the checkpointed rollout, an objective
that touches every physics; the time-invariant terms, `twin.step.Fixed`, an input computed once per
layout, their pullback — a few milliseconds — not timed), then times them interleaved (`--repeats`,
medians and best): forward, gradient, their ratio, both compile times and the gradient's scratch memory
(`compiled.memory_analysis().temp_size_in_bytes`), with the fitted exponent of memory against N.

The checkpoint-schedule section sweeps the inner chunk length k of two-level checkpointing at N = 4000
and 16000 on the default grid — scratch memory and gradient time against k, with the fit
memory = a·N/k + b·k + c whose b/a is `twin.time_loop.RESIDUALS_PER_STATE` — and sets the default
schedule (`checkpoint_schedule`, three levels at 16000) beside it.

A further section times the bare thermal stencil (heterogeneous 2D grid, explicit steps in a scan): the
forward, the reverse pass for the field alone, and the reverse pass with every coefficient's cotangent
(ρc, face conductances, sink, source) accumulated over the steps, as ratios to the forward.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import twin
from twin import gradient, time_loop
from twin import step as step_mod
from twin.kernels import thermal

sys.path.insert(0, str(Path(__file__).parent))
from thermal_step import make_problem  # noqa: E402

DEFAULT_OUT = Path(__file__).parent / "results" / "gradient.json"


def objective(run: twin.Run):
    """The hall, the heaters, the belts' energy and the flow: every physics reaches it."""
    final = run.final
    return (
        jnp.mean(final.T)
        + 1e-6 * jnp.sum(final.heater_energy)
        + 1e-3 * jnp.sum(final.belts.energy)
        + 1e-3 * jnp.sum(final.tallies.wip)
    )


def _timed(fn, *args) -> float:
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - t0


def _compiled(jitted, *args):
    """(compiled program, compile seconds) ahead of time."""
    t0 = time.perf_counter()
    compiled = jitted.lower(*args).compile()
    return compiled, time.perf_counter() - t0


def _line(spacing: float | None, precision: str):
    overrides = [f"grid.spacing={spacing}"] if spacing else []
    scene = twin.load_scene("gigafactory_cell", overrides=overrides)
    layout, params, _ = twin.build(scene, jnp.float64 if precision == "float64" else jnp.float32)
    solver = twin.Solver()
    return layout, params, solver, twin.time_step(layout, params, solver)


def line_case(spacing: float | None, steps: int, precision: str, repeats: int) -> dict:
    layout, params, solver, dt = _line(spacing, precision)
    fixed = step_mod.fixed_terms_program(layout, params)  # an input of both programs (twin.gradient)
    forward, forward_compile = _compiled(
        gradient._run_program(layout, solver, dt, steps, objective, None), params, fixed
    )
    grad, grad_compile = _compiled(gradient._run_program(layout, solver, dt, steps, objective, ()), params, fixed)
    times = {"forward": [], "gradient": []}
    for _ in range(repeats):  # interleaved: background load lands on both alike
        times["forward"].append(_timed(forward, params, fixed))
        times["gradient"].append(_timed(grad, params, fixed))
    med = {k: statistics.median(v) for k, v in times.items()}
    memory = grad.memory_analysis()
    return {
        "grid": list(layout.shape),
        "steps": steps,
        "dt_s": dt,
        "schedule": list(time_loop.checkpoint_schedule(steps)),
        "forward_s": med["forward"],
        "gradient_s": med["gradient"],
        "gradient_over_forward": med["gradient"] / med["forward"],
        "best_s": {k: min(v) for k, v in times.items()},
        "compile_s": {"forward": forward_compile, "gradient": grad_compile},
        "gradient_scratch_MB": memory.temp_size_in_bytes / 1e6,
        "forward_scratch_MB": forward.memory_analysis().temp_size_in_bytes / 1e6,
    }


@contextlib.contextmanager
def _schedule(schedule: tuple[int, ...] | None):
    """Run under a given checkpoint schedule (None: the default), for the sweep only."""
    default = time_loop.checkpoint_schedule
    if schedule is not None:
        time_loop.checkpoint_schedule = lambda n: schedule
    gradient._run_program.cache_clear()
    try:
        yield
    finally:
        time_loop.checkpoint_schedule = default
        gradient._run_program.cache_clear()


def schedule_case(steps: int, schedule: tuple[int, ...] | None, precision: str, repeats: int) -> dict:
    """Gradient scratch memory and time on the default grid under one checkpoint schedule."""
    layout, params, solver, dt = _line(None, precision)
    fixed = step_mod.fixed_terms_program(layout, params)
    with _schedule(schedule):
        grad, compile_s = _compiled(gradient._run_program(layout, solver, dt, steps, objective, ()), params, fixed)
        times = [_timed(grad, params, fixed) for _ in range(repeats)]
        used = time_loop.checkpoint_schedule(steps)
    return {
        "steps": steps,
        "schedule": list(used),
        "default": schedule is None,
        "gradient_s": statistics.median(times),
        "compile_s": compile_s,
        "gradient_scratch_MB": grad.memory_analysis().temp_size_in_bytes / 1e6,
    }


def schedule_fit(cases: list[dict]) -> dict:
    """Least squares memory = a·N/k + b·k + c over the two-level cases: a and b in MB, b/a."""
    two = [c for c in cases if len(c["schedule"]) == 1]
    rows = np.array([[c["steps"] / c["schedule"][0], c["schedule"][0], 1.0] for c in two])
    (a, b, c), *_ = np.linalg.lstsq(rows, np.array([c["gradient_scratch_MB"] for c in two]), rcond=None)
    return {"state_MB": a, "step_residuals_MB": b, "constant_MB": c, "residuals_per_state": b / a}


def memory_exponent(cases: list[dict]) -> float | None:
    """Slope of log(gradient scratch) against log(N), over the cases of one grid."""
    if len(cases) < 2:
        return None
    n = np.log([c["steps"] for c in cases])
    m = np.log([c["gradient_scratch_MB"] for c in cases])
    return float(np.polyfit(n, m, 1)[0])


def stencil_case(n: int, steps: int, repeats: int) -> dict:
    """Reverse pass of the bare explicit stencil against its forward, float32, n x n heterogeneous."""
    coeffs, bcs, source = make_problem((n, n), True, np.random.default_rng(0))
    coeffs, source = jax.tree.map(jnp.asarray, coeffs), jnp.asarray(source)
    dt = 0.5 * float(thermal.stable_dt(coeffs, bcs))
    T0 = jnp.full((n, n), 20.0, jnp.float32)

    def loss(T, c, s):
        T, _ = jax.lax.scan(lambda T, _: (thermal.explicit_step(T, c, bcs, s, dt), None), T, None, length=steps)
        return jnp.sum(T * T)

    programs = {
        "forward": jax.jit(loss),
        "reverse_field": jax.jit(jax.grad(loss)),
        "reverse_all": jax.jit(jax.grad(loss, argnums=(0, 1, 2))),
    }
    for fn in programs.values():
        jax.block_until_ready(fn(T0, coeffs, source))
    times = {k: [] for k in programs}
    for _ in range(repeats):
        for k, fn in programs.items():
            times[k].append(_timed(fn, T0, coeffs, source))
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "grid": [n, n],
        "steps": steps,
        "forward_ms_per_step": 1e3 * med["forward"] / steps,
        # reverse pass = gradient − forward (the gradient runs the forward once, storing T per step)
        "reverse_over_forward_field": (med["reverse_field"] - med["forward"]) / med["forward"],
        "reverse_over_forward_all_coefficients": (med["reverse_all"] - med["forward"]) / med["forward"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small N, default grid only")
    parser.add_argument("--chunks", action="store_true", help="only the checkpoint-schedule sweep")
    parser.add_argument("--precision", default="float64", choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, nargs="*", default=None, help="N values")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    twin.build(twin.load_scene("gigafactory_cell"), jnp.float64 if args.precision == "float64" else jnp.float32)
    steps = args.steps or ([50, 200] if args.quick else [250, 1000, 4000, 16000])
    grids = {"default": None} if args.quick else {"default": None, "4x_cells": 0.125}
    result = {
        "benchmark": "gradient",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": jax.device_count(), "device": jax.devices()[0].platform},
        "settings": {"precision": args.precision, "repeats": args.repeats, "scene": "gigafactory_cell"},
        "line": {},
        "stencil": [],
    }
    if not args.quick:
        result["schedules"] = sweep_schedules(args.precision, args.repeats)
    if args.chunks:
        _write(args.out, result)
        return
    for name, spacing in grids.items():
        cases = [line_case(spacing, n, args.precision, args.repeats) for n in steps]
        result["line"][name] = {"cases": cases, "memory_exponent": memory_exponent(cases)}
        for c in cases:
            print(
                f"{name} N={c['steps']}: forward {c['forward_s']:.3f} s, gradient {c['gradient_s']:.3f} s "
                f"({c['gradient_over_forward']:.2f}x), scratch {c['gradient_scratch_MB']:.1f} MB, "
                f"compile {c['compile_s']['gradient']:.1f} s",
                flush=True,
            )
    sizes = [(256, 10)] if args.quick else [(1024, 20)]
    result["stencil"] = [stencil_case(n, s, args.repeats) for n, s in sizes]
    print(json.dumps(result["stencil"], indent=1))
    _write(args.out, result)


def sweep_schedules(precision: str, repeats: int) -> dict:
    plans = [(4000, (k,)) for k in (8, 16, 32, 63, 125)] + [(16000, (k,)) for k in (35, 70, 125)]
    cases = [schedule_case(n, s, precision, repeats) for n, s in plans]
    cases += [schedule_case(n, None, precision, repeats) for n in (4000, 16000)]
    for c in cases:
        print(
            f"N={c['steps']} schedule {c['schedule']}{' (default)' if c['default'] else ''}: "
            f"scratch {c['gradient_scratch_MB']:.1f} MB, gradient {c['gradient_s']:.2f} s",
            flush=True,
        )
    fit = schedule_fit(cases)
    print(f"fit: {fit}", flush=True)
    return {"cases": cases, "fit": fit}


def _write(out: Path, result: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
