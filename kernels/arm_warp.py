"""Inverse dynamics of a DH arm as a Warp kernel: one joint state per thread, for batches of samples.

The same torques as `twin.kernels.arm.inverse_dynamics` (which stays the differentiable one), from the
same `Arm` and `Payload`: the recursive Newton–Euler algorithm in the base frame, velocities and
accelerations outward from the base, each link's inertial force fₖ = mₖ·a_cₖ and moment about the
base origin mₖ = I_k·αₖ + ωₖ × I_k·ωₖ + cₖ × fₖ; joint i's link-side torque is the joint axis zᵢ dotted
with the suffix sums beyond it, zᵢ·(Σₖ≥ᵢ mₖ − pᵢ × Σₖ≥ᵢ fₖ), pᵢ the joint's point. The motor side adds
G²·Jm·q̈ + b·q̇ + fc·sign(q̇). A kernel is built per (joints, convention, dtype): the joint loops unroll
and every link's quantities stay in registers — where `jax.vmap` of the JAX recursion streams each
step through memory for the whole batch.

On the CPU a Warp launch runs on one thread; `inverse_dynamics_batch` splits a batch across `threads`
Python threads, each launching on its share (a launch holds no Python lock while it runs).
"""

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import warp as wp

from twin.kernels.arm import Arm, Payload
from twin.kernels.warp_runtime import init

_WARP_DTYPES = {np.dtype(np.float32): wp.float32, np.dtype(np.float64): wp.float64}


@functools.cache
def _kernel(joints: int, modified: bool, dtype):
    """The RNEA kernel for arms of `joints` revolute joints in one DH convention and precision."""
    vec3 = wp.types.vector(3, dtype)
    mat33 = wp.types.matrix((3, 3), dtype)
    rows = wp.types.matrix((joints, 3), dtype)  # one 3-vector per link, held in registers

    @wp.func
    def link_transform(a: dtype, alpha: dtype, d: dtype, theta: dtype):
        """(R, p) of frame i in frame i−1 for one DH row at angle θ = q + offset."""
        ct, st = wp.cos(theta), wp.sin(theta)
        ca, sa = wp.cos(alpha), wp.sin(alpha)
        zero, one = dtype(0.0), dtype(1.0)
        rz = mat33(ct, -st, zero, st, ct, zero, zero, zero, one)
        rx = mat33(one, zero, zero, zero, ca, -sa, zero, sa, ca)
        if wp.static(modified):  # Rx(α)·Tx(a)·Rz(θ)·Tz(d)
            return rx * rz, vec3(a, zero, zero) + rx * vec3(zero, zero, d)
        return rz * rx, vec3(zero, zero, d) + rz * vec3(a, zero, zero)  # Rz(θ)·Tz(d)·Tx(a)·Rx(α)

    @wp.func
    def column_z(R: mat33):
        return vec3(R[0, 2], R[1, 2], R[2, 2])

    @wp.kernel(enable_backward=False)  # forward only: the JAX recursion is the differentiable one
    def rnea(
        q: wp.array2d(dtype=dtype),
        qd: wp.array2d(dtype=dtype),
        qdd: wp.array2d(dtype=dtype),
        dh: wp.array2d(dtype=dtype),
        mass: wp.array(dtype=dtype),
        com: wp.array(dtype=vec3),
        inertia: wp.array(dtype=mat33),
        armature: wp.array(dtype=dtype),
        viscous: wp.array(dtype=dtype),
        coulomb: wp.array(dtype=dtype),
        gravity: vec3,
        load_mass: dtype,
        load_com: vec3,
        load_inertia: mat33,
        tau: wp.array2d(dtype=dtype),
    ):
        s = wp.tid()
        zero = vec3(dtype(0.0), dtype(0.0), dtype(0.0))
        R = wp.identity(3, dtype)
        origin = zero
        omega = zero
        alpha = zero
        accel = -gravity  # of `point`: the base "accelerates up"
        point = zero
        forces = rows()
        moments = rows()
        axes = rows()
        points = rows()
        for i in range(wp.static(joints)):
            Ri, pi = link_transform(dh[i, 0], dh[i, 1], dh[i, 2], q[s, i] + dh[i, 3])
            axis = column_z(R)
            here = origin
            origin = origin + R * pi
            R = R * Ri
            if wp.static(modified):  # joint i turns about z of frame i, at its origin
                axis = column_z(R)
                here = origin
            lever = here - point
            accel = accel + wp.cross(alpha, lever) + wp.cross(omega, wp.cross(omega, lever))
            spin = qd[s, i] * axis
            alpha = alpha + qdd[s, i] * axis + wp.cross(omega, spin)
            omega = omega + spin
            point = here
            # the link's inertial force and its moment about the base origin
            centre = origin + R * com[i]
            r = centre - point
            f = mass[i] * (accel + wp.cross(alpha, r) + wp.cross(omega, wp.cross(omega, r)))
            inertia_w = R * inertia[i] * wp.transpose(R)
            m = inertia_w * alpha + wp.cross(omega, inertia_w * omega) + wp.cross(centre, f)
            if i == wp.static(joints - 1):  # what the flange carries, on the last link
                centre = origin + R * load_com
                r = centre - point
                f_load = load_mass * (accel + wp.cross(alpha, r) + wp.cross(omega, wp.cross(omega, r)))
                inertia_w = R * load_inertia * wp.transpose(R)
                f = f + f_load
                m = m + inertia_w * alpha + wp.cross(omega, inertia_w * omega) + wp.cross(centre, f_load)
            forces[i] = f
            moments[i] = m
            axes[i] = axis
            points[i] = point
        force = zero
        moment = zero
        for k in range(wp.static(joints)):
            i = wp.static(joints - 1) - k
            force = force + forces[i]
            moment = moment + moments[i]
            link_side = wp.dot(axes[i], moment - wp.cross(points[i], force))
            motor_side = armature[i] * qdd[s, i] + viscous[i] * qd[s, i] + coulomb[i] * wp.sign(qd[s, i])
            tau[s, i] = link_side + motor_side

    return rnea


def inverse_dynamics_batch(
    arm: Arm,
    q: np.ndarray,
    qd: np.ndarray,
    qdd: np.ndarray,
    gravity,
    payload: Payload | None = None,
    threads: int = 1,
    device: str = "cpu",
) -> np.ndarray:
    """Joint torques (N, n) for (N, n) angles, speeds and accelerations, in their float dtype; one arm.
    On the CPU the batch is split across `threads` concurrent launches."""
    init()
    dtype = np.result_type(q.dtype, np.float32)
    if dtype not in _WARP_DTYPES:
        raise ValueError(f"inverse_dynamics_batch: float32 or float64 states, got {dtype}")
    states = [np.ascontiguousarray(x, dtype) for x in (q, qd, qdd)]
    n_samples, joints = states[0].shape
    if arm.dh.shape[0] != joints or any(x.shape != states[0].shape for x in states):
        raise ValueError(f"inverse_dynamics_batch: states must be (N, {arm.dh.shape[0]}) each")
    wdtype = _WARP_DTYPES[dtype]
    kernel = _kernel(joints, arm.modified, wdtype)
    vec3, mat33 = wp.types.vector(3, wdtype), wp.types.matrix((3, 3), wdtype)
    load = payload or Payload(np.zeros(()), np.zeros(3), np.zeros((3, 3)))

    def put(x, kind=None):
        return wp.array(np.asarray(x, dtype), dtype=kind or wdtype, device=device)

    constants = [
        put(arm.dh),
        put(arm.mass),
        put(arm.com, vec3),
        put(arm.inertia, mat33),
        put(np.asarray(arm.gear_ratio) ** 2 * np.asarray(arm.rotor_inertia)),
        put(arm.viscous),
        put(arm.coulomb),
        vec3(*np.asarray(gravity, dtype)),
        wdtype(float(load.mass)),
        vec3(*np.asarray(load.com, dtype)),
        mat33(*np.asarray(load.inertia, dtype).ravel()),
    ]
    tau = np.zeros((n_samples, joints), dtype)
    on_cpu = wp.get_device(device).is_cpu
    parts = np.array_split(np.arange(n_samples), max(1, threads) if on_cpu else 1)

    def launch(part):
        lo, hi = (int(part[0]), int(part[-1]) + 1) if part.size else (0, 0)
        if hi == lo:
            return
        arrays = [wp.array(x[lo:hi], dtype=wdtype, device=device, copy=not on_cpu) for x in states]
        out = wp.array(tau[lo:hi], dtype=wdtype, device=device, copy=not on_cpu)
        wp.launch(kernel, dim=hi - lo, inputs=[*arrays, *constants, out], device=device)
        wp.synchronize_device(device)
        if not on_cpu:
            tau[lo:hi] = out.numpy()

    if len(parts) == 1:
        launch(parts[0])
    else:
        with ThreadPoolExecutor(len(parts)) as pool:
            list(pool.map(launch, parts))
    return tau
