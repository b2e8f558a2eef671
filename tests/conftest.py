"""Strict numerics for every test: float64 where numbers are checked, and no silent rank promotion.

Line tests take the `precision` fixture and run in both float32 (the production default) and float64,
with tolerances from `tolerances.py` keyed by precision.
"""

import jax
import pytest

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(params=["float32", "float64"])
def precision(request) -> str:
    """Both precisions: 'float32' and 'float64' (a dtype via tolerances.DTYPES)."""
    return request.param
