"""Implicit thermal stepping and its matrix-free solver: temporal orders (backward Euler, Crank–Nicolson,
and forward Euler for comparison), the CG solve itself, float32, and batching with vmap."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fixtures import march, stepper

from twin.kernels import linear_solve
from twin.kernels import thermal as th

ORDER_TOL = 0.2  # fitted slope within ±0.2 of the design order (STYLE.md §7)
CG_RTOL = 1e-12  # relative residual asked of CG where the test needs the exact linear solution
SOLVE_ATOL = 1e-10  # dense-vs-CG agreement for a well-conditioned 20×20 system at CG_RTOL
FLOAT32_RTOL = 1e-4  # float32 implicit vs float64: CG stops at 1e-5 relative residual in float32

N_MODE, DX, K, RHO_C = 16, 0.01, 1.0, 1e5


def _eigenmode_errors(method: str, step_counts) -> list[float]:
    """cos·cos on an insulated box is an exact eigenvector of the discrete operator, so the semi-discrete
    solution is known exactly, exp(λ_h t): what is left is the time-stepping error alone."""
    coeffs = th.Coefficients(1.0 / RHO_C, (K / DX**2, K / DX**2))
    bcs = ((None, None), (None, None))
    angle = np.pi / N_MODE
    lam = -2 * (K / RHO_C / DX**2) * 4 * np.sin(angle / 2) ** 2  # 1/s, two axes
    t_end = 1.0 / -lam
    c = np.cos(angle * (np.arange(N_MODE) + 0.5))
    mode = np.outer(c, c)

    @jax.jit  # dt and the step count traced: one compilation for every refinement
    def run(T, steps):
        return march(stepper(method, coeffs, bcs, 0.0, t_end / steps, tol=CG_RTOL), T, steps)

    exact = mode * np.exp(lam * t_end)
    return [float(np.max(np.abs(np.asarray(run(jnp.asarray(mode), n)) - exact))) for n in step_counts]


@pytest.mark.parametrize(
    "method, order, steps",
    [
        ("crank_nicolson", 2.0, [8, 16, 32, 64]),
        ("backward_euler", 1.0, [8, 16, 32, 64]),
        ("explicit", 1.0, [64, 128, 256, 512]),  # 64 steps is just inside stable_dt on this grid
    ],
)
def test_temporal_convergence_order(method, order, steps):
    errors = _eigenmode_errors(method, steps)
    slope = np.polyfit(np.log(1.0 / np.array(steps)), np.log(errors), 1)[0]
    assert abs(slope - order) <= ORDER_TOL, (slope, errors)


def test_pcg_matches_dense_solve_on_field_shaped_arrays():
    rng = np.random.default_rng(0)
    shape = (4, 5)
    B = rng.standard_normal((20, 20))
    A = B @ B.T + 20 * np.eye(20)
    b = rng.standard_normal(shape)
    matvec = lambda v: (jnp.asarray(A) @ v.reshape(-1)).reshape(shape)  # noqa: E731
    x, info = linear_solve.pcg(matvec, jnp.asarray(b), jnp.asarray(1 / np.diag(A)).reshape(shape), rtol=CG_RTOL)
    np.testing.assert_allclose(x, np.linalg.solve(A, b.reshape(-1)).reshape(shape), atol=SOLVE_ATOL)
    assert bool(info.converged) and int(info.iterations) <= 20 + 5


def test_solve_spd_gradient_reaches_matvec_parameters():
    rng = np.random.default_rng(1)
    B = rng.standard_normal((6, 6))
    A0 = jnp.asarray(B @ B.T + 6 * np.eye(6))
    b = jnp.asarray(rng.standard_normal(6))

    def via_cg(s):
        x, _ = linear_solve.solve_spd(lambda v: A0 @ v + s * v, b, jnp.diag(A0) + s, rtol=CG_RTOL)
        return jnp.sum(x**2)

    def dense(s):
        return jnp.sum(jnp.linalg.solve(A0 + s * jnp.eye(6), b) ** 2)

    np.testing.assert_allclose(jax.jit(jax.grad(via_cg))(0.7), jax.grad(dense)(0.7), rtol=1e-9)


def test_cg_reports_non_convergence():
    coeffs = th.Coefficients(1.0 / RHO_C, (K / DX**2, K / DX**2))
    bcs = ((th.dirichlet(50.0, K, DX), None), (None, None))
    _, info = jax.jit(th.implicit_step_with_info, static_argnames="maxiter")(
        jnp.full((32, 32), 20.0), coeffs, bcs, 0.0, 1e4, maxiter=3
    )
    assert int(info.iterations) == 3 and not bool(info.converged)


def _small_case(dtype):
    rng = np.random.default_rng(2)
    k = jnp.asarray(1 + rng.random((10, 12)), dtype)
    coeffs = th.Coefficients(1.0 / RHO_C, th.face_conductance(k, (DX, DX)), 0.3)
    bcs = ((th.robin(25.0, 80.0, k[:1], DX), None), (th.dirichlet(5.0, k[:, :1], DX), None))
    return coeffs, bcs, jnp.asarray(20 + rng.random((10, 12)), dtype)


def test_float32_stays_float32_and_agrees_with_float64():
    out = {}
    for dtype in (jnp.float32, jnp.float64):
        coeffs, bcs, T0 = _small_case(dtype)
        step = lambda T: th.implicit_step(T, coeffs, bcs, 100.0, 50.0, theta=0.5)  # noqa: E731, B023 (used at once)
        out[dtype] = jax.jit(march, static_argnums=(0, 2))(step, T0, 10)
    assert out[jnp.float32].dtype == jnp.float32
    np.testing.assert_allclose(out[jnp.float32], out[jnp.float64], rtol=FLOAT32_RTOL)


def test_vmap_over_scenarios_matches_one_by_one():
    coeffs, _, T0 = _small_case(jnp.float64)

    def final(h):
        bcs = ((th.robin(h, 80.0, 1.5, DX), None), (None, None))
        return march(lambda T: th.implicit_step(T, coeffs, bcs, 0.0, 50.0, tol=CG_RTOL), T0, 5)

    hs = jnp.array([5.0, 50.0, 500.0])
    batched = jax.jit(jax.vmap(final))(hs)
    for i, h in enumerate(hs):
        np.testing.assert_allclose(batched[i], jax.jit(final)(h), rtol=1e-11)
