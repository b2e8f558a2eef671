"""Precision and device of a run: `precision=float32|float64`, `device=auto|cpu|gpu` (config values)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from twin.errors import TwinInputError

PRECISIONS = {"float32": jnp.float32, "float64": jnp.float64}
DEVICES = ("auto", "cpu", "gpu")


def set_precision(precision: str):
    """Enable float64 in JAX when asked for (a process-wide JAX setting); return the dtype."""
    if precision not in PRECISIONS:
        raise TwinInputError("precision", precision, f"allowed: {', '.join(PRECISIONS)}")
    if precision == "float64":
        jax.config.update("jax_enable_x64", True)
    return PRECISIONS[precision]


def dtype_name(dtype) -> str:
    """'float32' or 'float64' for a dtype given as a NumPy/JAX type, a string or a jnp scalar type."""
    name = jnp.dtype(dtype).name
    if name not in PRECISIONS:
        raise TwinInputError("dtype", name, f"allowed: {', '.join(PRECISIONS)}")
    return name


def select_device(name: str) -> jax.Device:
    """The JAX device for `device=auto|cpu|gpu`; auto takes a GPU when JAX sees one."""
    if name not in DEVICES:
        raise TwinInputError("device", name, f"allowed: {', '.join(DEVICES)}")
    if name != "cpu":
        try:
            return jax.devices("gpu")[0]
        except RuntimeError:  # no GPU backend in this JAX install, or no GPU visible
            if name == "gpu":
                raise TwinInputError(
                    "device",
                    name,
                    "JAX sees no GPU here; install the CUDA build (pip install 'factory-twin[gpu]') or use device=cpu",
                ) from None
    return jax.devices("cpu")[0]
