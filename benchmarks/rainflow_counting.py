"""Rainflow counting throughput (samples per second): twin's Warp kernel against the `rainflow` and
`fatpack` packages, exact counting (no binning), on the same random stress series in the same run.

    python benchmarks/rainflow_counting.py                  # 1000 series × 10⁴ samples, 3 interleaved repeats
    python benchmarks/rainflow_counting.py --quick          # 50 series × 2000 samples: a smoke run
    python benchmarks/rainflow_counting.py --series 200 --samples 100000 --out /tmp/rf.json

Every variant turns the (series, samples) random walks into each series' cycles — range, mean and count
(1 or ½, the residue as half cycles, ASTM E1049-85 §5.4.4):

- `twin_warp`: `twin.kernels.rainflow_warp.rainflow_batch` (one series per Warp thread, CPU here), the
  ranges and means gathered from its (i, j, count) rows with NumPy;
- `twin_jax`: the JAX counter `twin.kernels.fatigue.rainflow`, `vmap`ped and jitted, on the first
  `--jax-series` series only (its `vmap` steps every series as long as the longest; the rate is per
  sample it counted);
- `rainflow_package`: `rainflow.extract_cycles` (pure Python), series by series;
- `fatpack`: `fatpack.find_rainflow_cycles` (its four-point method) on the exact reversals (NumPy:
  fatpack's own `find_reversals` bins the series into k classes), its residue as half cycles.

Checks in the JSON: `warp_equals_rainflow_package` (every series: the same cycles in the same order),
`jax_equals_warp` (the subset, index for index), `fatpack_full_cycles_equal` (the four-point method's
closed cycles are the three-point method's full cycles, as a multiset of ranges). See README.md.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

from common import machine, summary, time_interleaved, write_json  # noqa: E402

from twin.kernels import fatigue, rainflow_warp  # noqa: E402

DEFAULT_OUT = Path(__file__).parent / "results" / "rainflow_counting.json"


def cycles_from_rows(series: np.ndarray, i, j, count) -> list[np.ndarray]:
    """Per series, its (range, mean, count) rows from index rows whose cycles come first, zero counts after."""
    s, k = np.nonzero(count > 0)
    a, b = series[s, i[s, k]], series[s, j[s, k]]
    table = np.column_stack([np.abs(a - b), 0.5 * (a + b), count[s, k]])
    return np.split(table, np.cumsum(np.bincount(s, minlength=series.shape[0]))[:-1])


def warp_runner(series):
    def run():
        return cycles_from_rows(series, *rainflow_warp.rainflow_batch(series))

    return run


def jax_runner(series):
    counter = jax.jit(jax.vmap(fatigue.rainflow))
    x = jnp.asarray(series)

    def run():
        i, j, count = jax.block_until_ready(counter(x))
        return cycles_from_rows(series, np.asarray(i), np.asarray(j), np.asarray(count))

    return run


def rainflow_package_runner(series):
    import rainflow

    def run():
        return [np.array([c[:3] for c in rainflow.extract_cycles(s)]).reshape(-1, 3) for s in series]

    return run


def exact_reversals(y: np.ndarray) -> np.ndarray:
    """The peaks and valleys of `y` and its end points, without binning (plateaus kept once)."""
    kept = y[np.concatenate([[True], np.diff(y) != 0])]
    if kept.size < 3:
        return kept
    turning = np.diff(np.sign(np.diff(kept))) != 0
    return kept[np.concatenate([[True], turning, [True]])]


def fatpack_runner(series):
    import fatpack

    def one(y):
        closed, residue = fatpack.find_rainflow_cycles(exact_reversals(y))
        closed = closed.reshape(-1, 2)
        full = np.column_stack([np.abs(closed[:, 0] - closed[:, 1]), closed.mean(axis=1), np.ones(len(closed))])
        half = np.column_stack([np.abs(np.diff(residue)), 0.5 * (residue[1:] + residue[:-1])])
        return np.vstack([full, np.column_stack([half, np.full(len(half), 0.5)])])

    return lambda: [one(y) for y in series]


def same_cycles(ours: list[np.ndarray], theirs: list[np.ndarray]) -> bool:
    return all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(ours, theirs))


def same_full_ranges(ours: list[np.ndarray], theirs: list[np.ndarray]) -> bool:
    def full(table):
        return np.sort(table[table[:, 2] == 1.0, 0])

    return all(np.array_equal(full(a), full(b)) for a, b in zip(ours, theirs))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--jax-series", type=int, default=20, help="series the JAX counter is timed on")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="50 series × 2000 samples")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    n_series, n_samples = (50, 2000) if args.quick else (args.series, args.samples)
    jax_series = min(args.jax_series, n_series)

    series = np.cumsum(np.random.default_rng(0).normal(size=(n_series, n_samples)), axis=1)
    runners = {
        "twin_warp": warp_runner(series),
        "twin_jax": jax_runner(series[:jax_series]),
        "rainflow_package": rainflow_package_runner(series),
        "fatpack": fatpack_runner(series),
    }
    cycles = {name: run() for name, run in runners.items()}
    times = time_interleaved(runners, args.repeats)
    counted = {name: n_series * n_samples for name in runners} | {"twin_jax": jax_series * n_samples}
    variants = {name: summary(ts, counted[name], "samples_per_s") for name, ts in times.items()}
    rate = {name: v["samples_per_s"] for name, v in variants.items()}
    result = {
        "benchmark": "rainflow_counting",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "series": n_series,
            "samples": n_samples,
            "jax_series": jax_series,
            "repeats": args.repeats,
            "quick": args.quick,
        },
        "cycles_counted": int(sum(len(c) for c in cycles["twin_warp"])),
        "variants": variants,
        "warp_over_rainflow_package": rate["twin_warp"] / rate["rainflow_package"],
        "warp_over_fatpack": rate["twin_warp"] / rate["fatpack"],
        "warp_over_jax": rate["twin_warp"] / rate["twin_jax"],
        "warp_equals_rainflow_package": same_cycles(cycles["twin_warp"], cycles["rainflow_package"]),
        "jax_equals_warp": same_cycles(cycles["twin_jax"], cycles["twin_warp"][:jax_series]),
        "fatpack_full_cycles_equal": same_full_ranges(cycles["twin_warp"], cycles["fatpack"]),
    }
    write_json(args.out, result)
    print(
        f"Warp {rate['twin_warp']:.3g} samples/s; rainflow {rate['rainflow_package']:.3g}; "
        f"fatpack {rate['fatpack']:.3g}; JAX {rate['twin_jax']:.3g} "
        f"({result['warp_over_rainflow_package']:.0f}x the rainflow package) -> {args.out}"
    )
    return result


if __name__ == "__main__":
    main()
