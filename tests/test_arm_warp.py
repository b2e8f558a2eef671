"""The Warp inverse dynamics (twin.kernels.arm_warp) against the JAX recursion it twins
(twin.kernels.arm, itself checked against Lagrange's equations in tests/test_arm_dynamics.py): the PUMA
560 in standard and modified DH with friction and a payload off its axes, and the two-link arm against
its closed form, on random states in float32 and float64; split across threads, the same numbers."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fixtures import puma560
from test_arm_dynamics import GRAVITY, two_link, two_link_lagrangian
from tolerances import DTYPES, tol

from twin.kernels import arm as arm_mod
from twin.kernels import arm_warp


def _payload(dtype) -> arm_mod.Payload:
    inertia = np.array([[0.05, 0.004, -0.002], [0.004, 0.03, 0.001], [-0.002, 0.001, 0.04]])
    return arm_mod.Payload(*(jnp.asarray(x, dtype) for x in (4.5, [0.02, -0.03, 0.11], inertia)))


def _states(joints: int, count: int, dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    size = (count, joints)
    return [x.astype(dtype) for x in (rng.uniform(-np.pi, np.pi, size), rng.normal(0, 2, size), rng.normal(0, 5, size))]


@functools.cache
def _jax_torques(precision: str, modified: bool):
    arm, load = puma560(DTYPES[precision], modified), _payload(DTYPES[precision])
    gravity = jnp.asarray(GRAVITY, DTYPES[precision])
    return jax.jit(jax.vmap(lambda q, qd, qdd: arm_mod.inverse_dynamics(arm, q, qd, qdd, gravity, load)))


def _relative(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))) / np.max(np.abs(np.asarray(b, float))))


@pytest.mark.parametrize("modified", [False, True], ids=["standard", "modified"])
def test_warp_equals_the_jax_recursion(modified, precision):
    dtype = DTYPES[precision]
    states = _states(6, 2000, np.dtype(dtype), seed=int(modified))
    ours = arm_warp.inverse_dynamics_batch(puma560(dtype, modified), *states, GRAVITY, _payload(dtype))
    assert ours.dtype == np.dtype(dtype) and ours.shape == (2000, 6)
    assert _relative(ours, _jax_torques(precision, modified)(*states)) <= tol("arm_backends", precision)


def test_two_link_arm_equals_its_closed_form():
    arm, p = two_link(jnp.float64)
    states = _states(2, 200, np.float64, seed=3)
    ours = arm_warp.inverse_dynamics_batch(arm, *states, (0.0, -9.81, 0.0))
    exact = np.stack([two_link_lagrangian(p, *(x[k] for x in states)) for k in range(200)])
    assert _relative(ours, exact) <= tol("two_link_torque", "float64")


def test_threads_split_the_batch_and_change_no_number():
    states = _states(6, 1001, np.float64, seed=4)  # an odd count: unequal shares
    arm, load = puma560(jnp.float64), _payload(jnp.float64)
    one = arm_warp.inverse_dynamics_batch(arm, *states, GRAVITY, load, threads=1)
    np.testing.assert_array_equal(arm_warp.inverse_dynamics_batch(arm, *states, GRAVITY, load, threads=3), one)


def test_bad_states_are_refused():
    arm = puma560(jnp.float64)
    q = np.zeros((4, 5))
    with pytest.raises(ValueError, match=r"\(N, 6\)"):
        arm_warp.inverse_dynamics_batch(arm, q, q, q, GRAVITY)
    with pytest.raises(ValueError, match="float32 or float64"):
        arm_warp.inverse_dynamics_batch(arm, *(np.zeros((4, 6), np.complex64),) * 3, GRAVITY)


@pytest.mark.gpu
def test_warp_on_the_gpu_equals_the_cpu():
    import warp as wp

    from twin.kernels import warp_runtime

    warp_runtime.init()
    if not wp.is_cuda_available():
        pytest.skip("no CUDA device")
    states = _states(6, 10_000, np.float64, seed=5)
    arm, load = puma560(jnp.float64), _payload(jnp.float64)
    cpu = arm_warp.inverse_dynamics_batch(arm, *states, GRAVITY, load)
    gpu = arm_warp.inverse_dynamics_batch(arm, *states, GRAVITY, load, device="cuda")
    assert _relative(gpu, cpu) <= tol("arm_backends", "float64")
