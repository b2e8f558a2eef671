"""Strict numerics for every test: float64 where numbers are checked, and no silent rank promotion."""

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
