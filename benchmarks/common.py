"""What the benchmark scripts share: the machine description, interleaved timing and the atomic JSON write.

Scripts run from the repository root (`python benchmarks/<name>.py`), so this module is imported by
its file name (`from common import ...`); it is not part of the `twin` package.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np


def machine() -> dict:
    """CPU, platform, library versions, JAX backend and devices, and the load average now."""
    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "jax_version": jax.__version__,
        "numpy_version": np.__version__,
        "jax_backend": jax.default_backend(),
        "jax_devices": [str(d) for d in jax.devices()],
        "load_average_1_5_15min": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def time_interleaved(runners: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Seconds of each call, per runner: one untimed warm-up call each, then `repeats` rounds that call
    every runner once in turn, so background load lands on all of them alike."""
    for run in runners.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    return times


def summary(times: list[float], items: float, unit: str) -> dict:
    """Every time, the median and the best, and `items` per second at both."""
    median, best = statistics.median(times), min(times)
    return {"times_s": times, "median_s": median, "min_s": best, unit: items / median, f"best_{unit}": items / best}


def write_json(out: Path, result: dict) -> None:
    """Write `result` to `out` through a temporary file and a rename: a reader never sees half a file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(out)
