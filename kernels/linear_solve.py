"""Matrix-free symmetric positive definite solves: Jacobi-preconditioned conjugate gradients.

Operators are plain functions `v -> A v` on arrays of any shape (the field shape, never flattened), so one
code path serves 2D and 3D grids and works under `jit`, `vmap` and `grad`. `solve_spd` wraps the CG in
`lax.custom_linear_solve`, so reverse-mode gradients are one more (transposed = same) solve instead of a
differentiation through the iterations, and they reach whatever the operator closes over.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Bool, Float, Int

Operator = Callable[[Array], Array]


class CGInfo(NamedTuple):
    """How a CG solve ended (a status value, since nothing can be raised inside jit)."""

    iterations: Int[Array, ""]
    residual_norm: Float[Array, ""]  # ‖b − A x‖₂ at exit, units of b
    converged: Bool[Array, ""]  # residual_norm ≤ max(rtol·‖b‖₂, atol)


def default_rtol(dtype) -> float:
    """A relative residual the dtype can reach: round-off stalls CG a few digits above machine epsilon."""
    return 1e-10 if jnp.finfo(dtype).bits >= 64 else 1e-5


def _dot(a: Array, b: Array) -> Array:
    return jnp.sum(a * b)


def pcg(
    matvec: Operator,
    b: Float[Array, "*shape"],
    inv_diag: Float[Array, "*shape"] | float = 1.0,
    x0: Float[Array, "*shape"] | None = None,
    *,
    rtol: float | None = None,
    atol: float = 0.0,
    maxiter: int = 1000,
) -> tuple[Float[Array, "*shape"], CGInfo]:
    """Solve A x = b for symmetric positive definite A, Jacobi-preconditioned.

    `inv_diag` is 1/diag(A) (array of b's shape or a scalar). Stops when ‖r‖₂ ≤ max(rtol·‖b‖₂, atol) or
    after `maxiter` iterations; `info.converged` says which. A zero b returns x = x0 (or 0) at once; a
    non-finite b returns NaN (not converged).
    """
    rtol = default_rtol(b.dtype) if rtol is None else rtol
    x = jnp.zeros_like(b) if x0 is None else x0
    r = b if x0 is None else b - matvec(x0)
    z = inv_diag * r
    bound = jnp.maximum(rtol**2 * _dot(b, b), atol**2)

    def cond(state):
        k, _, _, _, _, rr = state
        return (rr > bound) & (k < maxiter)

    def body(state):
        k, x, r, p, rz, _ = state
        Ap = matvec(p)
        alpha = rz / _dot(p, Ap)
        x = x + alpha * p
        r = r - alpha * Ap
        z = inv_diag * r
        rz_new = _dot(r, z)
        p = z + (rz_new / rz) * p
        return k + 1, x, r, p, rz_new, _dot(r, r)

    init = (jnp.zeros((), jnp.int32), x, r, z, _dot(r, z), _dot(r, r))
    k, x, _, _, _, rr = lax.while_loop(cond, body, init)
    # A non-finite right-hand side stops CG at once with x = 0; pass it on instead, so it is seen.
    finite = jnp.isfinite(bound)
    return jnp.where(finite, x, jnp.nan), CGInfo(k, jnp.sqrt(rr), finite & (rr <= bound))


def solve_spd(
    matvec: Operator,
    b: Float[Array, "*shape"],
    diag: Float[Array, "*shape"] | float,
    *,
    rtol: float | None = None,
    atol: float = 0.0,
    maxiter: int = 1000,
) -> tuple[Float[Array, "*shape"], CGInfo]:
    """x = A⁻¹ b for SPD `matvec`, differentiable w.r.t. b and everything `matvec` closes over.

    `diag` is diag(A) for the Jacobi preconditioner; it only speeds the solve up, so no gradient flows
    through it. Returns (x, info).
    """
    inv_diag = lax.stop_gradient(_safe_inverse(diag))

    def solve(mv, rhs):
        return pcg(mv, rhs, inv_diag, rtol=rtol, atol=atol, maxiter=maxiter)

    return lax.custom_linear_solve(matvec, b, solve, symmetric=True, has_aux=True)


def _safe_inverse(diag):
    # A zero diagonal entry means a decoupled, singular row; leave it unpreconditioned rather than inf.
    diag = jnp.asarray(diag)
    return jnp.where(diag > 0, 1.0 / jnp.where(diag > 0, diag, 1.0), 1.0)


__all__ = ["CGInfo", "default_rtol", "pcg", "solve_spd"]
