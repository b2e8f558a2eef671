"""Multilinear sampling of a cell-centred field at points, and its adjoint (deposit onto cells).

Points are in physical coordinates (x, y[, z]) in metres; fields are stored in array order
(..., y, x), so coordinate `d` maps to array axis `ndim - 1 - d`. A point is represented by the flat
indices of the 2^d cells around it and their weights, which sum to one: sampling is smooth in the
point's position (so gradients reach belt speed), and depositing with the same weights conserves the
deposited quantity exactly.
"""

from __future__ import annotations

import itertools
import math

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int


def corner_weights(
    points: Float[Array | np.ndarray, "p d"], spacing: tuple[float, ...], shape: tuple[int, ...]
) -> tuple[Int[Array | np.ndarray, "p c"], Float[Array | np.ndarray, "p c"]]:
    """Flat cell indices and weights of the 2^d cells around each point.

    spacing is per coordinate (x, y, z order); shape is the field's array shape. Points outside the
    outermost cell centres take the nearest edge value (weights clamp, they never extrapolate).
    NumPy points give NumPy arrays, computed on the host (static layouts are built so, with nothing
    to compile); JAX arrays and tracers give JAX arrays.
    """
    xp = np if isinstance(points, np.ndarray) else jnp
    ndim = len(shape)
    axis_shape = shape[::-1]  # extent per coordinate (x first)
    lower, frac = [], []
    for d in range(ndim):
        f = xp.clip(points[:, d] / spacing[d] - 0.5, 0.0, axis_shape[d] - 1)
        i0 = xp.clip(xp.floor(f), 0, max(axis_shape[d] - 2, 0)).astype(np.int32)
        lower.append(i0)
        frac.append(f - i0.astype(f.dtype))
    strides = [math.prod(axis_shape[:d]) for d in range(ndim)]
    idx, wts = [], []
    for corner in itertools.product((0, 1), repeat=ndim):
        # On an axis of one cell the upper corner (weight 0) stays on that cell: no index out of range.
        flat = sum(xp.minimum(lower[d] + corner[d], axis_shape[d] - 1) * strides[d] for d in range(ndim))
        w = 1.0
        for d in range(ndim):
            w = w * (frac[d] if corner[d] else 1.0 - frac[d])
        idx.append(flat)
        wts.append(w)
    return xp.stack(idx, axis=1), xp.stack(wts, axis=1)


def gather(field: Float[Array, "*grid"], idx: Int[Array, "p c"], w: Float[Array, "p c"]) -> Float[Array, " p"]:
    """Field value at each point."""
    return jnp.sum(field.reshape(-1)[idx] * w, axis=1)


def deposit(
    values: Float[Array, " p"], idx: Int[Array, "p c"], w: Float[Array, "p c"], shape: tuple[int, ...]
) -> Float[Array, "*grid"]:
    """Spread each point's value over its cells with the sampling weights (adjoint of `gather`)."""
    flat = jnp.zeros(math.prod(shape), values.dtype)
    return flat.at[idx.reshape(-1)].add((values[:, None] * w).reshape(-1)).reshape(shape)
