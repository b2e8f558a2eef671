"""JAX's persistent compilation cache in a per-user cache directory, as Warp keeps its kernel cache.

With it, a second `twin simulate` of a scene already run (same layout, solver, dt and chunk length)
loads the compiled step from disk instead of compiling it again — most of a short run's time
(benchmarks/second_run.py measures it). The directory: `$TWIN_CACHE_DIR`, else JAX's own
`$JAX_COMPILATION_CACHE_DIR`, else `$XDG_CACHE_HOME/twin/jax`, else `~/.cache/twin/jax`; the run key
`compile_cache=false` turns it off. JAX's `JAX_PERSISTENT_CACHE_*` variables, where set, are kept.
Entries are keyed by JAX on the program, the JAX version and the device, so a stale entry is never used.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

MIN_COMPILE_S = 0.1  # s; programs that compile faster than this load no faster than they compile


def directory() -> Path:
    """Where the cache lives (see the module docstring)."""
    for variable in ("TWIN_CACHE_DIR", "JAX_COMPILATION_CACHE_DIR"):
        if os.environ.get(variable):
            return Path(os.environ[variable])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "twin" / "jax"


def use(enabled: bool = True) -> Path | None:
    """Turn JAX's persistent compilation cache on in `directory()` (or off); returns the directory used.

    A directory that cannot be created leaves the cache off: the run compiles, as without it.
    """
    if not enabled:
        jax.config.update("jax_enable_compilation_cache", False)
        return None
    path = directory()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_enable_compilation_cache", True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
    if "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES" not in os.environ:
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path
