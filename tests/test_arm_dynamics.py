"""Arm inverse dynamics (twin.kernels.arm) against what it must equal: a two-link planar arm's closed-form
Lagrangian torques; a six-axis arm's torques against M(q)q̈ + C(q,q̇)q̇ + g(q) assembled independently
from its kinetic and potential energy by automatic differentiation; gravity torques against a static
moment balance; the same arm in standard and modified DH; in float64 and float32."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fixtures import puma560
from tolerances import DTYPES, tol

from twin.kernels import arm as arm_mod

G = 9.81
GRAVITY = (0.0, 0.0, -G)


def two_link(dtype) -> tuple[arm_mod.Arm, dict]:
    """A planar arm in the x-y plane (joint axes along z), standard DH, gravity along −y."""
    p = {"l1": 0.8, "l2": 0.6, "lc1": 0.35, "lc2": 0.25, "m1": 12.0, "m2": 7.0, "I1": 0.6, "I2": 0.3}
    dh = [[p["l1"], 0.0, 0.0, 0.0], [p["l2"], 0.0, 0.0, 0.0]]
    com = [[p["lc1"] - p["l1"], 0.0, 0.0], [p["lc2"] - p["l2"], 0.0, 0.0]]  # frame i at the link's far end
    inertia = [np.diag([0.01, p["I1"], p["I1"]]), np.diag([0.01, p["I2"], p["I2"]])]
    zeros = jnp.zeros(2, dtype)
    arm = arm_mod.Arm(
        jnp.asarray(dh, dtype),
        jnp.asarray([p["m1"], p["m2"]], dtype),
        jnp.asarray(com, dtype),
        jnp.asarray(np.stack(inertia), dtype),
        zeros,
        zeros,
        zeros,
        zeros,
    )
    return arm, p


def two_link_lagrangian(p: dict, q, qd, qdd) -> np.ndarray:
    """Spong, Hutchinson & Vidyasagar, Robot Modeling and Control (2006), §7.4.1: M q̈ + C q̇ + g."""
    c2, s2 = np.cos(q[1]), np.sin(q[1])
    m11 = p["m1"] * p["lc1"] ** 2 + p["m2"] * (p["l1"] ** 2 + p["lc2"] ** 2 + 2 * p["l1"] * p["lc2"] * c2)
    m11 += p["I1"] + p["I2"]
    m12 = p["m2"] * (p["lc2"] ** 2 + p["l1"] * p["lc2"] * c2) + p["I2"]
    m22 = p["m2"] * p["lc2"] ** 2 + p["I2"]
    h = -p["m2"] * p["l1"] * p["lc2"] * s2
    coriolis = np.array([h * (2 * qd[0] * qd[1] + qd[1] ** 2), -h * qd[0] ** 2])
    g1 = (p["m1"] * p["lc1"] + p["m2"] * p["l1"]) * G * np.cos(q[0]) + p["m2"] * p["lc2"] * G * np.cos(q[0] + q[1])
    g2 = p["m2"] * p["lc2"] * G * np.cos(q[0] + q[1])
    return np.array([[m11, m12], [m12, m22]]) @ qdd + coriolis + np.array([g1, g2])


def _energy_torques(arm: arm_mod.Arm, q, qd, qdd):
    """τ by Lagrange's equations from T(q, q̇) and V(q), differentiated by JAX: M q̈ + (∂(M q̇)/∂q) q̇ −
    ∂T/∂q + ∂V/∂q, plus friction. Uses only the forward kinematics, not the recursion."""

    def centres_and_axes(q):
        rotations, origins = arm_mod.frames(arm, q)
        centres = origins[1:] + jnp.einsum("nij,nj->ni", rotations[1:], arm.com)
        at = slice(1, None) if arm.modified else slice(0, -1)
        return centres, rotations[at, :, 2], rotations[1:]

    def kinetic(q, qd):
        (_, axes, rotations), (v, _, _) = jax.jvp(centres_and_axes, (q,), (qd,))
        omegas = jnp.cumsum(qd[:, None] * axes, axis=0)  # ω of link i: Σ_{j ≤ i} q̇ⱼ zⱼ
        inertias = rotations @ arm.inertia @ jnp.swapaxes(rotations, -1, -2)
        rotational = jnp.einsum("ni,nij,nj->", omegas, inertias, omegas)
        rotor = jnp.sum(arm.gear_ratio**2 * arm.rotor_inertia * qd**2)
        return 0.5 * (jnp.sum(arm.mass * jnp.sum(v * v, axis=1)) + rotational + rotor)

    def potential(q):
        centres, _, _ = centres_and_axes(q)
        return -jnp.sum(arm.mass * (centres @ jnp.asarray(GRAVITY, q.dtype)))

    momentum = jax.grad(kinetic, argnums=1)  # ∂T/∂q̇ = M(q) q̇
    mass = jax.jacfwd(momentum, argnums=1)(q, qd)
    coupling = jax.jacfwd(momentum, argnums=0)(q, qd) @ qd
    friction = arm.viscous * qd + arm.coulomb * jnp.sign(qd)
    return mass @ qdd + coupling - jax.grad(kinetic, argnums=0)(q, qd) + jax.grad(potential)(q) + friction


def _states(n: int, count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-np.pi, np.pi, n), rng.uniform(-2, 2, n), rng.uniform(-5, 5, n)) for _ in range(count)]


@functools.cache
def _compiled(name: str, precision: str, modified: bool = False):
    arm = puma560(DTYPES[precision], modified) if name == "puma560" else two_link(DTYPES[precision])[0]
    gravity = jnp.asarray(GRAVITY if name == "puma560" else (0.0, -G, 0.0), DTYPES[precision])
    return arm, jax.jit(lambda q, qd, qdd: arm_mod.inverse_dynamics(arm, q, qd, qdd, gravity))


def test_two_link_arm_equals_the_closed_form_lagrangian(precision):
    arm, p = two_link(DTYPES[precision])
    _, rnea = _compiled("two_link", precision)
    worst = 0.0
    for q, qd, qdd in _states(2, 20):
        tau = np.asarray(rnea(*(jnp.asarray(x, DTYPES[precision]) for x in (q, qd, qdd))), float)
        exact = two_link_lagrangian(p, q, qd, qdd)
        worst = max(worst, np.max(np.abs(tau - exact)) / np.max(np.abs(exact)))
    assert worst <= tol("two_link_torque", precision)


@pytest.mark.parametrize("modified", [False, True], ids=["standard", "modified"])
def test_six_axis_torques_equal_lagrange_from_its_energies(modified, precision):
    arm, rnea = _compiled("puma560", precision, modified)
    energy = jax.jit(functools.partial(_energy_torques, arm))
    worst = 0.0
    for q, qd, qdd in _states(6, 10, seed=1):
        args = [jnp.asarray(x, DTYPES[precision]) for x in (q, qd, qdd)]
        tau, reference = np.asarray(rnea(*args), float), np.asarray(energy(*args), float)
        worst = max(worst, np.max(np.abs(tau - reference)) / np.max(np.abs(reference)))
    assert worst <= tol("six_axis_torque", precision)


def test_standard_and_modified_dh_give_the_same_arm(precision):
    standard, rnea_standard = _compiled("puma560", precision, False)
    modified, rnea_modified = _compiled("puma560", precision, True)
    worst = 0.0
    for q, qd, qdd in _states(6, 10, seed=2):
        args = [jnp.asarray(x, DTYPES[precision]) for x in (q, qd, qdd)]
        a, b = np.asarray(rnea_standard(*args), float), np.asarray(rnea_modified(*args), float)
        worst = max(worst, np.max(np.abs(a - b)) / np.max(np.abs(a)))
        # the flange differs by the last row's Tx(a)·Rx(α): here none, so the same frame
        for x, y in zip(arm_mod.flange(standard, args[0]), arm_mod.flange(modified, args[0])):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=tol("six_axis_torque", precision))
    assert worst <= tol("dh_conventions", precision)


def test_gravity_torques_balance_the_static_moments(precision):
    """At rest each joint holds the moment of the weights beyond it about its axis; with a payload too."""
    dtype = DTYPES[precision]
    arm = puma560(dtype)
    payload = arm_mod.Payload(
        jnp.asarray(5.0, dtype), jnp.asarray([0.0, 0.02, 0.1], dtype), jnp.eye(3, dtype=dtype) * 0.02
    )
    gravity = jnp.asarray(GRAVITY, dtype)
    rnea = jax.jit(lambda q: arm_mod.inverse_dynamics(arm, q, jnp.zeros_like(q), jnp.zeros_like(q), gravity, payload))
    for q, _, _ in _states(6, 10, seed=3):
        qj = jnp.asarray(q, dtype)
        rotations, origins = (np.asarray(x, float) for x in arm_mod.frames(arm, qj))
        centres = origins[1:] + np.einsum("nij,nj->ni", rotations[1:], np.asarray(arm.com, float))
        centres = np.vstack([centres, origins[-1] + rotations[-1] @ np.asarray(payload.com, float)])
        weights = np.r_[np.asarray(arm.mass, float), 5.0][:, None] * np.asarray(GRAVITY)
        held = [-rotations[j][:, 2] @ np.sum(np.cross(centres[j:] - origins[j], weights[j:]), axis=0) for j in range(6)]
        scale = np.max(np.abs(held))
        np.testing.assert_allclose(
            np.asarray(rnea(qj), float), held, rtol=0, atol=tol("six_axis_torque", precision) * scale
        )


def test_mass_matrix_is_symmetric_positive_definite_and_holds_the_rotors():
    arm = puma560(jnp.float64)
    for q, _, _ in _states(6, 5, seed=4):
        M = np.asarray(arm_mod.mass_matrix(arm, jnp.asarray(q)))
        np.testing.assert_allclose(M, M.T, rtol=0, atol=1e-12 * np.max(np.abs(M)))
        assert np.all(np.linalg.eigvalsh(M) > 0)
        bare = np.asarray(arm_mod.mass_matrix(arm.replace(rotor_inertia=jnp.zeros(6)), jnp.asarray(q)))
        np.testing.assert_allclose(np.diag(M - bare), np.asarray(arm.gear_ratio**2 * arm.rotor_inertia), rtol=1e-12)


def test_inverse_dynamics_vmaps_over_samples_and_arms():
    arm = puma560(jnp.float64)
    states = _states(6, 8, seed=5)
    q, qd, qdd = (jnp.asarray(np.stack([s[k] for s in states])) for k in range(3))
    gravity = jnp.asarray(GRAVITY)
    batched = jax.vmap(arm_mod.inverse_dynamics, in_axes=(None, 0, 0, 0, None))(arm, q, qd, qdd, gravity)
    one_by_one = np.stack([np.asarray(arm_mod.inverse_dynamics(arm, *s, gravity)) for s in zip(q, qd, qdd)])
    np.testing.assert_allclose(np.asarray(batched), one_by_one, rtol=1e-13, atol=1e-12)
    arms = jax.tree.map(lambda *x: jnp.stack(x), arm, arm.replace(mass=arm.mass * 1.5))
    two = jax.vmap(arm_mod.inverse_dynamics, in_axes=(0, None, None, None, None))(arms, q[0], qd[0], qdd[0], gravity)
    assert two.shape == (2, 6) and not np.allclose(two[0], two[1])
