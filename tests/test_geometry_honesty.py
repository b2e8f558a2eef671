"""Geometry the grid cannot resolve is named, with the spacing that would: a box covering no cell is
refused, a zone whose every cell later zones take is left out with a warning."""

from __future__ import annotations

import warnings

import pytest

import twin


def test_a_zone_hidden_by_later_zones_warns_with_the_spacing_that_keeps_it():
    """At 0.5 m the oven's 0.25 m insulation panel has no cell the chamber does not take."""
    scene = twin.load_scene("gigafactory_cell", overrides=["grid.spacing=0.5"])
    with pytest.warns(twin.PlausibilityWarning) as caught:
        twin.build(scene)
    (message,) = [str(w.message) for w in caught if "oven_shell" in str(w.message)]
    assert message.startswith("scene.zones.oven_shell: covers no cell of the 0.5 m grid")
    assert "a grid spacing of 0.25 m or less would resolve it (grid.spacing)" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error", twin.PlausibilityWarning)
        twin.build(twin.load_scene("gigafactory_cell", overrides=["grid.spacing=0.25"]))  # resolved: silent


def test_a_box_covering_no_cell_names_the_spacing_that_would():
    """A 0.1 m wide heater between the 0.25 m grid's centres 6.375 and 6.625; at 0.125 m, 6.5625 falls in it."""
    scene = twin.load_scene("gigafactory_cell", overrides=["heaters.oven_1.box=[[6.5,5.0],[6.6,7.0]]"])
    with pytest.raises(twin.SceneError) as error:
        twin.build(scene)
    text = str(error.value)
    assert text.startswith("scene.heaters.oven_1.box: [[6.5, 5.0], [6.6, 7.0]] — covers no cell centre")
    assert "take grid.spacing ≤ 0.125 m" in text and "\n" not in text
