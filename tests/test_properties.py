"""Property-based tests (hypothesis): laws that hold for every input, not only the ones we thought of.

- energy balance: an insulated heterogeneous domain gains exactly the heat its sources give;
- maximum principle: without sources, explicit and backward-Euler steps keep every cell within the
  range of the initial field and the wall temperatures, in float32 and float64;
- part conservation: every part that entered a line has left it or is still on it, for any belt speed
  and part spacing, in float32 and float64;
- scene round trip: a scene dumped to YAML and read back is the same scene, whatever its values.

Shapes stay fixed and values vary, so each law compiles once and its examples run in microseconds.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from fixtures import small_line
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tolerances import DTYPES, tol

import twin
from twin.kernels import thermal as th
from twin.scene.files import dump_yaml, parse_yaml

SHAPE, DX, VOLUME = (10, 12), 0.02, 0.02**3
STEPS = 50
# float64; the flux form telescopes, so only the rounding of T in each step remains: ≈ ulp(T)·ρcV per
# cell and step, random in sign — measured 1.4e-9 J on a total heat content of 1.6e6 J (9e-16 of it).
ENERGY_ROUNDOFF = 1e-13  # of the total heat content
CG_TOL = {"float32": None, "float64": 1e-13}  # None: CG's float32 default, 1e-5
EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def _materials(seed: int, contrast: float):
    """k (W/(m·K)) and ρc (J/(m³·K)) varying `contrast`-fold across cells, and a source (W/m³)."""
    rng = np.random.default_rng(seed)
    k = 0.1 * contrast ** rng.random(SHAPE)
    rho_c = 1e5 * contrast ** rng.random(SHAPE)
    q = 1e4 * rng.random(SHAPE) * (rng.random(SHAPE) < 0.3)
    T0 = 20.0 + 80.0 * rng.random(SHAPE)
    return jnp.asarray(k), jnp.asarray(rho_c), jnp.asarray(q), jnp.asarray(T0)


@functools.cache
def _insulated_run():
    @jax.jit
    def run(k, rho_c, q, T0):
        coeffs = th.Coefficients(1.0 / rho_c, th.face_conductance(k, (DX, DX)))
        bcs = ((None, None), (None, None))
        dt = th.stable_dt(coeffs, bcs)
        T = jax.lax.fori_loop(0, STEPS, lambda i, T: th.explicit_step(T, coeffs, bcs, q, dt), T0)
        gained = th.heat_content(T, coeffs, VOLUME) - th.heat_content(T0, coeffs, VOLUME)
        return gained, jnp.sum(q) * VOLUME * dt * STEPS

    return run


@EXAMPLES
@given(seed=seeds, contrast=st.floats(1.0, 1e4))
def test_energy_balance_holds_for_any_materials(seed, contrast):
    k, rho_c, q, T0 = _materials(seed, contrast)
    gained, supplied = _insulated_run()(k, rho_c, q, T0)
    total = float(jnp.sum(rho_c * T0)) * VOLUME
    assert abs(float(gained) - float(supplied)) <= ENERGY_ROUNDOFF * total


@functools.cache
def _walled_run(method: str, precision: str):
    dtype = DTYPES[precision]

    @jax.jit
    def run(k, rho_c, T0, T_walls):
        k, rho_c, T0, T_walls = (jnp.asarray(a, dtype) for a in (k, rho_c, T0, T_walls))
        coeffs = th.Coefficients(1.0 / rho_c, th.face_conductance(k, (DX, DX)))
        bcs = ((th.dirichlet(T_walls[0], k[:1], DX), None), (None, th.dirichlet(T_walls[1], k[:, -1:], DX)))
        if method == "explicit":
            dt = th.stable_dt(coeffs, bcs)
            step = lambda T: th.explicit_step(T, coeffs, bcs, 0.0, dt)  # noqa: E731
        else:
            dt = 50.0 * th.stable_dt(coeffs, bcs)
            step = lambda T: th.implicit_step(T, coeffs, bcs, 0.0, dt, tol=CG_TOL[precision])  # noqa: E731
        return jax.lax.fori_loop(0, STEPS, lambda i, T: step(T), T0)

    return run


@EXAMPLES
@given(
    seed=seeds,
    contrast=st.floats(1.0, 1e4),
    walls=st.tuples(st.floats(0.0, 150.0), st.floats(0.0, 150.0)),
    method=st.sampled_from(["explicit", "backward_euler"]),
    precision=st.sampled_from(["float32", "float64"]),
)
def test_maximum_principle_without_sources(seed, contrast, walls, method, precision):
    k, rho_c, _, T0 = _materials(seed, contrast)
    T = _walled_run(method, precision)(k, rho_c, T0, jnp.asarray(walls))
    margin = tol("maximum_principle_K", precision)
    low = min(float(jnp.min(T0)), *walls) - margin
    high = max(float(jnp.max(T0)), *walls) + margin
    assert low <= float(jnp.min(T)) and float(jnp.max(T)) <= high


@functools.cache
def _line(precision: str):
    layout, params, state = twin.build(twin.scene_from_mapping(small_line()), DTYPES[precision])
    solver = twin.Solver(dt=0.5)  # below half the shortest part interval drawn (spacing/speed ≥ 1 s)

    @jax.jit
    def run(speed, spacing):
        p = params.replace(
            belts=params.belts.replace(setpoint=params.belts.setpoint.at[0].set(speed)),
            part_spacing=params.part_spacing.at[0].set(spacing),
        )
        final, _ = twin.rollout(layout, p, state, solver, n_steps=400)
        return final.tallies.n_in, final.tallies.n_out, jnp.sum(final.parts.alive, axis=1)

    return run


@settings(max_examples=15, deadline=None)
@given(speed=st.floats(0.05, 0.5), interval=st.floats(1.0, 30.0), precision=st.sampled_from(["float32", "float64"]))
def test_parts_are_conserved_for_any_speed_and_spacing(speed, interval, precision):
    n_in, n_out, on_belt = _line(precision)(speed, speed * interval)
    assert int(n_in[0]) > 0
    assert np.array_equal(np.asarray(n_in), np.asarray(n_out) + np.asarray(on_belt))


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.e+", min_size=1, max_size=12)
numbers = st.floats(allow_nan=False, allow_infinity=False, width=64) | st.integers(-(10**6), 10**6)
values = st.recursive(
    numbers | names | st.booleans() | st.none(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(data=st.dictionaries(names, values, max_size=6))
def test_yaml_dump_then_read_gives_the_same_data(data):
    assert parse_yaml(dump_yaml(data), "round trip") == data


@settings(max_examples=30, deadline=None)
@given(
    setpoint=st.floats(30.0, 200.0),
    speed=st.floats(0.01, 0.15),
    name=st.from_regex(r"[a-z0-9][a-z0-9_e-]{0,8}", fullmatch=True),
)
def test_scene_round_trip(setpoint, speed, name):
    spec = small_line()
    spec["name"] = name
    spec["heaters"]["h1"]["setpoint"] = setpoint
    spec["conveyors"]["belt"]["speed"] = speed
    scene = twin.scene_from_mapping(spec)
    assert twin.scene_from_mapping(parse_yaml(dump_yaml(spec), "round trip")) == scene
