"""Throughput of the explicit thermal step (cell updates per second), JAX kernel vs plain NumPy.

    python benchmarks/thermal_step.py                 # 2D 2048², 3D 256³, float32
    python benchmarks/thermal_step.py --quick         # small sizes, a smoke run
    python benchmarks/thermal_step.py --out my.json

Each case times N explicit steps in one jitted `lax.fori_loop` (after a warm-up call that compiles), for
uniform scalar coefficients and for heterogeneous per-cell arrays, and the same N steps written in
plain NumPy (flux form, same boundary faces) as the baseline. Repeats are interleaved across variants
so background load hits them alike; the median and the best are both reported. See README.md.

The JAX loop carries two fields and steps in pairs. A stencil cannot write its output over its input,
so with one field in the loop carry XLA copies each new field back into the carry buffer: 16 bytes moved
per float32 cell update instead of 8, on a step that is memory-bound. With two fields, each step of a
pair writes into the buffer of the field two steps back and nothing is copied, as long as both fields
leave the loop (return both: if one is dropped, XLA removes it, fuses the pair into one kernel that
recomputes the first step at every neighbour, and runs ~10x slower). The one-field loop is timed too
(`*_carry_copy` variants), so the cost of that copy stays in view.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import datetime
import json
import os
import resource
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from common import machine  # benchmarks/common.py, beside this script
from jax import lax

from twin.kernels import thermal as th

DX = 0.01  # m
K, RHO_C = 1.0, 1e6  # W/(m·K), J/(m³·K): a uniform reference material
H, T_FLUID, T_WALL = 25.0, 20.0, 60.0  # Robin face (axis 0 low) and Dirichlet face (axis 0 high)

# Steps per timed call: enough that the per-call cost (the allocator faulting in fresh pages for the
# loop's field buffers, ~1 step's worth when the variants interleave) stays a few per cent.
FULL_CASES = [("2d", (2048, 2048), 100), ("3d", (256, 256, 256), 20)]
QUICK_CASES = [("2d", (256, 256), 20), ("3d", (32, 32, 32), 10)]


def make_problem(shape, heterogeneous: bool, rng):
    """Coefficients, boundaries and source (float32) for one variant; the same faces for both."""
    f32 = np.float32
    if heterogeneous:
        k = (0.5 + rng.random(shape)).astype(f32)
        inv_c = (1.0 / (RHO_C * (0.5 + rng.random(shape)))).astype(f32)
        conductance = tuple(np.asarray(g) for g in th.face_conductance(jnp.asarray(k), (DX,) * len(shape)))
        sink = (0.1 * rng.random(shape)).astype(f32)
        source = (100.0 * rng.random(shape)).astype(f32)
        k_lo, k_hi = k[:1], k[-1:]
    else:
        inv_c, conductance, sink, source = 1.0 / RHO_C, (K / DX**2,) * len(shape), 0.0, 0.0
        k_lo = k_hi = K
    coeffs = th.Coefficients(inv_c, conductance, sink)
    faces = (th.robin(H, T_FLUID, k_lo, DX), th.dirichlet(T_WALL, k_hi, DX))
    bcs = (faces,) + ((None, None),) * (len(shape) - 1)
    return coeffs, bcs, source


def numpy_step(T, coeffs: th.Coefficients, bcs, source, dt):
    """The same explicit step in plain NumPy: one flux per interior face, added to one cell and taken
    from the other (the usual vectorised finite-volume form); faces on axis 0 only, as in make_problem."""
    P = np.zeros_like(T) + source - coeffs.sink * T
    for axis, G in enumerate(coeffs.conductance):
        n = T.shape[axis]
        lower = [slice(None)] * T.ndim
        upper = list(lower)
        lower[axis], upper[axis] = slice(0, n - 1), slice(1, n)
        G_int = G if np.ndim(G) == 0 else G[tuple(upper)][tuple(lower)]  # interior faces 1..n-1
        flux = G_int * (T[tuple(upper)] - T[tuple(lower)])  # into the lower cell, W/m³
        P[tuple(lower)] += flux
        P[tuple(upper)] -= flux
    for side, face in enumerate(bcs[0]):
        i = 0 if side == 0 else T.shape[0] - 1
        P[i] += np.squeeze(face.conductance * (face.temperature - T[i : i + 1]), axis=0)
    return (T + dt * (coeffs.inv_capacity * P)).astype(T.dtype)


def jax_runner(coeffs, bcs, source, dt, steps, two_fields: bool):
    """Timed callable: arrays go in as jit arguments (not baked-in constants), scalar coefficients stay
    Python floats closed over, as a caller building uniform coefficients inside its step would have.
    `two_fields`: step in pairs on two buffers (no copy per step; see the module docstring)."""
    leaves, treedef = jax.tree_util.tree_flatten(coeffs)
    is_array = [np.ndim(x) > 0 for x in leaves]
    arrays = [jnp.asarray(x) for x, a in zip(leaves, is_array) if a]
    if two_fields and steps % 2:
        raise ValueError(f"the two-field loop steps in pairs; got an odd step count {steps}")

    @jax.jit
    def run(T, arrays, source):
        it = iter(arrays)
        c = treedef.unflatten([next(it) if a else x for x, a in zip(leaves, is_array)])

        def step(T):
            return th.explicit_step(T, c, bcs, source, dt)

        if not two_fields:
            return lax.fori_loop(0, steps, lambda i, T: step(T), T)

        def pair(i, fields):
            previous = step(fields[0])
            return step(previous), previous

        return lax.fori_loop(0, steps // 2, pair, (T, T))  # both fields returned: keeps the two buffers

    source = source if np.ndim(source) == 0 else jnp.asarray(source)
    return lambda T: jax.block_until_ready(run(T, arrays, source))


def numpy_runner(coeffs, bcs, source, dt, steps):
    def run(T):
        for _ in range(steps):
            T = numpy_step(T, coeffs, bcs, source, dt)
        return T

    return run


def time_variants(runners: dict, T0, repeats: int) -> tuple[dict, dict]:
    """Seconds and minor page faults of every timed call, per variant."""
    inputs = {name: jnp.asarray(T0) if name.startswith("jax") else T0 for name in runners}
    for name, run in runners.items():
        run(inputs[name])  # warm-up: compilation for JAX, page faults for both
    times = {name: [] for name in runners}
    faults = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            run(inputs[name])
            times[name].append(time.perf_counter() - start)
            faults[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before)
    return times, faults


def run_case(label, shape, steps, repeats, rng) -> dict:
    T0 = (20.0 + 10.0 * rng.random(shape)).astype(np.float32)
    runners, problems = {}, {}
    for kind in ("uniform", "heterogeneous"):
        coeffs, bcs, source = make_problem(shape, kind == "heterogeneous", rng)
        dt = float(th.stable_dt(coeffs, bcs, shape=shape))
        problems[kind] = (coeffs, bcs, source, dt)
        runners[f"jax_{kind}"] = jax_runner(coeffs, bcs, source, dt, steps, two_fields=True)
        runners[f"jax_{kind}_carry_copy"] = jax_runner(coeffs, bcs, source, dt, steps, two_fields=False)
        runners[f"numpy_{kind}"] = numpy_runner(coeffs, bcs, source, dt, steps)
    agreement, loops_agree = {}, {}
    for kind, (coeffs, bcs, source, dt) in problems.items():  # one step, both implementations
        one_jax = np.asarray(jax.jit(lambda T: th.explicit_step(T, coeffs, bcs, source, dt))(T0))  # noqa: B023 (called at once)
        agreement[kind] = float(np.max(np.abs(one_jax - numpy_step(T0, coeffs, bcs, source, dt))))
        two_fields = runners[f"jax_{kind}"](jnp.asarray(T0))[0]  # N steps, both loop forms
        loops_agree[kind] = float(jnp.max(jnp.abs(two_fields - runners[f"jax_{kind}_carry_copy"](jnp.asarray(T0)))))
    times, faults = time_variants(runners, T0, repeats)
    cells = int(np.prod(shape))
    variants = {}
    for name, ts in times.items():
        variants[name] = {
            "median_s": statistics.median(ts),
            "min_s": min(ts),
            "times_s": ts,
            "minor_page_faults_per_call": statistics.median(faults[name]),
            "cell_updates_per_s": cells * steps / statistics.median(ts),
            "best_cell_updates_per_s": cells * steps / min(ts),
        }
    ratio = {
        kind: variants[f"jax_{kind}"]["cell_updates_per_s"] / variants[f"numpy_{kind}"]["cell_updates_per_s"]
        for kind in ("uniform", "heterogeneous")
    }
    return {
        "name": f"{label}_{'x'.join(map(str, shape))}",
        "shape": list(shape),
        "cells": cells,
        "steps": steps,
        "variants": variants,
        "jax_over_numpy": ratio,
        "max_abs_diff_one_step_K": agreement,
        "max_abs_diff_two_vs_one_field_loop_K": loops_agree,
    }


def keep_freed_memory() -> str:
    """Have glibc keep freed memory for reuse: one arena, big blocks from the heap, no trimming.

    Each timed call allocates fresh field buffers (JAX: the loop's two fields; NumPy: temporaries every
    step). By default glibc returns big freed blocks to the OS, and the next call pays a page fault and
    a zero-fill per 4 KiB page: up to ~10 % of a JAX call and most of NumPy's system time here. Kept,
    the timings measure stepping; `minor_page_faults_per_call` in the JSON shows what is left.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8
        done = [
            libc.mallopt(m_arena_max, 1),
            libc.mallopt(m_mmap_threshold, 1 << 30),
            libc.mallopt(m_trim_threshold, 1 << 30),
        ]
    except (OSError, AttributeError):
        return "system default (no glibc mallopt)"
    return "glibc: freed memory kept (one arena, no mmap, no trim)" if all(done) else "glibc: mallopt refused"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "thermal_step.json"))
    parser.add_argument("--quick", action="store_true", help="small grids: a smoke run in seconds")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per variant (median reported)")
    args = parser.parse_args(argv)
    allocator = keep_freed_memory()
    rng = np.random.default_rng(0)
    cases = QUICK_CASES if args.quick else FULL_CASES
    load_before = os.getloadavg()
    result = {
        "benchmark": "thermal explicit step, float32",
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "dtype": "float32",
            "repeats": args.repeats,
            "quick": args.quick,
            "boundaries": "axis 0: Robin (low) and Dirichlet (high); other axes insulated",
            "allocator": allocator,
        },
        "cases": [run_case(label, shape, steps, args.repeats, rng) for label, shape, steps in cases],
    }
    # Other processes on the machine halve these numbers on 2 cores: record the load to judge a run.
    result["machine"]["load_average_1_5_15min"] = {"before": load_before, "after": os.getloadavg()}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(out)  # atomic: a reader never sees half a file
    for case in result["cases"]:
        rates = ", ".join(f"{k} {v['cell_updates_per_s'] / 1e9:.3f}" for k, v in case["variants"].items())
        print(f"{case['name']}: G cell-updates/s (median) {rates}")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
