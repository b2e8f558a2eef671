"""Tolerances of the line tests, named once and keyed by precision (as jax-md's test_util does).

Each entry is set at the error measured on this suite's cases times a margin, written beside it, so
that a regression well below an issue's acceptance bound still fails.
"""

from __future__ import annotations

import jax.numpy as jnp

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}

TOLERANCES: dict[str, dict[str, float]] = {
    # name: {precision: tolerance}
}


def tol(name: str, precision: str) -> float:
    """The tolerance `name` for 'float32' or 'float64'."""
    return TOLERANCES[name][precision]
