"""Material flow from the files alone: the per-part table in results.h5 (/parts), work-in-progress and
throughput sensors, and Little's law — L = λ·W holds exactly between them, at the default solver settings,
in either precision."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from fixtures import small_line
from tolerances import tol

import twin

DURATION = 400.0  # s: about 20 parts picked by the two robots of small_line


def flow_line() -> dict:
    spec = small_line()
    spec["sensors"].update(
        {
            "wip": {"kind": "work_in_progress", "target": "belt", "period": 10.0},
            "rate": {"kind": "throughput", "target": "belt", "period": 20.0, "unit": "parts/min"},
        }
    )
    return spec


def _run(precision: str, folder) -> dict:
    result = twin.simulate(twin.scene_from_mapping(flow_line()), duration=DURATION, precision=precision)
    twin.write_run(result, folder, {"scene": flow_line()}, render=False)
    with h5py.File(folder / "results.h5", "r") as f:
        parts = {k: f["parts"][k][()] for k in f["parts"]}
        for k in ("conveyor", "left_at"):
            parts[k] = f["parts"][k].asstr()[()]
        sensors = {name: (f["sensors"][name]["time"][()], f["sensors"][name]["value"][()]) for name in ("wip", "rate")}
        metrics = {k: f["metrics"][k][()] for k in ("parts_in", "parts_out", "parts_on_belt")}
        metrics["wip"] = f["metrics/by_conveyor/belt/mean_work_in_progress"][()]
        metrics["T_mean"] = f["metrics/part_temperature_at_pick_degC/mean"][()]
    return {"parts": parts, "sensors": sensors, "metrics": metrics, "precision": precision}


@pytest.fixture(scope="module", params=["float32", "float64"])
def run(request, tmp_path_factory):
    """One run per precision, read back from its files."""
    return _run(request.param, tmp_path_factory.mktemp(request.param))


def test_every_part_has_a_row(run):
    parts, m = run["parts"], run["metrics"]
    assert len(parts["id"]) == m["parts_in"]
    np.testing.assert_array_equal(np.sort(parts["id"]), np.arange(m["parts_in"]))
    left = np.isfinite(parts["time_out"])
    assert left.sum() == m["parts_out"] > 10 and (~left).sum() == m["parts_on_belt"]
    assert set(parts["left_at"][~left]) <= {""}
    assert np.all(parts["time_out"][left] > parts["time_in"][left])
    assert np.all(np.diff(parts["time_in"]) > 0)  # entered in id order
    assert np.mean(parts["temperature_at_pick"][left]) == pytest.approx(
        m["T_mean"], rel=tol("pick_temperature_mean", run["precision"])
    )
    assert np.all(np.isnan(parts["temperature_at_pick"][~left]))


def test_the_two_robots_take_alternate_parts(run):
    """A part is sent, as it enters, to the robots of its conveyor in turn: part i leaves at r1 for even
    i, at r2 for odd i."""
    parts = run["parts"]
    left = np.isfinite(parts["time_out"])
    np.testing.assert_array_equal(parts["left_at"][left], np.where(parts["id"][left] % 2 == 0, "r1", "r2"))


def test_littles_law_holds_exactly(run):
    """Mean work in progress × duration = Σ time each part spent on the line (within the run)."""
    parts, m = run["parts"], run["metrics"]
    residence = np.minimum(np.nan_to_num(parts["time_out"], nan=DURATION), DURATION) - parts["time_in"]
    assert m["wip"] * DURATION == pytest.approx(residence.sum(), rel=tol("littles_law", run["precision"]))


def test_work_in_progress_sensor_counts_the_parts_on_the_line(run):
    parts = run["parts"]
    t, wip = run["sensors"]["wip"]
    out = np.nan_to_num(parts["time_out"], nan=np.inf)
    on_line = [np.sum((parts["time_in"] <= s) & (out > s)) for s in t]
    np.testing.assert_array_equal(wip, on_line)


def test_throughput_sensor_counts_the_parts_leaving(run):
    parts = run["parts"]
    t, rate = run["sensors"]["rate"]  # parts/min over the 20 s before each sample
    left = np.diff(t, prepend=0.0) / 60.0 * rate
    counted = [np.sum((parts["time_out"] > a) & (parts["time_out"] <= b)) for a, b in zip(np.r_[-1.0, t[:-1]], t)]
    np.testing.assert_allclose(left, counted, atol=1e-9)
