"""The Warp rainflow kernel (twin.kernels.rainflow_warp) equals the NumPy reference and the JAX counter
cycle for cycle on thousands of random series, on the CPU here and on a GPU where there is one."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_fatigue import ASTM_HISTORY, ASTM_TABLE, _table
from tolerances import DTYPES

from twin.kernels import fatigue, rainflow_warp, warp_runtime


def _random_series(kind: str, n_series: int = 5000, length: int = 150) -> np.ndarray:
    rng = np.random.default_rng({"random_walk": 0, "white": 1, "integers": 2}[kind])
    if kind == "random_walk":
        return np.cumsum(rng.normal(size=(n_series, length)), axis=1)
    if kind == "white":
        return rng.normal(size=(n_series, length))
    return rng.integers(-3, 4, size=(n_series, length)).astype(float)  # ties and plateaus


def _check_against_reference(series: np.ndarray, device: str) -> None:
    i, j, c = rainflow_warp.rainflow_batch(series, device)
    for s in range(series.shape[0]):
        reference = fatigue.rainflow_numpy(series[s])
        k = reference.shape[0]
        np.testing.assert_array_equal(np.column_stack([i[s, :k], j[s, :k], c[s, :k]]), reference)
        assert np.all(c[s, k:] == 0)


def test_the_astm_example():
    i, j, c = rainflow_warp.rainflow_batch(np.asarray([ASTM_HISTORY]))
    assert _table(ASTM_HISTORY, np.column_stack([i[0], j[0], c[0]])) == ASTM_TABLE


@pytest.mark.parametrize("kind", ["random_walk", "white", "integers"])
def test_warp_equals_the_reference_cycle_for_cycle(kind):
    _check_against_reference(_random_series(kind), "cpu")


def test_warp_called_from_jax_equals_the_jax_counter(precision):
    """Under jit and vmap (one launch for the batch), in either precision, index for index."""
    series = jnp.asarray(_random_series("random_walk", length=100), DTYPES[precision])
    ours = jax.jit(jax.vmap(rainflow_warp.rainflow))(series)
    theirs = jax.jit(jax.vmap(fatigue.rainflow))(series)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_warp_counting_keeps_the_damage_gradient():
    """The callback holds the counting, as the JAX counter does: the damage and its gradient agree."""
    material = fatigue.Material(*(jnp.asarray(v) for v in (4e8, -0.1, 2.9e8, 0.5)), mean_stress="goodman")
    stress = jnp.asarray(_random_series("random_walk", n_series=1, length=300)[0] * 1e7)

    def damage_and_gradient(counter):
        return jax.value_and_grad(lambda s: fatigue.damage(material, s, counter=counter))(stress)

    for ours, theirs in zip(damage_and_gradient(rainflow_warp.rainflow), damage_and_gradient(fatigue.rainflow)):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_short_and_flat_series():
    for series in ([[1.0]], [[2.0, 2.0, 2.0]], [[0.0, 1.0]], [[0.0, 1.0, 1.0, 0.0]]):
        _check_against_reference(np.asarray(series), "cpu")


@pytest.mark.gpu
def test_warp_on_the_gpu_equals_the_reference():
    import warp as wp

    warp_runtime.init()
    if not wp.is_cuda_available():
        pytest.skip("no CUDA device")
    for kind in ("random_walk", "white", "integers"):
        _check_against_reference(_random_series(kind), "cuda")
