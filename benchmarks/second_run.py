"""What JAX's persistent compilation cache saves a second `twin simulate` of the same scene.

    python benchmarks/second_run.py                         # default scene, 1 h of line time, 3 repeats
    python benchmarks/second_run.py --scene oven_wall_1d --duration 600 --repeats 1
    python benchmarks/second_run.py --out /tmp/second.json  # default benchmarks/results/second_run.json

Each repeat runs the command three times, in fresh processes, interleaved so background load lands on
all alike: `cold` (compile_cache on, an empty cache directory: what a first run pays), `warm` (the same
directory, now filled by the cold run: a second run) and `off` (compile_cache=false). The wall time of
each is the whole command as a user sees it (interpreter start, imports, build, compile or load, run,
files). The JSON holds every wall time, their medians, `saved_s` = median(cold) − median(warm) and
`warm_over_cold` = median(warm) / median(cold); `cache_MB` is what one cold run wrote.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_OUT = Path(__file__).parent / "results" / "second_run.json"
MODES = ("cold", "warm", "off")


def run_once(scene: str, duration: float, run_dir: Path, cache: Path, mode: str) -> float:
    """Wall time (s) of one `twin simulate` in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env["TWIN_CACHE_DIR"] = str(cache)
    command = [
        sys.executable,
        "-m",
        "twin",
        "simulate",
        f"scene={scene}",
        f"duration={duration}",
        "progress=false",
        "render=false",
        "overwrite=true",
        f"hydra.run.dir={run_dir}",
        f"compile_cache={mode != 'off'}",
    ]
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"twin simulate failed ({mode}): {done.stderr.strip()}")
    return wall


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def benchmark(scene: str, duration: float, repeats: int) -> dict:
    walls = {mode: [] for mode in MODES}
    cache_mb = []
    with tempfile.TemporaryDirectory(prefix="twin-second-run-") as tmp:
        for i in range(repeats):
            cache = Path(tmp) / f"cache-{i}"
            for mode in MODES:
                walls[mode].append(run_once(scene, duration, Path(tmp) / "run", cache, mode))
                if mode == "cold":
                    cache_mb.append(size_mb(cache))
    median = {mode: statistics.median(w) for mode, w in walls.items()}
    return {
        "scene": scene,
        "duration_s": duration,
        "repeats": repeats,
        "wall_s": {mode: {"median": median[mode], "all": walls[mode]} for mode in MODES},
        "saved_s": median["cold"] - median["warm"],
        "warm_over_cold": median["warm"] / median["cold"],
        "cache_MB": statistics.median(cache_mb),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scene", default="gigafactory_cell")
    parser.add_argument("--duration", type=float, default=3600.0, help="s of line time per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    result = benchmark(args.scene, args.duration, max(1, args.repeats))
    result["machine"] = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    result["when"] = datetime.now(UTC).isoformat(timespec="seconds")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(args.out)
    print(json.dumps({k: result[k] for k in ("saved_s", "warm_over_cold", "cache_MB")}))


if __name__ == "__main__":
    main()
