"""The smooth throughput as an objective (`twin.Run.throughput`): on a line bound by its infeed and on one
bound by a station, in float32 and float64, its value and gradient follow the flow laws, and the gradient
agrees with float64 secants over 0.1 % and 1 % changes — the roughness a part count has is gone."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from fixtures import one_station_line
from tolerances import DTYPES, tol

import twin

BELT = 1.5  # m/s
PITCH = 0.04  # m: parts queue at 0.02 m length + 0.02 m gap
DT = 0.8  # s
DURATION = 3600.0  # s
# (spacing m, service s): parts every 120 s through a 60 s station; parts every 2 s into a 90 s one
REGIMES = {"infeed": (180.0, 60.0), "station": (3.0, 90.0)}
SECANTS = (1e-3, 1e-2)  # relative changes of the parameter


def throughput(run: twin.Run):
    return run.throughput("line")


def law(regime: str) -> dict[str, float]:
    """parts/h, and its elasticities (d ln throughput / d ln parameter) in belt speed, spacing and service."""
    spacing, service = REGIMES[regime]
    if regime == "infeed":  # one part per `spacing` m of belt travel
        return {"value": BELT / spacing * 3600.0, "speed": 1.0, "spacing": -1.0, "service": 0.0}
    cycle = service + PITCH / BELT  # serve, then wait for the next queued part to close up one pitch
    return {"value": 3600.0 / cycle, "speed": PITCH / BELT / cycle, "spacing": 0.0, "service": -service / cycle}


@functools.cache
def _built(regime: str, precision: str):
    layout, params, _ = twin.build(one_station_line(*REGIMES[regime], BELT), DTYPES[precision])
    return layout, params


def _with(params: twin.Params, name: str, factor: float) -> twin.Params:
    if name == "speed":
        return params.replace(belts=params.belts.replace(setpoint=params.belts.setpoint * factor))
    if name == "spacing":
        return params.replace(part_spacing=params.part_spacing * factor)
    return params.replace(service_time=params.service_time * factor)


def _base(params: twin.Params, name: str) -> float:
    values = {"speed": params.belts.setpoint, "spacing": params.part_spacing, "service": params.service_time}
    return float(values[name].ravel()[0])


@functools.cache
def _secant(regime: str, name: str, change: float) -> float:
    layout, params = _built(regime, "float64")
    solver = twin.Solver(dt=DT)
    up, down = (
        float(twin.evaluate(throughput, layout, _with(params, name, 1 + s), solver, duration=DURATION).value)
        for s in (change, -change)
    )
    return (up - down) / (2 * change * _base(params, name))


@pytest.mark.parametrize("regime", REGIMES)
def test_throughput_objective_follows_the_flow_law_and_its_secants(regime, precision):
    layout, params = _built(regime, precision)
    value, grad, status = twin.value_and_grad(throughput, layout, params, twin.Solver(dt=DT), duration=DURATION)
    assert int(status.unconverged_steps) == 0
    expected = law(regime)
    assert float(value) == pytest.approx(expected["value"], rel=tol("throughput_objective", precision))
    ad = {"speed": grad.belts.setpoint[0], "spacing": grad.part_spacing[0], "service": grad.service_time[0, 0]}
    for name, derivative in ad.items():
        elasticity = float(derivative) * _base(params, name) / expected["value"]
        assert abs(elasticity - expected[name]) <= tol("throughput_elasticity_law", precision), (name, elasticity)
        for change in SECANTS:
            secant = _secant(regime, name, change) * _base(params, name) / expected["value"]
            # a secant of 1/x in log terms is off its derivative by ≈ change²: curvature, not roughness
            bound = tol("throughput_elasticity_secant", precision) + change**2
            assert abs(elasticity - secant) <= bound, (name, change, elasticity, secant)


def test_the_metric_is_the_objective():
    layout, params = _built("station", "float64")
    result = twin.simulate(one_station_line(*REGIMES["station"], BELT), duration=DURATION, solver=twin.Solver(dt=DT))
    value = twin.evaluate(throughput, layout, params, twin.Solver(dt=DT), duration=DURATION).value
    metric = result.metrics["by_conveyor"]["line"]["steady_throughput_parts_per_h"]
    assert metric == pytest.approx(float(value), rel=1e-6)  # float32 (simulate's default) against float64
    assert result.metrics["steady_throughput_parts_per_h"] == metric  # one conveyor: the line's is its own


def test_throughput_before_two_exits_and_of_an_unknown_conveyor_are_one_line_errors():
    layout, params = _built("infeed", "float64")
    with pytest.raises(twin.TwinInputError) as error:
        twin.evaluate(throughput, layout, params, twin.Solver(dt=DT), duration=150.0)
    text = str(error.value)
    assert text.startswith("objective: nan — is not finite: 1 part(s) left conveyor 'line'") and "\n" not in text
    assert "run longer (duration=)" in text
    with pytest.raises(twin.TwinInputError, match=r"^conveyor: 'lin' — did you mean 'line'\?"):
        twin.evaluate(lambda run: run.throughput("lin"), layout, params, twin.Solver(dt=DT), duration=200.0)
    assert np.isnan(
        float(twin.line.picking.steady_throughput(twin.build(one_station_line(180.0, 60.0, BELT))[2].tallies)[0])
    )
