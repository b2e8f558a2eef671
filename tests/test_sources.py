"""Volumetric heat sources (machines, presses, formation racks): the heat they give off arrives in the
field exactly — by total power or by power density, constant or scheduled — and malformed sources are
refused at their key path."""

from __future__ import annotations

import numpy as np
import pytest
from tolerances import DTYPES, tol

import twin
from twin.kernels import thermal
from twin.step import fixed_terms

DURATION = 600.0  # s
SCHEDULE = {"time": [0.0, 200.0, 400.0], "value": [0.0, 1.0, 0.5]}  # fraction of the power


def insulated_room(source: dict) -> dict:
    return {
        "name": "insulated_room",
        "grid": {"size": [4.0, 2.0], "spacing": 0.25, "thickness": 3.0},
        "initial_temperature": 20.0,
        "background": {"k": 1.0, "rho_c": 1.2e5},
        "sources": {"machine": source},
    }


def _heat_gained(spec: dict, precision: str, method: str = "crank_nicolson") -> tuple[float, twin.Layout]:
    layout, params, state = twin.build(twin.scene_from_mapping(spec), DTYPES[precision])
    final, _ = twin.rollout(layout, params, state, twin.Solver(method=method, dt=5.0), duration=DURATION)
    coeffs = fixed_terms(layout, params).coeffs
    gained = thermal.heat_content(final.T, coeffs, layout.cell_volume) - thermal.heat_content(
        state.T, coeffs, layout.cell_volume
    )
    return float(gained), layout


def _scheduled_energy(power: float) -> float:
    """∫ power·f(t) dt over the run, f piecewise linear and held after its last time."""
    t = np.linspace(0.0, DURATION, 60001)
    return power * float(np.trapezoid(np.interp(t, SCHEDULE["time"], SCHEDULE["value"]), t))


@pytest.mark.parametrize("how", ["power", "q", "scheduled"])
def test_a_source_puts_its_energy_into_the_field(how, precision):
    """Crank–Nicolson takes the schedule at both ends of each step, so a piecewise-linear schedule whose
    corners fall on steps integrates exactly."""
    source = {"box": [[1.0, 0.5], [2.0, 1.5]], "power": 2000.0}
    if how == "q":
        source = {"box": [[1.0, 0.5], [2.0, 1.5]], "q": 2000.0}
    if how == "scheduled":
        source["schedule"] = SCHEDULE
    gained, layout = _heat_gained(insulated_room(source), precision)
    covered = np.count_nonzero(layout.source_shape[0]) * layout.cell_volume  # 4 × 4 cell centres in the box
    expected = {"power": 2000.0 * DURATION, "q": 2000.0 * covered * DURATION, "scheduled": _scheduled_energy(2000.0)}[
        how
    ]
    assert gained == pytest.approx(expected, rel=tol("source_energy", precision))


@pytest.mark.parametrize(
    "change, where, phrase",
    [
        ({"power": -5.0}, "power", "power must be ≥ 0 W"),
        ({"power": None, "q": -1.0}, "q", "power density must be ≥ 0"),
        ({"q": 10.0}, "q", "either power or q"),
        ({"power": None}, "power", "required: power"),
        ({"schedule": {"time": [0.0, 10.0], "value": [1.0, -0.5]}}, "schedule.value[1]", "fraction of its power"),
        ({"schedule": {"time": [10.0, 0.0], "value": [1.0, 1.0]}}, "schedule.time[1]", "increase strictly"),
        ({"box": [[1.0, 0.5], [9.0, 1.5]]}, "box[1]", "source box leaves the floor"),
        ({"box": None}, "box", "required: a box or a polygon"),
    ],
)
def test_bad_sources_are_refused_with_their_key_path(change, where, phrase):
    source = {"box": [[1.0, 0.5], [2.0, 1.5]], "power": 2000.0}
    source.update(change)
    source = {k: v for k, v in source.items() if v is not None}
    with pytest.raises(twin.SceneError) as info:
        twin.scene_from_mapping(insulated_room(source))
    assert str(info.value).startswith(f"scene.sources.machine.{where}:"), str(info.value)
    assert phrase in str(info.value)
