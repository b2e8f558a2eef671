"""Rainflow counting, S-N, mean-stress corrections and Miner's rule (twin.kernels.fatigue): the ASTM
E1049-85 example gives the standard's cycle table; negation and shifts keep the ranges; the JAX counter
equals the NumPy reference cycle for cycle on thousands of random series; Miner over known cycles equals
the S-N formula; the corrections match hand calculations; the damage's gradient matches central
differences."""

from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from twin.kernels import fatigue

# ASTM E1049-85 (2017) Fig. 6: the history A…I and its rainflow count (range: cycles)
ASTM_HISTORY = [-2.0, 1.0, -3.0, 5.0, -1.0, 3.0, -4.0, 4.0, -2.0]
ASTM_TABLE = {3.0: 0.5, 4.0: 1.5, 6.0: 0.5, 8.0: 1.0, 9.0: 0.5}

STEEL = dict(fatigue_strength=900e6, fatigue_exponent=-0.09, ultimate_strength=700e6, walker_gamma=0.5)


def material(kind: str) -> fatigue.Material:
    return fatigue.Material(**{k: jnp.asarray(v) for k, v in STEEL.items()}, mean_stress=kind)


def _table(x, cycles) -> dict[float, float]:
    x = np.asarray(x, float)
    out: dict[float, float] = collections.defaultdict(float)
    for i, j, c in cycles:
        if c > 0:
            out[float(abs(x[int(i)] - x[int(j)]))] += float(c)
    return dict(out)


def _jax_cycles(x):
    i, j, c = jax.jit(fatigue.rainflow)(jnp.asarray(x))
    return np.column_stack([np.asarray(i), np.asarray(j), np.asarray(c)])


def test_the_astm_example_gives_the_standards_table():
    assert _table(ASTM_HISTORY, fatigue.rainflow_numpy(ASTM_HISTORY)) == ASTM_TABLE
    assert _table(ASTM_HISTORY, _jax_cycles(ASTM_HISTORY)) == ASTM_TABLE
    # samples between the reversals, and plateaus, change nothing
    dense = np.interp(np.linspace(0, 8, 81), np.arange(9), ASTM_HISTORY)
    dense = np.insert(dense, 30, dense[30])  # a plateau
    assert _table(dense, fatigue.rainflow_numpy(dense)) == ASTM_TABLE
    assert _table(dense, _jax_cycles(dense)) == ASTM_TABLE


def test_negation_and_shift_keep_the_ranges():
    rng = np.random.default_rng(0)
    for _ in range(50):
        x = np.cumsum(rng.normal(size=200))
        ranges = np.array(sorted(_table(x, fatigue.rainflow_numpy(x)).items()))
        for y in (-x, x + 17.5):
            np.testing.assert_allclose(
                np.array(sorted(_table(y, fatigue.rainflow_numpy(y)).items())), ranges, rtol=0, atol=1e-12
            )


@pytest.mark.parametrize("kind", ["random_walk", "white", "integers"])
def test_jax_counter_equals_the_reference_cycle_for_cycle(kind):
    rng = np.random.default_rng(1)
    n_series, length = 2000, 120
    if kind == "random_walk":
        series = np.cumsum(rng.normal(size=(n_series, length)), axis=1)
    elif kind == "white":
        series = rng.normal(size=(n_series, length))
    else:  # ties and plateaus
        series = rng.integers(-3, 4, size=(n_series, length)).astype(float)
    i, j, c = (np.asarray(a) for a in jax.jit(jax.vmap(fatigue.rainflow))(jnp.asarray(series)))
    for s in range(n_series):
        reference = fatigue.rainflow_numpy(series[s])
        k = reference.shape[0]
        np.testing.assert_array_equal(np.column_stack([i[s, :k], j[s, :k], c[s, :k]]), reference)
        assert np.all(c[s, k:] == 0)


def test_miner_over_known_cycles_equals_the_sn_formula():
    """r fully reversed cycles of amplitude a (the history −a, a, −a, …, −a: 2r half cycles) do r/N of
    damage, N = ½(a/σf')^(1/b); blocks of three amplitudes add up by Miner's rule."""
    m = material("none")
    total = 0.0
    for a, r in [(300e6, 3), (200e6, 5), (150e6, 7)]:
        history = jnp.asarray(np.r_[np.tile([-a, a], r), -a])
        cycles = fatigue.rainflow_numpy(np.asarray(history))
        assert cycles.shape[0] == 2 * r and np.all(cycles[:, 2] == 0.5)
        N = 0.5 * (a / STEEL["fatigue_strength"]) ** (1 / STEEL["fatigue_exponent"])
        assert float(fatigue.damage(m, history)) == pytest.approx(r / N, rel=1e-13)
        assert float(fatigue.cycles_to_failure(m, a, 0.0)) == pytest.approx(N, rel=1e-13)
        total += r / N
    assert total == pytest.approx(
        sum(
            float(fatigue.damage(m, jnp.asarray(np.r_[np.tile([-a, a], r), -a])))
            for a, r in [(300e6, 3), (200e6, 5), (150e6, 7)]
        )
    )


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("goodman", 100e6 / (1 - 200e6 / 700e6)),
        ("gerber", 100e6 / (1 - (200e6 / 700e6) ** 2)),
        ("morrow", 100e6 / (1 - 200e6 / 900e6)),
        ("walker", np.sqrt(300e6 * 100e6)),  # γ = 0.5: Smith–Watson–Topper, √(σmax·σa)
        ("none", 100e6),
    ],
)
def test_mean_stress_corrections_match_a_hand_calculation(kind, expected):
    value = fatigue.equivalent_amplitude(material(kind), jnp.asarray(100e6), jnp.asarray(200e6))
    assert float(value) == pytest.approx(expected, rel=1e-14)


def test_temperature_factor_is_one_at_room_temperature_and_falls_when_hot():
    assert float(fatigue.temperature_factor(21.1)) == pytest.approx(1.0, abs=2e-3)  # 70 °F
    assert float(fatigue.temperature_factor(400.0)) < float(fatigue.temperature_factor(100.0))


@pytest.mark.parametrize("kind", ["goodman", "walker"])
def test_damage_gradient_matches_central_differences(kind):
    """d damage / d (a load scale), float64, the counting held; finite in every sample."""
    rng = np.random.default_rng(2)
    base = jnp.asarray(40e6 * np.cumsum(rng.normal(size=300)) / 10 + 60e6 * np.sin(np.linspace(0, 40, 300)))
    m = material(kind)

    def scaled(s):
        return fatigue.damage(m, base * s)

    ad = float(jax.grad(scaled)(1.0))
    h = 1e-6
    fd = (float(scaled(1.0 + h)) - float(scaled(1.0 - h))) / (2 * h)
    assert ad == pytest.approx(fd, rel=1e-7)
    assert np.all(np.isfinite(np.asarray(jax.grad(lambda x: fatigue.damage(m, x))(base))))
