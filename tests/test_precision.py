"""float32 = float64 on the default scene: one hour of `gigafactory_cell` at the default settings in both
precisions; counts agree exactly, temperatures within 1e-3 K, everything else within a stated tolerance."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from test_shipped_scenes import _numbers as flat_metrics

import twin

COUNT_KEYS = (
    "parts_in",
    "parts_out",
    "parts_on_belt",
    "throughput_parts_per_h",
    "unconverged_steps",
    "blocked_s",
    "starved_s",
    "blocked_fraction",
    "starved_fraction",
    "duration_h",
)  # exact
TEMPERATURE_ATOL_K = 1e-3  # measured 3.1e-4 K (parts at pick), 2.2e-4 K (air sensors)
# Where the field differs most: beside the pick points, where a part leaves 15 ms earlier or later in
# float32 and gives its heat to the air there a step sooner; measured 3.6e-3 K.
FIELD_ATOL_K = 1e-2
RTOL = {  # by metric, relative; float32 sums tens of thousands of step increments
    "energy": 5e-4,  # measured 1.1e-4 (conveyor energy: 36,000 belt substeps), 1.8e-6 (heaters)
    "current": 1e-3,  # measured 2.4e-4 (mean motor current, the same sums)
    "power": 1e-3,
    "cure": 1e-5,  # measured 4.4e-6
    "throughput": 1e-5,  # steady throughput from exit times; measured 1.4e-6
    "work_in_progress": 1e-5,  # measured 6.8e-6
    "speed": 1e-6,  # measured 3.5e-7
}
FIRST_EXIT_ATOL_S = 0.05  # measured 0.012 s at t ≈ 1471 s (ulp 1.2e-4 s, and the exit interpolation)


@functools.cache
def runs() -> dict[str, twin.Result]:
    scene = twin.load_scene("gigafactory_cell")
    return {p: twin.simulate(scene, duration=3600.0, precision=p) for p in ("float32", "float64")}


def _check(key: str, a, b) -> None:
    leaf = key.rsplit(".", 1)[-1]
    if a is None or b is None:
        assert a is None and b is None, key
    elif leaf in COUNT_KEYS:
        assert a == b, key
    elif "first_exit" in leaf:
        assert a == pytest.approx(b, abs=FIRST_EXIT_ATOL_S), key
    elif "temperature" in key:
        assert a == pytest.approx(b, abs=TEMPERATURE_ATOL_K), key
    else:
        kind = next(k for k in RTOL if k in key)
        assert a == pytest.approx(b, rel=RTOL[kind]), key


def test_metrics_agree():
    # the robots and bearings sections (text, and lives that overflow float32 to null) are checked per
    # precision against float64 references in test_robot_line and test_belt_bearings
    single, double = (
        {k: v for k, v in flat_metrics(r.metrics) if not k.startswith(("robots", "bearings"))} for r in runs().values()
    )
    assert single.keys() == double.keys()
    for key in single:
        _check(key, single[key], double[key])


def test_sensors_and_field_agree():
    single, double = runs().values()
    for sensor in single.layout.sensors:
        a, b = single.sensors[sensor.name][1], double.sensors[sensor.name][1]
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        if "temperature" in sensor.kind:
            np.testing.assert_allclose(a, b, atol=TEMPERATURE_ATOL_K, equal_nan=True)
    assert np.max(np.abs(single.snapshots - double.snapshots)) <= FIELD_ATOL_K
    assert single.state.T.dtype == np.float32 and double.state.T.dtype == np.float64
    assert not math.isnan(float(single.metrics["part_temperature_at_pick_degC"]["mean"]))
