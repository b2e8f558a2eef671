"""Batched rainflow counting as a Warp kernel: one stress series per thread, an explicit batch axis.

The same counting as `twin.kernels.fatigue.rainflow_numpy` (ASTM E1049-85 §5.4.4 over the reversals,
residue as half cycles) and its JAX twin `fatigue.rainflow`, cycle for cycle and in the same order:
reversals are found while streaming (a kept sample — one differing from the last kept — is a reversal
when the direction into the next kept sample turns), each pushed onto a per-thread stack that closes
cycles as the standard does. Branchy, per-series work: what Warp runs well on CPU and GPU, where
`jax.vmap` of a `while_loop` steps every series as long as the slowest.
"""

from __future__ import annotations

import numpy as np
import warp as wp

_initialised = False


def _init() -> None:
    global _initialised
    if not _initialised:
        wp.config.quiet = True
        wp.init()
        _initialised = True


@wp.func
def _push(
    x: wp.array2d(dtype=wp.float64),
    stack: wp.array2d(dtype=wp.int32),
    out: wp.array3d(dtype=wp.int32),
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
        out[b, w, 0] = a
        out[b, w, 1] = m
        if h - base == 3:  # Y holds the starting point: a half cycle, the start moves on
            out[b, w, 2] = 1
            base = base + 1
        else:
            out[b, w, 2] = 2
            stack[b, h - 3] = c
            h = h - 2
        w = w + 1
    return wp.vec3i(base, h, w)


@wp.kernel
def _rainflow_kernel(
    x: wp.array2d(dtype=wp.float64),
    stack: wp.array2d(dtype=wp.int32),
    out: wp.array3d(dtype=wp.int32),
    n_out: wp.array(dtype=wp.int32),
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
                state = _push(x, stack, out, b, prev, base, h, w)
                base = state[0]
                h = state[1]
                w = state[2]
            prev = k
            prev_dir = direction
    if prev != 0:  # the last kept sample ends the history
        state = _push(x, stack, out, b, prev, base, h, w)
        base = state[0]
        h = state[1]
        w = state[2]
    for s in range(base, h - 1):  # the residue: half cycles
        out[b, w, 0] = stack[b, s]
        out[b, w, 1] = stack[b, s + 1]
        out[b, w, 2] = 1
        w = w + 1
    n_out[b] = w


def rainflow_batch(series: np.ndarray, device: str = "cpu") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, count) arrays (batch, n) for a (batch, n) float array, zero counts past each series'
    cycles — the layout of `fatigue.rainflow` under `jax.vmap`."""
    _init()
    x = np.ascontiguousarray(series, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"rainflow_batch: series must be (batch, samples), got shape {x.shape}")
    batch, n = x.shape
    xs = wp.array(x, dtype=wp.float64, device=device)
    stack = wp.zeros((batch, n + 2), dtype=wp.int32, device=device)
    out = wp.zeros((batch, max(n, 1), 3), dtype=wp.int32, device=device)
    n_out = wp.zeros(batch, dtype=wp.int32, device=device)
    if batch and n:
        wp.launch(_rainflow_kernel, dim=batch, inputs=[xs, stack, out, n_out], device=device)
    rows = out.numpy()[:, :n]
    return rows[..., 0], rows[..., 1], 0.5 * rows[..., 2].astype(np.float64)
