"""What calibrating the default scene costs: the fit's gradient against its forward run over 1, 2 and 4
hours of recording, the gradient's memory against the recording's length, and the wall time of the
recovery calibration (tests/test_calibrate_default.py).

    python benchmarks/calibration.py                  # 1, 2, 4 h and the recovery (~25 min on 2 cores)
    python benchmarks/calibration.py --quick          # 0.25 and 0.5 h, no recovery: a smoke run
    python benchmarks/calibration.py --hours 1 8 --no-recovery --out my.json

Per length it records telemetry from gigafactory_cell (the recovery's true values, 1 % noise, 2 %
dropouts, deadband 1σ), builds the fit's loss (`twin.calibrate.fit.Problem`: the table of
conf/calibrate/gigafactory_cell.yaml, σ estimated per sensor), compiles ahead of time the two programs
the fit runs — the loss alone (`twin.evaluate`'s) and the loss with its gradient in the five unknowns'
leaves (`twin.value_and_grad`'s) — and times them interleaved (medians). Memory: the compiled
programs' scratch (`memory_analysis().temp_size_in_bytes`), with its fitted exponent against the number
of steps (the goal ~0.5: checkpointing). Results: benchmarks/results/calibration.json.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

import twin
from twin import gradient
from twin import step as step_mod
from twin.calibrate.fit import Problem
from twin.calibrate.unknowns import set_at
from twin.scene.files import read_scene_mapping, scene_file
from twin.telemetry.record import Recording, record

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from common import machine, time_interleaved, write_json  # noqa: E402
from test_calibrate_default import TRUTH, recovery, shipped_table  # noqa: E402

DEFAULT_OUT = Path(__file__).parent / "results" / "calibration.json"


def _telemetry(scene: dict, parameters, hours: float):
    true_scene = copy.deepcopy(scene)
    for p in parameters:
        set_at(true_scene, p.path, TRUTH[p.label])
    duration = hours * 3600.0
    run = twin.simulate(twin.scene_from_mapping(true_scene), duration, precision="float64", snapshot_every=duration)
    return record(run, Recording(start="2026-03-02T06:00:00Z", noise=0.01, dropouts=0.02, deadband=1.0))


def _compiled(jitted, *args):
    t0 = time.perf_counter()
    compiled = jitted.lower(*args).compile()
    return compiled, time.perf_counter() - t0


def length_case(hours: float, repeats: int) -> dict:
    scene = read_scene_mapping(scene_file("gigafactory_cell"))
    parameters = shipped_table().unknowns()
    problem = Problem(scene, _telemetry(scene, parameters, hours), parameters, {}, twin.Solver(), "float64", None, "")
    params = problem.params(np.asarray([TRUTH[p.label] for p in parameters]))
    fixed = step_mod.fixed_terms_program(problem.layout, params)
    wrt = tuple(sorted({gradient._leaf_paths(params, path) for path in problem.wrt}))
    args = (problem.layout, problem.solver, problem.dt, problem.steps, problem.objective)
    forward, forward_compile = _compiled(gradient._run_program(*args, None), params, fixed)
    moved = gradient._fixed_moved(problem.layout, params, wrt)
    grad, grad_compile = _compiled(gradient._run_program(*args, wrt, moved), params, fixed)
    every, _ = _compiled(gradient._run_program(*args, wrt), params, fixed)  # baseline: every Fixed leaf
    times = time_interleaved(
        {
            "forward": lambda: forward(params, fixed)[0].block_until_ready(),
            "gradient": lambda: _ready(grad(params, fixed)),
            "gradient_every_fixed_leaf": lambda: _ready(every(params, fixed)),
        },
        repeats,
    )
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "hours": hours,
        "steps": problem.steps,
        "dt_s": problem.dt,
        "samples": int(problem.obs.value.size),
        "unknowns": [p.label for p in parameters],
        "forward_s": med["forward"],
        "gradient_s": med["gradient"],
        "gradient_over_forward": med["gradient"] / med["forward"],
        "every_fixed_leaf_over_forward": med["gradient_every_fixed_leaf"] / med["forward"],
        "fixed_leaves_differentiated": [int(m) for m in moved],
        "times_s": times,
        "compile_s": {"forward": forward_compile, "gradient": grad_compile},
        "forward_scratch_MB": forward.memory_analysis().temp_size_in_bytes / 1e6,
        "gradient_scratch_MB": grad.memory_analysis().temp_size_in_bytes / 1e6,
    }


def _ready(out):
    (value, _), _ = out
    return value.block_until_ready()


def memory_exponent(cases: list[dict]) -> float | None:
    if len(cases) < 2:
        return None
    n = np.log([c["steps"] for c in cases])
    return float(np.polyfit(n, np.log([c["gradient_scratch_MB"] for c in cases]), 1)[0])


def recovery_case() -> dict:
    t0 = time.perf_counter()
    fit, parameters = recovery()
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "iterations": len(fit.iterations),
        "evaluations": len(fit.history),
        "converged": fit.converged,
        "parameters": {
            p.label: {
                "truth": TRUTH[p.label],
                "estimate": float(e),
                "sd": float(s),
                "relative_error": float(e / TRUTH[p.label] - 1.0),
                "error_in_sd": float((e - TRUTH[p.label]) / s),
            }
            for p, e, s in zip(parameters, fit.estimate, fit.sd)
        },
        "unidentifiable": list(fit.unidentifiable),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--hours", type=float, nargs="*", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-recovery", action="store_true")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    twin.precision.set_precision("float64")
    hours = args.hours or ([0.25, 0.5] if args.quick else [1.0, 2.0, 4.0])
    result = {
        "benchmark": "calibration",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {"precision": "float64", "repeats": args.repeats, "scene": "gigafactory_cell"},
        "lengths": [],
    }
    for h in hours:
        case = length_case(h, args.repeats)
        result["lengths"].append(case)
        print(
            f"{h:g} h ({case['steps']} steps, {case['samples']} samples): forward {case['forward_s']:.2f} s, "
            f"gradient {case['gradient_s']:.2f} s ({case['gradient_over_forward']:.2f}x), scratch "
            f"{case['forward_scratch_MB']:.0f} / {case['gradient_scratch_MB']:.0f} MB",
            flush=True,
        )
    result["memory_exponent"] = memory_exponent(result["lengths"])
    if not (args.quick or args.no_recovery):
        result["recovery"] = recovery_case()
        print(f"recovery: {result['recovery']}", flush=True)
    result["machine"]["load_average_after"] = machine()["load_average_1_5_15min"]
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
