"""Batched rainflow counting as a Warp kernel: one stress series per thread, an explicit batch axis.

The same counting as `twin.kernels.fatigue.rainflow_numpy` (ASTM E1049-85 §5.4.4 over the reversals,
residue as half cycles) and its JAX twin `fatigue.rainflow`, cycle for cycle and in the same order:
reversals are found while streaming (a kept sample — one differing from the last kept — is a reversal
when the direction into the next kept sample turns), each pushed onto a per-thread stack that closes
cycles as the standard does. Branchy, per-series work: what Warp runs well on CPU and GPU, where
`jax.vmap` of a `while_loop` steps every series as long as the slowest.

`rainflow_batch` takes and returns NumPy arrays (on the CPU Warp works in them in place); `rainflow`
is the same counting called from JAX (`jax.pure_callback`; under `vmap` the whole batch is one launch),
a drop-in for `fatigue.rainflow`, e.g. as `fatigue.damage(..., counter=rainflow_warp.rainflow)`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import warp as wp

from twin.kernels.warp_runtime import init


@wp.func
def _push(
    x: wp.array2d(dtype=wp.float64),
    stack: wp.array2d(dtype=wp.int32),
    first: wp.array2d(dtype=wp.int32),
    second: wp.array2d(dtype=wp.int32),
    count: wp.array2d(dtype=wp.float64),
    b: int,
    reversal: int,
    base_in: int,
    h_in: int,
    w_in: int,
):
    """Push a reversal and close every cycle the top of the stack then allows; returns (base, h, w)."""
    stack[b, h_in] = reversal
    base = int(base_in)
    h = int(h_in + 1)
    w = int(w_in)
    while h - base >= 3:
        a = stack[b, h - 3]
        m = stack[b, h - 2]
        c = stack[b, h - 1]
        X = wp.abs(x[b, c] - x[b, m])
        Y = wp.abs(x[b, m] - x[b, a])
        if X < Y:
            break
        first[b, w] = a
        second[b, w] = m
        if h - base == 3:  # Y holds the starting point: a half cycle, the start moves on
            count[b, w] = wp.float64(0.5)
            base = base + 1
        else:
            count[b, w] = wp.float64(1.0)
            stack[b, h - 3] = c
            h = h - 2
        w = w + 1
    return wp.vec3i(base, h, w)


@wp.kernel(enable_backward=False)  # counting has no gradient: the JAX damage holds it
def _rainflow_kernel(
    x: wp.array2d(dtype=wp.float64),
    stack: wp.array2d(dtype=wp.int32),
    first: wp.array2d(dtype=wp.int32),
    second: wp.array2d(dtype=wp.int32),
    count: wp.array2d(dtype=wp.float64),
):
    b = wp.tid()
    n = x.shape[1]
    # int(...) declares a variable the loops may change (Warp treats a bare literal as a constant)
    base = int(0)  # noqa: UP018
    w = int(0)  # noqa: UP018
    stack[b, 0] = 0  # the first sample is always a reversal
    h = int(1)  # noqa: UP018
    prev = int(0)  # noqa: UP018  (the last kept sample)
    zero = wp.float64(0.0)
    prev_dir = wp.float64(0.0)  # direction into it (0: none yet)
    for k in range(1, n):
        d = x[b, k] - x[b, prev]
        if d != zero:
            direction = wp.sign(d)
            if prev_dir != zero and direction != prev_dir:  # prev turned: a reversal
                state = _push(x, stack, first, second, count, b, prev, base, h, w)
                base = state[0]
                h = state[1]
                w = state[2]
            prev = k
            prev_dir = direction
    if prev != 0:  # the last kept sample ends the history
        state = _push(x, stack, first, second, count, b, prev, base, h, w)
        base = state[0]
        h = state[1]
        w = state[2]
    for s in range(base, h - 1):  # the residue: half cycles
        first[b, w] = stack[b, s]
        second[b, w] = stack[b, s + 1]
        count[b, w] = wp.float64(0.5)
        w = w + 1


def rainflow_batch(series: np.ndarray, device: str = "cpu") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, count) arrays (batch, n) for a (batch, n) float array, zero counts past each series'
    cycles — the layout of `fatigue.rainflow` under `jax.vmap` (count float64, i and j int32)."""
    init()
    x = np.ascontiguousarray(series, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"rainflow_batch: series must be (batch, samples), got shape {x.shape}")
    batch, n = x.shape
    # zero-filled NumPy outputs (pages the kernel never writes stay untouched), shared with Warp on the
    # CPU and copied back from a GPU
    out = (np.zeros((batch, n), np.int32), np.zeros((batch, n), np.int32), np.zeros((batch, n), np.float64))
    if not (batch and n):
        return out
    on_cpu = wp.get_device(device).is_cpu
    args = [wp.array(x, dtype=wp.float64, device=device, copy=not on_cpu)]
    args.append(wp.empty((batch, n + 2), dtype=wp.int32, device=device))
    args += [wp.array(a, device=device, copy=not on_cpu) for a in out]
    wp.launch(_rainflow_kernel, dim=batch, inputs=args, device=device)
    if on_cpu:
        wp.synchronize_device(device)
        return out
    return tuple(a.numpy() for a in args[2:])


def rainflow(x) -> tuple[jax.Array, jax.Array, jax.Array]:
    """`fatigue.rainflow` counted by the Warp kernel: (i, j, count) of a JAX series (..., n), any leading
    batch axes (and `jax.vmap`s) counted in one launch. Runs on the values only, as the JAX counter does."""
    x = jax.lax.stop_gradient(x)
    shapes = (
        jax.ShapeDtypeStruct(x.shape, jnp.int32),
        jax.ShapeDtypeStruct(x.shape, jnp.int32),
        jax.ShapeDtypeStruct(x.shape, x.dtype),
    )

    def count(values):
        values = np.asarray(values)
        i, j, c = rainflow_batch(values.reshape(-1, values.shape[-1]))
        return i.reshape(values.shape), j.reshape(values.shape), c.reshape(values.shape).astype(values.dtype)

    return jax.pure_callback(count, shapes, x, vmap_method="expand_dims")
