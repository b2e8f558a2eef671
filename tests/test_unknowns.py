"""Scene values as fit unknowns (twin.calibrate.unknowns): located in Params by building the scene, and
set back into Params — differentiably — equal to building the scene at the new value."""

from __future__ import annotations

import copy
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import twin
from twin.calibrate.unknowns import locate, set_at, with_values
from twin.errors import TwinInputError
from twin.scene.files import read_scene_mapping, scene_file

PATHS = {
    "heaters.oven_1.efficiency": 0.8,
    "conveyors.main.parts.c_p": 1300.0,
    "materials.oven_panel.k": 0.06,
    "boundaries.x_min.h": 7.5,
    "conveyors.main.segments.oven.wear": 0.35,
    "heaters.oven_2.power": 21000.0,
    "robots.robot_a.payload.com.2": 0.25,
}


@functools.cache
def _scene() -> dict:
    return read_scene_mapping(scene_file("gigafactory_cell"))


def _set(data: dict, path: str, value) -> dict:
    data = copy.deepcopy(data)
    set_at(data, path, value)
    return data


@pytest.mark.parametrize("path", list(PATHS))
def test_set_values_equal_the_scene_built_at_them(path):
    unknown = locate(_scene(), path)
    _, params, _ = twin.build(twin.scene_from_mapping(_scene()), jnp.float64)
    _, expected, _ = twin.build(twin.scene_from_mapping(_set(_scene(), path, PATHS[path])), jnp.float64)
    got = with_values(params, (unknown,), jnp.asarray([PATHS[path]]))
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)


def test_set_values_are_differentiable():
    unknowns = tuple(locate(_scene(), p) for p in ("heaters.oven_1.efficiency", "heaters.oven_2.power"))
    _, params, _ = twin.build(twin.scene_from_mapping(_scene()), jnp.float64)

    def f(values):
        p = with_values(params, unknowns, values)
        return jnp.sum(p.heater_efficiency * p.heater_power)

    grad = jax.grad(f)(jnp.asarray([0.9, 20000.0]))
    np.testing.assert_allclose(np.asarray(grad), [float(params.heater_power[0]), float(params.heater_efficiency[1])])


@pytest.mark.parametrize(
    "path, phrase",
    [
        ("heaters.oven_9.power", "no such key in the scene at scene.heaters: did you mean 'oven_2'?"),
        ("name", "not a number in the scene"),
        ("grid.spacing", "changes the layout"),
        ("heaters.oven_1.box.0.0", "changes the layout"),
    ],
)
def test_what_cannot_be_fitted_is_refused_at_its_key(path, phrase):
    with pytest.raises(TwinInputError) as err:
        locate(_scene(), path)
    assert err.value.where == f"scene.{path}" and phrase in str(err.value)


@pytest.mark.parametrize(
    "path, value",
    [("conveyors.main.segments.oven.viscous_drag", 65.0), ("conveyors.main.segments.oven.bearings.used_before", 0.3)],
)
def test_a_value_left_at_its_default_is_an_unknown_too(path, value):
    """Keys the file does not write (the schema's defaults; a whole section, `bearings`) are fitted as the
    written ones: their nominal is the default, and setting them equals building the scene with them."""
    unknown = locate(_scene(), path)
    assert unknown.nominal == {"viscous_drag": 50.0, "used_before": 0.0}[path.rsplit(".", 1)[1]]
    _, params, _ = twin.build(twin.scene_from_mapping(_scene()), jnp.float64)
    _, expected, _ = twin.build(twin.scene_from_mapping(_set(_scene(), path, value)), jnp.float64)
    got = with_values(params, (unknown,), jnp.asarray([value]))
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)
