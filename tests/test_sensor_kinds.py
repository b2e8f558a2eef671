"""The sensor-kind table: every kind of the schema is defined once, and the station sensors read exactly
what the run's tallies hold (their samples × period add up to the blocked and starved seconds)."""

from __future__ import annotations

import typing

import numpy as np
import pytest

import twin
from twin.line.sensors import KINDS, TARGETS
from twin.scene import schema

DURATION = 1800.0
PERIOD = 120.0
# Σ fraction·period telescopes to the last tally (float64 host arithmetic on the device's readings):
# measured ≤ 1.4e-14 s in both precisions over a run of 1800 s; ×700.
TELESCOPE_S = 1e-11


def station_line() -> dict:
    """A 12 m belt with a 30 s station feeding a 60 s one (no buffer): the first is blocked, the second
    waits for each part to ride over."""
    return {
        "name": "station_line",
        "grid": {"size": [12.0, 2.0], "spacing": 1.0, "thickness": 1.0},
        "background": {"k": 0.03, "rho_c": 1200.0},
        "conveyors": {
            "line": {
                "path": [[0.5, 1.0], [11.5, 1.0]],
                "speed": 0.1,
                "parts": {"spacing": 0.5, "mass": 1.0, "c_p": 500.0, "area": 0.1, "h": 10.0, "length": 0.3},
                "stations": {
                    "s1": {"at": 3.0, "service_time": 30.0, "buffer": 0},
                    "s2": {"at": 6.0, "service_time": 60.0, "buffer": 0},
                },
            }
        },
        "sensors": {
            "s1_blocked": {"kind": "blocked_fraction", "target": "line.s1", "period": PERIOD},
            "s2_starved": {"kind": "starved_fraction", "target": "line.s2", "period": PERIOD, "unit": "%"},
            "s1_starved": {"kind": "starved_fraction", "target": "line.s1", "period": PERIOD},
        },
    }


def test_every_schema_kind_has_one_entry_with_units_and_a_target():
    assert set(KINDS) == set(typing.get_args(schema.SensorKind))
    for kind in KINDS.values():
        assert kind.units and kind.meaning
        assert kind.target in TARGETS or kind.target in ("position", "surface")


@pytest.fixture(scope="module", params=["float32", "float64"])
def station_run(request):
    return twin.simulate(twin.scene_from_mapping(station_line()), DURATION, precision=request.param)


def test_station_fractions_add_up_to_the_blocked_and_starved_seconds(station_run):
    by_station = station_run.metrics["by_station"]
    for name, key, scale in [
        ("s1_blocked", "line.s1", 1.0),
        ("s2_starved", "line.s2", 0.01),
        ("s1_starved", "line.s1", 1.0),
    ]:
        t, values = station_run.sensors[name]
        assert t[0] == 0.0 and values[0] == 0.0 and t[-1] == DURATION
        assert np.all((values >= 0.0) & (values * scale <= 1.0 + 1e-12))
        tally = by_station[key]["blocked_s" if "blocked" in name else "starved_s"]
        assert np.sum(values * scale) * PERIOD == pytest.approx(tally, abs=TELESCOPE_S)
    assert by_station["line.s1"]["blocked_s"] > 0.0  # the 60 s station holds the 30 s one back


@pytest.mark.parametrize(
    "target, phrase",
    [
        ("line", "name a processing station as conveyor.station"),
        ("line.s3", "did you mean 'line.s2'? stations: line.s1, line.s2"),
        ("belt.s1", "no such conveyor 'belt'"),
        (None, "required by a blocked_fraction sensor: a processing station as conveyor.station"),
    ],
)
def test_a_station_sensor_names_a_station(target, phrase):
    data = station_line()
    data["sensors"]["s1_blocked"]["target"] = target
    with pytest.raises(twin.SceneError, match=r"^scene\.sensors\.s1_blocked\.target: ") as error:
        twin.scene_from_mapping(data)
    assert phrase in str(error.value)
