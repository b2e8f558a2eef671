"""Nested checkpointing (twin.time_loop.nested_scan, checkpoint_schedule): the same values and gradients
as a plain scan at every schedule, remainders included; gradient memory growing like √N with two levels
and ∛N with three; and the line's gradient through three levels equal to the uncheckpointed one."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fixtures import one_station_line

import twin
from twin import step as step_mod
from twin import time_loop
from twin.build import initial_state

DT = 0.8  # s
# Line gradients through three levels against none, as d value / d ln p over the value: the programs
# differ (XLA fuses the recomputed chunks otherwise); measured 5.7e-14.
SAME_GRADIENT = 1e-12
WIDTH = 4096  # floats in the toy carry: large enough that memory is the carries and residuals


def toy_body(carry, k):
    """A nonlinear step whose reverse pass needs residuals, and a reading per step."""
    x, total = carry
    x = jnp.sin(x) * 0.9 + 0.01 * jnp.cos(k.astype(x.dtype))
    return (x, total + jnp.sum(x)), jnp.mean(x)


def toy_loss(x0, n: int, schedule: tuple[int, ...], readings: bool = True):
    """readings=False drops the per-step readings (N numbers, and their cotangents: memory ∝ N that no
    schedule changes), leaving what the schedule decides."""

    def body(carry, k):
        carry, y = toy_body(carry, k)
        return carry, y if readings else None

    ks = jnp.arange(n, dtype=jnp.int32)
    (x, total), ys = time_loop.nested_scan(body, (x0, jnp.zeros((), x0.dtype)), ks, schedule)
    return jnp.sum(x**2) + total + (jnp.sum(ys * ys) if readings else 0.0)


@pytest.mark.parametrize("n, schedule", [(29, (4,)), (30, (5,)), (29, (2, 3)), (60, (3, 4)), (61, (3, 4)), (7, (3, 4))])
def test_nested_scan_equals_a_plain_scan_in_value_and_gradient(n, schedule):
    x0 = jnp.linspace(-1.0, 1.0, 64, dtype=jnp.float64)
    plain = jax.value_and_grad(toy_loss)(x0, n, ())
    nested = jax.value_and_grad(toy_loss)(x0, n, schedule)
    np.testing.assert_array_equal(np.asarray(nested[0]), np.asarray(plain[0]))  # same ops, same order
    np.testing.assert_allclose(np.asarray(nested[1]), np.asarray(plain[1]), rtol=1e-14, atol=1e-14)


def test_checkpoint_schedule_splits_every_run_and_adds_a_level_past_its_threshold():
    for n in [1, 2, 7, 250, 1000, 4001, 9999, 10_000, 16_000, 100_003]:
        schedule = time_loop.checkpoint_schedule(n)
        assert all(k >= 1 for k in schedule) and np.prod(schedule) <= n
        assert len(schedule) == (2 if n >= time_loop.THIRD_LEVEL_FROM else 1)
    rho = time_loop.RESIDUALS_PER_STATE
    (k,) = time_loop.checkpoint_schedule(4000)
    assert 0.5 * np.sqrt(4000 / rho) <= k <= np.sqrt(4000 / rho)  # a divisor near the optimum


def _scratch(n: int) -> float:
    """Bytes of scratch the compiled toy gradient needs at N = n under the default schedule."""
    x0 = jnp.zeros(WIDTH, jnp.float64)
    schedule = time_loop.checkpoint_schedule(n)
    compiled = jax.jit(jax.grad(lambda x: toy_loss(x, n, schedule, readings=False))).lower(x0).compile()
    return compiled.memory_analysis().temp_size_in_bytes


def _exponent(ns) -> float:
    return float(np.polyfit(np.log(ns), np.log([_scratch(n) for n in ns]), 1)[0])


def test_gradient_memory_grows_like_the_root_of_the_run_length():
    """Two levels below THIRD_LEVEL_FROM (√N; measured 0.32 on 1000…9000: chunk lengths are divisors
    near the optimum, not on it), three above (∛N; measured 0.35 on 10⁴…1.6·10⁵)."""
    assert _exponent([1000, 4000, 9000]) <= 0.55
    assert _exponent([10_000, 40_000, 160_000]) <= 0.40


@pytest.mark.slow  # 30 s: two line gradients of 10⁴ steps
def test_the_line_gradient_through_three_levels_equals_the_plain_one():
    layout, params, _ = twin.build(one_station_line(3.0, 90.0, 1.5), jnp.float64)
    n = time_loop.THIRD_LEVEL_FROM
    solver = twin.Solver(dt=DT)

    def energy(run):
        return jnp.sum(run.final.belts.energy) + run.final.tallies.wip[0]

    assert len(time_loop.checkpoint_schedule(n)) == 2
    nested = twin.value_and_grad(energy, layout, params, solver, n_steps=n)
    run = time_loop.trajectory(step_mod.make_step(layout, solver, DT), DT, n, checkpointed=False)

    def plain(p):
        state = initial_state(layout, p)
        final, _, _ = run(p, state, step_mod.fixed_terms(layout, p), state.t, 0)
        return jnp.sum(final.belts.energy) + final.tallies.wip[0]

    value, grad = jax.jit(jax.value_and_grad(plain))(params)
    assert float(nested.value) == float(value)
    # Compared as sensitivities to relative changes (d value / d ln p) against the value: a gradient that
    # is zero in exact arithmetic (part length on a one-segment belt) is round-off in both.
    for a, b, p in zip(*(jax.tree.leaves(x) for x in (nested.grad, grad, params))):
        error = np.max(np.abs((np.asarray(a) - np.asarray(b)) * np.asarray(p)), initial=0.0) / abs(float(value))
        assert error <= SAME_GRADIENT
