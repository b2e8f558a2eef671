"""Frozen dataclasses registered as JAX pytrees (every field is a leaf or a sub-tree)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp


def pytree_dataclass(cls):
    """Make `cls` a frozen dataclass whose fields JAX traces through (jit, grad, vmap, scan).

    `obj.replace(field=value)` returns a copy with fields changed.
    """
    cls = dataclasses.dataclass(frozen=True)(cls)
    cls.replace = dataclasses.replace
    return jax.tree_util.register_dataclass(cls)


def take(tree, i: int):
    """Entry `i` of the leading axis of every leaf: one entity's slice of a per-entity pytree."""
    return jax.tree.map(lambda a: a[i], tree)


def stack(trees):
    """The per-entity pytrees `trees` as one, each leaf stacked along a new leading axis (the inverse of
    `take` over all i)."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)
