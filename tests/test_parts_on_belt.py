"""Parts on the belts: exact Newton cooling along the path, cure kinetics, transfers, conservation of parts."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from fixtures import belt_in_still_air, built_small_line, small_line
from scipy.integrate import solve_ivp
from tolerances import DTYPES, tol

import twin
from twin.kernels import parts as part_physics
from twin.time_step import time_step

LANDING_LAG = 1.4866e-4  # m behind v·t: the belt dips as the 2 kg part lands, then its PI holds the setpoint
CURE_RTOL = 1e-6  # closed-form cure vs a tight adaptive ODE solve
BELT_END = 19.5  # m, path length of belt_in_still_air (the part leaves there)


def test_part_cools_exponentially_with_distance(precision):
    """T(x) = T∞ + (T0 − T∞)·exp(−x/(v·τ)), τ = m·c/(h·A), for a part riding through still air."""
    spec = belt_in_still_air(T_air=20.0, T0=80.0, speed=0.1)
    scene = twin.scene_from_mapping(spec)
    layout, params, state = twin.build(scene, DTYPES[precision])
    parts = spec["conveyors"]["belt"]["parts"]
    tau = parts["mass"] * parts["c_p"] / (parts["h"] * parts["area"])
    for n_steps in (20, 150):  # near the infeed and far down the belt
        final, _ = twin.rollout(layout, params, state, twin.Solver(dt=0.7), n_steps=n_steps)
        (slot,) = np.flatnonzero(np.asarray(final.parts.alive[0]))
        x = float(final.parts.s[0, slot])
        expected = 20.0 + 60.0 * np.exp(-x / (0.1 * tau))
        assert float(final.parts.T[0, slot]) == pytest.approx(expected, rel=tol("belt_law", precision))
        # Entered at once and rides at belt speed, less what the belt lost as the part landed.
        assert x == pytest.approx(0.1 * 0.7 * n_steps - LANDING_LAG, abs=tol("landing_lag_m", precision))


def _picked_at_the_end(spec: dict, precision: str, halve: bool = False):
    """(temperature °C, cure, exit time s) of the one part that rode belt_in_still_air to its end, at the
    automatic dt (or half of it)."""
    layout, params, state = twin.build(twin.scene_from_mapping(spec), DTYPES[precision])
    dt = time_step(layout, params, twin.Solver())
    solver = twin.Solver(dt=dt / 2) if halve else twin.Solver()
    final, _ = twin.rollout(layout, params, state, solver, duration=250.0)
    p = final
    assert int(p.tallies.n_out[0]) == 1
    return float(p.tallies.last_T[0, 0]), float(p.tallies.last_alpha[0, 0]), float(p.tallies.exit_times[0, 0])


def test_pick_temperature_and_cure_are_taken_at_the_exit_time(precision):
    """The belt law at the part's exit, at the automatic dt: T(L) = T∞ + (T₀ − T∞)·exp(−L/(vτ)), and
    the cure the ODE gives along that history; halving dt leaves both (almost) unchanged. End-of-step
    values would carry one dt of extra exchange (−7e-4 relative here)."""
    spec = belt_in_still_air(T_air=20.0, T0=80.0, speed=0.1)
    parts = spec["conveyors"]["belt"]["parts"]
    parts["cure"] = {"A": 2.0e6, "Ea": 5.5e4, "n": 1.5}
    tau = parts["mass"] * parts["c_p"] / (parts["h"] * parts["area"])
    T, alpha, t_out = _picked_at_the_end(spec, precision)
    assert t_out == pytest.approx((BELT_END + LANDING_LAG) / 0.1, abs=tol("landing_lag_m", precision) / 0.1)
    assert T == pytest.approx(20.0 + 60.0 * np.exp(-BELT_END / (0.1 * tau)), rel=tol("belt_law", precision))

    def rate(t, a):
        T_t = 20.0 + 60.0 * np.exp(-t / tau)
        return 2.0e6 * np.exp(-5.5e4 / (part_physics.GAS_CONSTANT * (T_t + part_physics.KELVIN))) * (1 - a) ** 1.5

    ode = solve_ivp(rate, (0.0, t_out), [0.0], rtol=1e-12, atol=1e-14).y[0, -1]
    assert alpha == pytest.approx(ode, rel=tol("cure_at_pick", precision))
    T_half, alpha_half, _ = _picked_at_the_end(spec, precision, halve=True)
    assert T_half == pytest.approx(T, rel=tol("pick_temperature_halving_dt", precision))
    assert alpha_half == pytest.approx(alpha, rel=tol("cure_at_pick", precision))


@pytest.mark.parametrize("n", [0.5, 1.0, 1.5, 2.5])
def test_cure_closed_form_matches_ode(n):
    A, Ea, T, dt = 2.0e6, 5.5e4, 90.0, 40.0
    rate = A * np.exp(-Ea / (part_physics.GAS_CONSTANT * (T + part_physics.KELVIN)))
    ode = solve_ivp(lambda t, a: rate * np.clip(1 - a, 0, 1) ** n, (0, dt), [0.1], rtol=1e-11, atol=1e-13)
    got = part_physics.cure(jnp.asarray(0.1), jnp.asarray(T), A, Ea, jnp.asarray(n), dt)
    assert float(got) == pytest.approx(ode.y[0, -1], rel=CURE_RTOL)


def test_parts_conserved_and_picked_by_both_robots(precision):
    """Which robot takes which part: tests/test_material_flow.py reads it from the per-part table."""
    layout, params, state = built_small_line(precision)
    final, _ = twin.rollout(layout, params, state, twin.Solver(dt=1.0), n_steps=400)
    p = final
    assert int(p.tallies.n_in[0]) == int(p.tallies.n_out[0]) + int(jnp.sum(p.parts.alive[0]))
    assert int(p.tallies.n_out[0]) >= 10
    assert np.all(np.isfinite(np.asarray(p.tallies.last_T[0])))  # both robots have picked


def test_parts_bunch_on_a_slower_segment_and_are_all_kept(precision):
    """A fast infeed onto a belt four times slower: parts close up, none is lost or duplicated."""
    spec = small_line()
    spec["conveyors"]["belt"]["speed"] = 0.2
    spec["conveyors"]["belt"]["segments"] = {"fast": {"length": 2.0}, "slow": {"speed": 0.05}}
    spec["conveyors"]["belt"]["parts"].update(spacing=0.5, length=0.05, min_gap=0.05)  # pitch 0.1 < 0.125
    layout, params, state = twin.build(twin.scene_from_mapping(spec), DTYPES[precision])
    final, _ = twin.rollout(layout, params, state, twin.Solver(dt=1.0), n_steps=300)
    p = final
    on_belt = int(jnp.sum(p.parts.alive[0]))
    assert int(p.tallies.n_in[0]) == int(p.tallies.n_out[0]) + on_belt
    assert int(p.tallies.n_out[0]) > 0
    assert on_belt > 0.9 * (2.0 / 0.5 + (7.6 - 2.0) * 4 / 0.5) * 0.6  # many more than the length/spacing
    s = np.sort(np.asarray(p.parts.s[0])[np.asarray(p.parts.alive[0])])
    gaps = np.diff(s[(s > 2.0) & (s < 6.0)])  # past 6 m robot r1 has taken every other part
    np.testing.assert_allclose(gaps, 0.5 / 4, rtol=tol("slowed_spacing", precision))  # a quarter spacing apart
