"""The one time loop: one source of dt and one guard for `rollout` and `simulate`, the same final state
from both, time that does not drift in float32, and a status that records the first non-finite value
(when, which array, which entry) instead of returning an infinite field silently."""

from __future__ import annotations

import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fixtures import built_small_line, small_line
from tolerances import DTYPES

import twin
from twin import status
from twin.time_step import time_step

TIME_ULPS = 2  # t = t₀ + k·dt rounds once or twice, however many steps


def _small(precision: str):
    return built_small_line(precision)


def _no_line() -> dict:
    """small_line without its conveyor: the explicit stability limit is the only bound on dt."""
    spec = small_line()
    spec.pop("conveyors"), spec.pop("robots")
    spec["sensors"] = {"tc": spec["sensors"]["tc"]}
    return spec


def test_a_dt_above_the_explicit_limit_is_refused_by_rollout_too(precision):
    """rollout takes Solver.dt through the same guard as simulate."""
    layout, params, state = twin.build(twin.scene_from_mapping(_no_line()), DTYPES[precision])
    limit = time_step(layout, params, twin.Solver(max_dt=1e9))
    with pytest.raises(twin.TwinInputError) as info:
        twin.rollout(layout, params, state, twin.Solver(dt=4 * limit, max_dt=100.0), n_steps=10)
    assert str(info.value).startswith("solver.dt: ") and "explicit stability limit" in str(info.value)


def test_rollout_and_simulate_reach_the_same_final_state(precision):
    scene = twin.scene_from_mapping(small_line())
    solver = twin.Solver()
    result = twin.simulate(scene, duration=120.0, solver=solver, precision=precision, snapshot_every=40.0)
    layout, params, state = twin.build(scene, DTYPES[precision])
    final, _ = twin.rollout(layout, params, state, solver, duration=120.0)
    for ours, theirs in zip(jax.tree.leaves(final), jax.tree.leaves(result.state)):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_time_does_not_drift_in_float32():
    """Each step ends at t₀ + k·dt: 20,000 steps of a non-representable dt end where they should, to
    an ulp or two (accumulating t += dt drifted 4.7 s over 72,000 steps of 0.1 s)."""
    layout, params, state = twin.build(twin.scene_from_mapping(_no_line()), jnp.float32)
    dt = 0.1
    final, _ = twin.rollout(layout, params, state, twin.Solver(dt=dt), n_steps=20_000)
    expected = np.float32(20_000 * dt)
    assert abs(float(final.t) - float(expected)) <= TIME_ULPS * float(np.spacing(expected))


def _poisoned(layout, params):
    """The x_max wall (Dirichlet, scheduled) at +inf: its edge column turns non-finite in the first step."""
    face = [i for i, f in enumerate(layout.faces) if f.name == "x_max"][0]
    faces = tuple(
        f.replace(schedule=jnp.full_like(f.schedule, jnp.inf)) if i == face else f for i, f in enumerate(params.faces)
    )
    return params.replace(faces=faces)


def test_status_records_the_first_non_finite_value(precision):
    """An x_max wall at +inf: explicit steps (under jit, where no dt guard can refuse it) make that
    column infinite in the first step; implicit ones turn the whole solve NaN. Either is recorded."""
    layout, params, state = _small(precision)
    poisoned = _poisoned(layout, params)
    final = jax.jit(lambda p: twin.rollout(layout, p, state, twin.Solver(dt=1.0), n_steps=5)[0])(poisoned)
    assert float(final.status.nonfinite_time) == pytest.approx(1.0)  # the end of the first step
    assert status.CHECKED[int(final.status.nonfinite_what)][0] == "temperature field"
    ny, nx = layout.shape
    assert np.unravel_index(int(final.status.nonfinite_index), layout.shape) == (0, nx - 1)  # on x_max
    implicit = twin.Solver(method="backward_euler", dt=1.0)
    with pytest.raises(twin.SimulationError, match=r"temperature field became non-finite at t = 1 s at cell"):
        twin.rollout(layout, poisoned, state, implicit, n_steps=5, throw=True)


def test_status_works_under_jit_where_dt_cannot_be_checked():
    """Traced params carry no numbers to check a dt against: the step runs unguarded and the status
    reports the blow-up (a dt of 8× the explicit limit)."""
    layout, params, state = twin.build(twin.scene_from_mapping(_no_line()), jnp.float64)
    limit = time_step(layout, params, twin.Solver(max_dt=1e9))
    final = jax.jit(lambda p: twin.rollout(layout, p, state, twin.Solver(dt=8 * limit), n_steps=2000)[0])(params)
    assert int(final.status.nonfinite_what) == 0  # the field
    assert 0.0 < float(final.status.nonfinite_time) < 2000 * 8 * limit
    with pytest.raises(twin.TwinInputError, match="needs a fixed step"):
        jax.jit(lambda p: twin.rollout(layout, p, state, twin.Solver(), n_steps=10)[0])(params)


def test_simulate_stops_with_one_line_naming_time_and_cell():
    spec = small_line()
    spec["boundaries"]["y_min"] = {"type": "neumann", "flux": 1e30}  # the largest a scene takes: overflows float32
    with pytest.raises(twin.SimulationError) as info:
        twin.simulate(twin.scene_from_mapping(spec), duration=60.0, precision="float32")
    message = str(info.value)
    assert "\n" not in message
    assert re.match(
        r"simulation: temperature field became non-finite at t = \d+ s at cell \[\d+, \d+\] "
        r"\(x = [\d.]+ m, y = [\d.]+ m\); ",
        message,
    ), message


def test_build_float64_turns_on_x64_in_a_fresh_process():
    """Without x64, float64 arrays silently become float32; build enables it instead (as simulate does)."""
    code = (
        "import jax.numpy as jnp, twin; "
        "_, p, s = twin.build(twin.load_scene('gigafactory_cell'), jnp.float64); "
        "print(s.T.dtype, p.zone_k.dtype)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["float64", "float64"]
