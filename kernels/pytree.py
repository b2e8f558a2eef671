"""Frozen dataclasses registered as JAX pytrees (every field is a leaf or a sub-tree)."""

from __future__ import annotations

import dataclasses

import jax


def pytree_dataclass(cls):
    """Make `cls` a frozen dataclass whose fields JAX traces through (jit, grad, vmap, scan).

    `obj.replace(field=value)` returns a copy with fields changed.
    """
    cls = dataclasses.dataclass(frozen=True)(cls)
    cls.replace = dataclasses.replace
    return jax.tree_util.register_dataclass(cls)
