"""Multilinear sampling: exact on linear fields, deposit is gather's adjoint (so heat is conserved), and
the host (NumPy) path used for static layouts gives the same cells and weights as the JAX path."""

import jax.numpy as jnp
import numpy as np
import pytest

from twin.kernels import sampling

# float64 round-off of a few operations on O(10) values.
EXACT_F64 = 1e-12

CASES = [((6, 9), (0.5, 0.25)), ((4, 5, 7), (0.3, 0.2, 0.4))]  # (array shape, spacing x-first)


def points_in(shape, spacing, rng, n=40, margin=0.0):
    """Random points (x-first, m) over the floor, `margin` cells beyond its edges on every side."""
    extent = np.asarray(shape[::-1]) * np.asarray(spacing)
    lo, hi = -margin * np.asarray(spacing), extent + margin * np.asarray(spacing)
    return lo + (hi - lo) * rng.random((n, len(shape)))


@pytest.mark.parametrize("shape, spacing", CASES)
def test_host_and_jax_paths_agree(shape, spacing):
    pts = points_in(shape, spacing, np.random.default_rng(1), margin=1.0)  # edges and beyond included
    idx_np, w_np = sampling.corner_weights(pts, spacing, shape)
    idx_jx, w_jx = sampling.corner_weights(jnp.asarray(pts), spacing, shape)
    assert isinstance(idx_np, np.ndarray) and isinstance(w_np, np.ndarray)
    np.testing.assert_array_equal(idx_np, np.asarray(idx_jx))
    np.testing.assert_allclose(w_np, np.asarray(w_jx), rtol=0, atol=EXACT_F64)
    np.testing.assert_allclose(w_np.sum(axis=1), 1.0, rtol=0, atol=EXACT_F64)


@pytest.mark.parametrize("shape, spacing", CASES)
def test_gather_is_exact_on_linear_fields(shape, spacing):
    ndim = len(shape)
    centres = np.meshgrid(
        *[(np.arange(shape[ndim - 1 - d]) + 0.5) * spacing[d] for d in range(ndim)][::-1], indexing="ij"
    )[::-1]  # x, y(, z) of every cell, array order
    slope = np.asarray([1.5, -2.0, 0.7][:ndim])
    field = 3.0 + sum(s * c for s, c in zip(slope, centres))
    # Between the outer cell centres, where multilinear interpolation reproduces a linear field.
    pts = np.asarray(spacing) * (0.5 + (np.asarray(shape[::-1]) - 1) * np.random.default_rng(2).random((40, ndim)))
    idx, w = sampling.corner_weights(pts, spacing, shape)
    got = sampling.gather(jnp.asarray(field), jnp.asarray(idx), jnp.asarray(w))
    np.testing.assert_allclose(np.asarray(got), 3.0 + pts @ slope, rtol=0, atol=EXACT_F64)


@pytest.mark.parametrize("shape, spacing", CASES)
def test_deposit_is_the_adjoint_of_gather(shape, spacing):
    rng = np.random.default_rng(3)
    idx, w = (jnp.asarray(a) for a in sampling.corner_weights(points_in(shape, spacing, rng), spacing, shape))
    field, values = jnp.asarray(rng.random(shape)), jnp.asarray(rng.random(40))
    spread = sampling.deposit(values, idx, w, shape)
    assert float(jnp.sum(spread)) == pytest.approx(float(jnp.sum(values)), rel=EXACT_F64)  # nothing lost
    assert float(jnp.vdot(sampling.gather(field, idx, w), values)) == pytest.approx(
        float(jnp.vdot(field, spread)), rel=EXACT_F64
    )
