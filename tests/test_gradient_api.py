"""twin.value_and_grad on the default scene: every parameter against float64 central differences (the
initial state built from params inside), no recompilation for new values, and its one-line errors."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tolerances import tol

import twin
from twin.precision import set_precision

DURATION = 1600.0  # s: the first parts pass the leak test (27 m) and are picked (29 m, 31 m)
FD_STEPS = (1e-5, 1e-6, 1e-7)  # relative steps of the central differences (see the test)
# The energy (~1e5 J) moves ~0.2 J per second of service time: at a 1e-6 step its round-off shows
# (2.3e-5 off); at 1e-5 and 1e-4 the differences agree with AD to 2e-7 (service time), 5e-8 (spacing).
ENERGY_FD_STEP = 1e-5
PICK_SENSORS = ("pick_a_part_temperature", "pick_a_cure")  # robot b first picks at ~1610 s


def objective(run: twin.Run):
    """Something of every physics: the hall, the heaters, the belts' energy, parts at pick (masked
    before the first pick), the flow (work in progress)."""
    final = run.final
    picks = sum(jnp.sum(jnp.where(run.defined(name), run.reading(name), 0.0)) for name in PICK_SENSORS)
    return (
        jnp.mean(final.T)
        + 1e-6 * jnp.sum(final.heater_energy)
        + 1e-3 * jnp.sum(final.belts.energy)
        + picks / run.times.shape[0]
        + 1e-3 * jnp.sum(final.tallies.wip)
    )


def energy(run: twin.Run):
    return jnp.sum(run.final.belts.energy)


@functools.cache
def _default_scene():
    scene = twin.load_scene("gigafactory_cell")
    layout, params, _ = twin.build(scene, jnp.float64)
    return layout, params, twin.Solver()


def _directions(params, seed: int = 0):
    """Per leaf, a random ±(0.5…1.5)× direction scaled by the leaf's values (1 where a value is 0)."""
    rng = np.random.default_rng(seed)
    leaves, tree = jax.tree.flatten(params)
    out = []
    for leaf in leaves:
        scale = np.where(np.asarray(leaf) != 0.0, np.abs(np.asarray(leaf)), 1.0)
        out.append(jnp.asarray(scale * rng.choice([-1.0, 1.0], leaf.shape) * rng.uniform(0.5, 1.5, leaf.shape)))
    return jax.tree.unflatten(tree, out)


def _central_difference(f, params, direction, leaf_index: int, step: float) -> float:
    leaves, tree = jax.tree.flatten(params)
    d = jax.tree.leaves(direction)[leaf_index]

    def moved(sign):
        changed = list(leaves)
        changed[leaf_index] = leaves[leaf_index] + sign * step * d
        return float(f(jax.tree.unflatten(tree, changed)))

    return (moved(1.0) - moved(-1.0)) / (2.0 * step)


@pytest.mark.slow  # 80 s: 55 leaves × 3 steps × 2 runs; the small line's AD is checked by default (test_line_gradients)
def test_every_parameter_matches_central_differences():
    """Per leaf, the central difference at the step of the most consistent neighbouring pair of 1e-5,
    1e-6, 1e-7 (the larger of the two): near a part event (entry, pick) the larger steps reach a kink
    (part_spacing: 5.5e-5 off at 1e-5, 8.5e-9 at 1e-6), below them the run's round-off grows (belt
    drag: 1.9e-4 off at 1e-7, 4.9e-6 at 1e-5)."""
    layout, params, solver = _default_scene()
    value, grad, status = twin.value_and_grad(objective, layout, params, solver, duration=DURATION)
    assert int(status.unconverged_steps) == 0 and np.isnan(float(status.nonfinite_time))

    def f(p):
        return twin.evaluate(objective, layout, p, solver, duration=DURATION).value

    direction = _directions(params)
    noise = 1e-8 * abs(float(value))  # FD round-off: ~1e-14·|f| over a 1e-6 step, 10x
    failures = []
    for i, ((path, g), d) in enumerate(zip(jax.tree_util.tree_leaves_with_path(grad), jax.tree.leaves(direction))):
        ad = float(jnp.sum(g * d))
        fd = _consistent_difference(f, params, direction, i)
        if abs(ad - fd) > tol("api_gradient", "float64") * abs(fd) + noise:
            failures.append(f"{jax.tree_util.keystr(path)}: AD {ad:.8g} FD {fd:.8g}")
    assert not failures, failures


def _consistent_difference(f, params, direction, i) -> float:
    fds = [_central_difference(f, params, direction, i, step) for step in FD_STEPS]
    pairs = [(abs(a - b), a) for a, b in zip(fds, fds[1:])]
    return min(pairs)[1]


def test_conveyor_energy_sees_spacing_and_service_time():
    """Belt load follows the parts' extent and their entry and pick times, so energy responds smoothly."""
    layout, params, solver = _default_scene()
    leaves = ("part_spacing", "service_time")
    _, grad, _ = twin.value_and_grad(energy, layout, params, solver, duration=DURATION, wrt=leaves)
    for leaf in leaves:
        g = float(jnp.sum(getattr(grad, leaf)))
        h = ENERGY_FD_STEP * float(jnp.sum(getattr(params, leaf)))

        def f(delta, leaf=leaf):
            p = params.replace(**{leaf: getattr(params, leaf) + delta})
            return float(twin.evaluate(energy, layout, p, solver, duration=DURATION).value)

        fd = (f(h) - f(-h)) / (2.0 * h)
        assert g != 0.0, leaf
        assert g == pytest.approx(fd, rel=tol("api_gradient", "float64")), leaf


def test_a_second_call_with_new_values_does_not_compile():
    layout, params, solver = _default_scene()
    twin.value_and_grad(objective, layout, params, solver, duration=DURATION)
    moved = params.replace(zone_k=params.zone_k * 1.1, part_spacing=params.part_spacing * 1.05)
    compiles = []
    listener = lambda event, duration, **kw: compiles.append(event)  # noqa: E731
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        value, grad, _ = twin.value_and_grad(objective, layout, moved, solver, duration=DURATION)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert not [e for e in compiles if e == "/jax/core/compile/backend_compile_duration"]
    assert np.isfinite(float(value))


def test_a_few_parameters_gradient_equals_the_whole_gradients_entries():
    """wrt differentiates only the loop-invariant terms its leaves can reach (twin.gradient._fixed_moved,
    from the traced program): leaves that reach them (heater efficiency: the heater loads; the tool
    mass: the robots' duties and pick times) and one that does not (part c_p) get the whole gradient's
    values. Measured: bit-equal; 1e-12 relative allows another summation order."""
    layout, params, solver = _default_scene()
    leaves = ("heater_efficiency", "arms[0].tool.mass", "part_c_p")
    _, whole, _ = twin.value_and_grad(objective, layout, params, solver, duration=DURATION)
    _, few, _ = twin.value_and_grad(objective, layout, params, solver, duration=DURATION, wrt=leaves)
    paths = {twin.gradient._path(p): np.asarray(x) for p, x in jax.tree_util.tree_leaves_with_path(whole)}
    for path, x in jax.tree_util.tree_leaves_with_path(few):
        name = twin.gradient._path(path)
        if name in leaves:
            assert np.any(paths[name] != 0), name
            np.testing.assert_allclose(np.asarray(x), paths[name], rtol=1e-12, err_msg=name)
        else:
            assert not np.any(np.asarray(x)), name


def test_bad_objectives_and_paths_are_one_line_errors():
    layout, params, solver = _default_scene()
    cases = [
        (lambda run: run.final.T, "objective: 'shape (48, 144)' — must return a scalar"),
        (lambda run: jnp.sum(run.readings[:, 12]), "sensor 'pick_a_part_temperature' reads NaN"),
    ]
    for bad, message in cases:  # evaluate: the same checks, without compiling a gradient
        with pytest.raises(twin.TwinInputError) as error:
            twin.evaluate(bad, layout, params, solver, duration=DURATION)
        assert message in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(twin.TwinInputError, match="wrt: 'belt.setpoint' — did you mean 'belts.setpoint'"):
        twin.value_and_grad(energy, layout, params, solver, duration=DURATION, wrt=("belt.setpoint",))
    with pytest.raises(twin.TwinInputError, match="sensor: 'pick_c' — did you mean"):
        twin.evaluate(lambda run: jnp.sum(run.reading("pick_c")), layout, params, solver, duration=DURATION)


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_every_reading_masked_where_undefined_or_infinite_has_a_finite_gradient(precision):
    """Readings infinite or NaN by design (a reducer that never turns lives forever; a pick sensor
    before its first pick) masked out must leave the gradient finite: their own partials must not be
    ∞ · 0 (robot_a's wrist reducers never turn in the default scene's cycle)."""
    scene = twin.load_scene("gigafactory_cell")
    layout, params, state = twin.build(scene, set_precision(precision))

    def every_reading(run):
        r = run.readings
        return jnp.sum(jnp.where(jnp.isfinite(r), r, 0.0))

    value, grad, _ = twin.value_and_grad(every_reading, layout, params, twin.Solver(), duration=120.0)
    assert np.isfinite(float(value))
    _, readings = twin.rollout(layout, params, state, twin.Solver(), duration=120.0)
    assert not np.isfinite(np.asarray(readings)).all()  # something to mask
    bad = [twin.gradient._path(p) for p, x in jax.tree_util.tree_leaves_with_path(grad) if not np.isfinite(x).all()]
    assert bad == []
