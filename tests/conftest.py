"""Strict numerics for every test: float64 where numbers are checked, and no silent rank or dtype promotion.

Line tests take the `precision` fixture and run in both float32 (the production default) and float64,
with tolerances from `tolerances.py` keyed by precision.

Compile once: the session shares one JAX compilation cache, in a temporary folder, with the `twin`
commands the tests start as subprocesses (they inherit its environment variables), so a scene compiled
by one test or command is loaded, not compiled again, by the next.
"""

import atexit
import os
import shutil
import tempfile

_CACHE = tempfile.mkdtemp(prefix="twin-test-jax-cache-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
os.environ["JAX_COMPILATION_CACHE_DIR"] = _CACHE
os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.1"  # smaller programs compile faster than they load
os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"

import jax  # noqa: E402  (reads the cache settings above)
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")  # no silent int→float or float32→float64 mixing

from fixtures import small_line_scene  # noqa: E402,F401  (session fixture shared by the test files)


@pytest.fixture(params=["float32", "float64"])
def precision(request) -> str:
    """Both precisions: 'float32' and 'float64' (a dtype via tolerances.DTYPES)."""
    return request.param


# Every compiled XLA CPU program holds memory mappings (a default-scene run ~1,000), and the kernel
# allows a process 65,530 (vm.max_map_count): some 700 tests in, the next compile or cache write
# segfaulted. Past this many mappings the compiled programs are let go; they load again from the
# persistent cache when next needed (releasing a default-scene run measured 1,930 → 848 mappings).
MAPPINGS_BEFORE_RELEASE = 40_000


def _mappings() -> int:
    try:
        with open("/proc/self/maps", "rb") as maps:
            return sum(1 for _ in maps)
    except OSError:  # not Linux: no such limit to watch
        return 0


@pytest.fixture(autouse=True)
def _release_compiled_programs_near_the_mapping_limit():
    yield
    if _mappings() > MAPPINGS_BEFORE_RELEASE:
        import gc

        from twin import gradient, time_loop

        time_loop.program.cache_clear()
        gradient._run_program.cache_clear()
        jax.clear_caches()
        gc.collect()
