"""The thermal stencil's hand-written adjoint (kernels/thermal.py, `_power`) against JAX's own transpose
of the same stencil (`_power_primal`): every cotangent — field, ρc, conductances, sink, source, every
entry of every face kind — for 2D and 3D, heterogeneous and scalar coefficients, through the explicit
rhs and through a θ-implicit step (the CG solve's transpose closes over the same operator)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tolerances import DTYPES, tol

from twin.kernels import thermal as th

DX = 0.1


def _problem(shape, dtype, rng):
    """Coefficients, all four face kinds (one per side of axes 0 and 1), a source and a field."""
    arr = lambda x: jnp.asarray(x, dtype)  # noqa: E731
    k = arr(0.5 + rng.random(shape))
    coeffs = th.Coefficients(
        arr(1e-3 * (0.5 + rng.random(shape))), th.face_conductance(k, (DX,) * len(shape)), arr(rng.random(shape))
    )
    edge = lambda axis, side: jax.lax.slice_in_dim(k, side * (shape[axis] - 1), side * (shape[axis] - 1) + 1, axis=axis)  # noqa: E731
    flux_slab = shape[:1] + (1,) + shape[2:]
    bcs = [
        (th.robin(arr(25.0), arr(20.0), edge(0, 0), DX), th.dirichlet(arr(60.0), edge(0, 1), DX)),
        (th.radiation(arr(0.8), arr(15.0), edge(1, 0), DX), th.neumann(arr(rng.random(flux_slab)), edge(1, 1), DX)),
    ] + [(None, None)] * (len(shape) - 2)
    return coeffs, tuple(bcs), arr(rng.random(shape)), arr(20.0 + 50.0 * rng.random(shape))


FLOOR = 1.0  # cotangents are compared relative to their largest entry, or to this where that is smaller:
# a face's contact reaches the loss (O(1e3)) only through radiation, so elsewhere both give ~1e-17 noise


def _relative_error(got, want) -> float:
    """Max over cotangents of the error relative to the cotangent's largest entry (at least FLOOR)."""
    errors = jax.tree.map(
        lambda a, b: float(jnp.max(jnp.abs(a - b)) / max(float(jnp.max(jnp.abs(b))), FLOOR)), got, want
    )
    return max(jax.tree.leaves(errors))


@pytest.mark.parametrize("precision", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(7, 9), (4, 5, 6)])
@pytest.mark.parametrize("linear_only, scaled", [(False, True), (True, False)])  # the rhs; the implicit operator
def test_adjoint_equals_jax_transpose(shape, linear_only, scaled, precision):
    rng = np.random.default_rng(1)
    coeffs, bcs, source, T = _problem(shape, DTYPES[precision], rng)
    weights = jnp.asarray(rng.random(shape), DTYPES[precision])

    def loss(power):
        def f(T, c, b, s):
            out = power(T, c, b, s, linear_only)
            return jnp.sum(weights * (c.inv_capacity * out if scaled and power is th._power_primal else out))

        return f

    ours = lambda T, c, b, s, lin: th._power(T, c, b, s, lin, scaled=scaled)  # noqa: E731
    got = jax.jit(jax.grad(loss(ours), argnums=(0, 1, 2, 3)))(T, coeffs, bcs, source)
    want = jax.jit(jax.grad(loss(th._power_primal), argnums=(0, 1, 2, 3)))(T, coeffs, bcs, source)
    assert _relative_error(got, want) < tol("thermal_adjoint", precision)


def test_adjoint_keeps_literal_zero_terms_skipped():
    """Scalar coefficients with literal zeros (no sink, no source): same cotangents, and the zeros'
    terms stay out of the adjoint (a traced zero would still be differentiated)."""
    rng = np.random.default_rng(2)
    coeffs = th.Coefficients(1e-3, (100.0, 100.0))
    bcs = ((th.robin(25.0, 20.0, 1.0, DX), None), (None, None))
    T, weights = (jnp.asarray(rng.random((6, 6)), jnp.float64) for _ in range(2))

    def loss(power):
        return lambda T, c: jnp.sum(weights * power(T, c, bcs, 0.0, False))

    got = jax.jit(jax.grad(loss(th._power), argnums=(0, 1)))(T, coeffs)
    want = jax.jit(jax.grad(loss(th._power_primal), argnums=(0, 1)))(T, coeffs)
    assert _relative_error(got, want) < tol("thermal_adjoint", "float64")


@pytest.mark.parametrize("theta", [0.5, pytest.param(1.0, marks=pytest.mark.slow)])  # 30 s each (compiles)
def test_implicit_step_gradient_equals_jax_transpose(theta, monkeypatch):
    rng = np.random.default_rng(3)
    coeffs, bcs, source, T = _problem((8, 10), jnp.float64, rng)
    weights = jnp.asarray(rng.random((8, 10)))

    def loss(T, c, b, s):
        return jnp.sum(weights * th.implicit_step(T, c, b, s, 30.0, theta, tol=1e-14))

    grad = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3)))
    got = grad(T, coeffs, bcs, source)
    monkeypatch.setattr(
        th, "_power", lambda T, c, b, s, linear_only, scaled=False: th._power_primal(T, c, b, s, linear_only)
    )
    want = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3)))(T, coeffs, bcs, source)
    assert _relative_error(got, want) < tol("thermal_adjoint_implicit", "float64")
