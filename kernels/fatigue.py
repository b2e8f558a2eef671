"""Structural fatigue of a stress history: rainflow counting (ASTM E1049-85 §5.4.4), Basquin's S-N curve
with a mean-stress correction, a temperature factor, and Miner's rule.

Counting picks the cycles — which pairs of reversals close a loop, each a half or a full cycle — and is
discrete: it runs on the values, without a gradient. The damage of the picked cycles is a smooth
function of the stresses at those reversals, so gradients reach everything that shapes the history
(cycle time, payload, trajectory) while the picking holds.

Two counters give the same cycles: `rainflow_numpy` (the reference, a plain stack over the reversals)
and `rainflow` (JAX, jit and vmap over series: fixed-size outputs, cycles padded with zero counts).
A cycle is (first index, second index, count) into the original samples; the residue left at the end
counts as half cycles, as the standard does.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from twin.kernels.pytree import pytree_dataclass

MEAN_STRESS = ("none", "goodman", "gerber", "morrow", "walker")

# ---------------------------------------------------------------------------------------------- counting


def reversal_indices_numpy(x: np.ndarray) -> np.ndarray:
    """Indices of the peaks and valleys of x (first and last sample included; a plateau counts once, at
    its first sample)."""
    x = np.asarray(x)
    if x.size < 2:
        return np.arange(x.size)
    keep = np.r_[True, np.diff(x) != 0]
    idx = np.flatnonzero(keep)
    d = np.sign(np.diff(x[idx]))
    turning = np.r_[True, d[1:] != d[:-1], True] if idx.size > 1 else np.array([True])
    return idx[turning]


def rainflow_numpy(x: np.ndarray) -> np.ndarray:
    """Cycles of x as rows (i, j, count) with i, j sample indices and count 0.5 or 1, in the order the
    standard closes them (residue last)."""
    x = np.asarray(x, float)
    stack: list[int] = []
    cycles = []
    for k in reversal_indices_numpy(x):
        stack.append(int(k))
        while len(stack) >= 3:
            X = abs(x[stack[-1]] - x[stack[-2]])
            Y = abs(x[stack[-2]] - x[stack[-3]])
            if X < Y:
                break
            if len(stack) == 3:  # Y holds the starting point: a half cycle, the start moves on
                cycles.append((stack[0], stack[1], 0.5))
                stack.pop(0)
            else:
                cycles.append((stack[-3], stack[-2], 1.0))
                del stack[-3:-1]
    cycles += [(a, b, 0.5) for a, b in zip(stack[:-1], stack[1:])]
    return np.array(cycles, dtype=float).reshape(-1, 3)


def _reversals(x):
    """(indices of the reversals in order, padded with the last one; how many) for a 1-D JAX series."""
    n = x.shape[0]
    k = jnp.arange(n, dtype=jnp.int32)
    changed = jnp.concatenate([jnp.ones(1, bool), x[1:] != x[:-1]])
    # direction into each kept sample from the previous kept one; the next kept sample's direction
    last_kept = jax.lax.cummax(jnp.where(changed, k, 0))
    prev_kept = jnp.concatenate([jnp.zeros(1, k.dtype), last_kept[:-1]])
    direction = jnp.sign(x - x[prev_kept])
    next_kept = jnp.flip(jax.lax.cummin(jnp.flip(jnp.where(changed, k, n))))  # at or after k
    following = jnp.concatenate([next_kept[1:], jnp.full(1, n, k.dtype)])  # strictly after k
    next_direction = jnp.where(following < n, direction[jnp.minimum(following, n - 1)], 0.0)
    turning = changed & ((k == 0) | (following >= n) | (direction != next_direction))
    order = jnp.argsort(~turning, stable=True).astype(jnp.int32)
    count = jnp.sum(turning, dtype=jnp.int32)
    return jnp.where(k < count, order, order[count - 1]), count


def rainflow(x) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(i, j, count) arrays of length len(x): the cycles of `rainflow_numpy`, in the same order, then
    zero counts. Runs on the values only (stop_gradient); gather stresses at i and j for the damage."""
    x = jax.lax.stop_gradient(x)
    n = x.shape[0]
    rev, m = _reversals(x)

    def close(state):
        buf, base, h, out, w = state
        a, b, c = buf[h - 3], buf[h - 2], buf[h - 1]
        X, Y = jnp.abs(x[c] - x[b]), jnp.abs(x[b] - x[a])
        return X, Y, a, b, c

    def closable(state):
        buf, base, h, out, w = state
        enough = h - base >= 3
        X, Y, *_ = close(state)
        return enough & (X >= Y)

    def pop(state):
        buf, base, h, out, w = state
        _, _, a, b, c = close(state)
        half = h - base == 3
        out = out.at[w].set(jnp.stack([a, b, jnp.where(half, 1, 2)]))
        buf = jnp.where(half, buf, buf.at[h - 3].set(c))
        return buf, jnp.where(half, base + 1, base), jnp.where(half, h, h - 2), out, w + 1

    def push(state, r):
        buf, base, h, out, w = state
        state = (buf.at[h].set(r), base, h + 1, out, w)
        return jax.lax.while_loop(closable, pop, state), None

    out = jnp.zeros((n, 3), jnp.int32)
    state = (jnp.zeros(n + 2, jnp.int32), jnp.int32(0), jnp.int32(0), out, jnp.int32(0))
    valid = jnp.arange(n, dtype=jnp.int32) < m

    def step(state, item):
        r, ok = item
        new, _ = push(state, r)
        return jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, state), None

    (buf, base, h, out, w), _ = jax.lax.scan(step, state, (rev.astype(jnp.int32), valid))
    # the residue: consecutive pairs of what is left on the stack, half cycles
    slot = jnp.arange(n, dtype=jnp.int32)
    residue = (slot >= base) & (slot < h - 1)
    at = w + slot - base
    first, second = buf[jnp.minimum(slot, n + 1)], buf[jnp.minimum(slot + 1, n + 1)]
    rows = jnp.stack([first, second, jnp.ones_like(first)], axis=1)
    out = out.at[jnp.where(residue, at, n)].set(rows, mode="drop")
    i, j, halves = out[:, 0], out[:, 1], out[:, 2]
    return i, j, 0.5 * halves.astype(x.dtype)


# ---------------------------------------------------------------------------------------------- S-N


@pytree_dataclass
class Material:
    """Basquin's S-N curve σa = σf'·(2N)^b and the strengths the mean-stress corrections use, Pa."""

    fatigue_strength: Float[Array, ""]  # σf', the fatigue strength coefficient
    fatigue_exponent: Float[Array, ""]  # b (< 0)
    ultimate_strength: Float[Array, ""]  # Su (Goodman, Gerber)
    walker_gamma: Float[Array, ""]  # γ of Walker's correction (0.5: Smith–Watson–Topper)
    mean_stress: str = dataclasses.field(default="goodman", metadata={"static": True})  # one of MEAN_STRESS


def equivalent_amplitude(material: Material, amplitude, mean):
    """The fully reversed amplitude that does the damage of (amplitude, mean), Pa."""
    kind = material.mean_stress
    if kind == "none":
        return amplitude
    if kind == "goodman":
        return amplitude / (1.0 - mean / material.ultimate_strength)
    if kind == "gerber":
        return amplitude / (1.0 - (mean / material.ultimate_strength) ** 2)
    if kind == "morrow":
        return amplitude / (1.0 - mean / material.fatigue_strength)
    peak = mean + amplitude  # walker: σmax^(1−γ)·σa^γ, no damage without tension
    tension = peak > 0
    value = jnp.where(tension, peak, 1.0) ** (1.0 - material.walker_gamma) * amplitude**material.walker_gamma
    return jnp.where(tension, value, 0.0)


def temperature_factor(T_celsius):
    """Marin's temperature factor k_d (Shigley's Mechanical Engineering Design, eq. 6-27, a fit over
    70–1000 °F): the fatigue strength at T over that at room temperature."""
    f = T_celsius * 1.8 + 32.0
    return 0.975 + 0.432e-3 * f - 0.115e-5 * f**2 + 0.104e-8 * f**3 - 0.595e-12 * f**4


def cycles_to_failure(material: Material, amplitude, mean, strength_factor=1.0):
    """N from Basquin, σar = k·σf'·(2N)^b, with σar the mean-corrected amplitude and k a strength factor
    (temperature, surface, size)."""
    return 1.0 / _damage_per_cycle(material, equivalent_amplitude(material, amplitude, mean), strength_factor)


def _damage_per_cycle(material: Material, equivalent, strength_factor):
    """1/N = 2·(σar / (k·σf'))^(−1/b)."""
    return 2.0 * (equivalent / (strength_factor * material.fatigue_strength)) ** (-1.0 / material.fatigue_exponent)


def damage(material: Material, stress, strength_factor=1.0, counter=rainflow):
    """Miner's sum Σ count/N over the rainflow cycles of a stress history (Pa), differentiable in the
    stresses (the counting is held). `counter`: this module's `rainflow` or its Warp twin,
    `twin.kernels.rainflow_warp.rainflow` (one launch for a whole `vmap`ped batch)."""
    return counted_damage(material, stress, counter(stress), strength_factor)


def counted_damage(material: Material, stress, cycles, strength_factor=1.0):
    """Miner's sum over `cycles`, the (i, j, count) rows a counter gave for `stress`: smooth in the
    stresses at the counted indices."""
    i, j, count = cycles
    a, b = stress[i], stress[j]
    amplitude, mean = 0.5 * jnp.abs(a - b), 0.5 * (a + b)
    counted = (count > 0) & (amplitude > 0)  # padded rows: safe values, so no NaN reaches the gradient
    amplitude, mean = jnp.where(counted, amplitude, 1.0), jnp.where(counted, mean, 0.0)
    equivalent = equivalent_amplitude(material, amplitude, mean)
    hurts = counted & (equivalent > 0)  # cycles without tension (Walker) do no damage
    per_cycle = _damage_per_cycle(material, jnp.where(hurts, equivalent, 1.0), strength_factor)
    return jnp.sum(jnp.where(hurts, count * per_cycle, 0.0))
