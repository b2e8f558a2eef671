"""What a run leaves in its directory (docs/results.md): results.h5 content checked against the Result it
was written from, metrics.json mirrored in /metrics, and atomic writes (temp file + rename)."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest
import yaml
from fixtures import small_line

import twin
from twin import viz
from twin.run import atomic_files
from twin.run import files as run_files

DURATION = 100.0  # s: long enough for the first parts to reach robot r1 (≈62 s) so pick metrics exist
SNAPSHOT_EVERY = 25.0  # s
VALUE_RTOL = 1e-12  # float64 run, values copied to HDF5 unchanged
SNAPSHOT_RTOL = 1e-6  # snapshots are stored as float32


@pytest.fixture(scope="module")
def result() -> twin.Result:
    scene = twin.scene_from_mapping(small_line())
    return twin.simulate(scene, DURATION, twin.Solver(), "float64", SNAPSHOT_EVERY)


@pytest.fixture(scope="module")
def config() -> dict:
    return {
        "scene": small_line(),
        "duration": DURATION,
        "precision": "float64",
        "snapshot_every": SNAPSHOT_EVERY,
        "progress": False,
        "render": False,
        "solver": {"method": "explicit", "dt": None, "max_dt": 2.0},
    }


@pytest.fixture(scope="module")
def run_dir(result, config, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    written = twin.write_run(result, run_dir, config, render=False)
    assert [p.name for p in written] == ["results.h5", "metrics.json"]
    return run_dir


@pytest.fixture
def h5(run_dir):
    with h5py.File(run_dir / "results.h5", "r") as f:
        yield f


def test_root_attributes(h5, result):
    assert h5.attrs["format_version"] == run_files.FORMAT_VERSION
    assert h5.attrs["scene"] == "small_line"
    assert h5.attrs["dt_s"] == pytest.approx(result.plan.dt, rel=VALUE_RTOL)
    assert h5.attrs["steps"] == result.plan.steps
    assert h5.attrs["duration_s"] == pytest.approx(DURATION, rel=VALUE_RTOL)
    assert set(h5) == {"config", "sensors", "parts", "metrics", "fields", "layout"}


def test_every_sensor_has_time_and_value_with_units(h5, result):
    scene = result.scene
    assert set(h5["sensors"]) == set(scene.sensors)
    units = {s.name: s.unit for s in result.layout.sensors}
    assert units == {"tc": "degC", "p1": "degC", "c1": "%", "w": "kW"}  # defaults and configured units
    for name, spec in scene.sensors.items():
        g = h5["sensors"][name]
        assert g.attrs["kind"] == spec.kind
        assert g.attrs["unit"] == units[name]
        assert g.attrs["period_s"] == spec.period
        assert g["time"].attrs["unit"] == "s"
        assert g["value"].attrs["unit"] == units[name]
        time, value = g["time"][()], g["value"][()]
        n = math.floor(DURATION / spec.period) + 1
        np.testing.assert_allclose(time, np.arange(n) * spec.period, rtol=0, atol=1e-9)  # times are k·period
        assert value.shape == time.shape
        np.testing.assert_allclose(value, result.sensors[name][1], rtol=VALUE_RTOL)
    np.testing.assert_allclose(h5["sensors/tc"].attrs["position_m"], [3.0, 2.0])
    assert h5["sensors/p1"].attrs["target"] == "r1"


def test_sensor_values_are_in_their_units(h5):
    cure_percent = h5["sensors/c1/value"][()]
    power_kw = h5["sensors/w/value"][()]
    picked = cure_percent[np.isfinite(cure_percent)]
    assert picked.size and np.all((picked >= 0.0) & (picked <= 100.0))
    assert np.all((power_kw >= 0.0) & (power_kw <= 3.0 + 1e-9))  # a 3000 W heater, in kW
    assert np.isnan(cure_percent[0])  # nothing picked at t = 0: NaN, not 0


def test_snapshots_count_shape_and_attributes(h5, result):
    temperature, time = h5["fields/temperature"], h5["fields/time"][()]
    chunks = result.plan.chunks
    assert chunks == math.ceil(DURATION / SNAPSHOT_EVERY)
    assert temperature.shape == (chunks + 1, *result.layout.shape) == (5, 8, 16)
    assert temperature.dtype == np.float32
    assert temperature.attrs["unit"] == "degC"
    assert temperature.attrs["axes"] == "time y x"
    np.testing.assert_allclose(temperature.attrs["spacing_m"], result.layout.spacing)
    assert h5["fields/time"].attrs["unit"] == "s"
    plan = result.plan  # a snapshot after every chunk of steps_per_chunk steps, the last at the end
    expected = np.minimum(np.arange(chunks + 1) * plan.steps_per_chunk, plan.steps) * plan.dt
    np.testing.assert_allclose(time, expected, rtol=1e-12)
    assert time[-1] == pytest.approx(DURATION, rel=1e-12)
    np.testing.assert_allclose(temperature[0], 20.0)  # the initial field
    np.testing.assert_allclose(temperature[-1], np.asarray(result.state.T), rtol=SNAPSHOT_RTOL)


def test_layout_group(h5, result):
    layout = h5["layout"]
    np.testing.assert_array_equal(layout["zone_index"][()], result.layout.zone_index)
    assert layout.attrs["zones"] == "background,oven,chamber"
    np.testing.assert_allclose(layout.attrs["spacing_m"], [0.5, 0.5])
    belt = layout["conveyors/belt"]
    np.testing.assert_allclose(belt["path"][()], small_line()["conveyors"]["belt"]["path"])
    assert belt["path"].attrs["unit"] == "m"
    np.testing.assert_allclose(belt.attrs["pick_points_m"], [6.0, 7.0])
    assert belt.attrs["robots"] == "r1,r2"


def test_config_round_trips(h5, config):
    assert yaml.safe_load(h5["config"].asstr()[()]) == config


def _mirror(group: h5py.Group, metrics: dict, where: str = "metrics") -> None:
    assert set(group) == set(metrics), where
    for key, value in metrics.items():
        if isinstance(value, dict):
            assert isinstance(group[key], h5py.Group), f"{where}/{key}"
            _mirror(group[key], value, f"{where}/{key}")
        elif value is None:
            assert np.isnan(group[key][()]), f"{where}/{key}: None is stored as NaN"
        else:
            assert group[key][()] == pytest.approx(value, rel=VALUE_RTOL), f"{where}/{key}"


def test_metrics_group_mirrors_metrics_json(h5, run_dir, result):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(result.metrics))
    assert metrics["parts_out"] > 0 and isinstance(metrics["part_temperature_at_pick_degC"], dict)
    _mirror(h5["metrics"], metrics)


def test_metrics_none_is_nan_before_any_pick(tmp_path):
    scene = twin.scene_from_mapping(small_line())
    early = twin.simulate(scene, 30.0, twin.Solver(), "float64", 30.0)
    twin.write_run(early, tmp_path, {}, render=False)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["part_temperature_at_pick_degC"] is None and metrics["heater_energy_per_part_kWh"] is None
    with h5py.File(tmp_path / "results.h5", "r") as f:
        _mirror(f["metrics"], metrics)
        assert f["config"].asstr()[()].strip() == "{}"


def _leftovers(run_dir) -> list[str]:
    """Temporary files of atomic writes are hidden: `.NAME.XXXX.ext`."""
    return sorted(p.name for p in run_dir.iterdir() if p.name.startswith("."))


def test_failed_render_leaves_no_png_and_no_temp_file(result, config, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no OpenGL today")

    monkeypatch.setattr(viz, "render_field", broken)
    with pytest.raises(RuntimeError, match="no OpenGL"):
        twin.write_run(result, tmp_path, config, render=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "results.h5"]
    assert _leftovers(tmp_path) == []


def test_failed_render_that_wrote_half_a_file_leaves_nothing(result, config, tmp_path, monkeypatch):
    def half(scene, layout, T, path, title=""):
        path.write_bytes(b"\x89PNG\r\n")
        raise RuntimeError("crashed mid-write")

    monkeypatch.setattr(viz, "render_field", half)
    with pytest.raises(RuntimeError):
        twin.write_run(result, tmp_path, config, render=True)
    assert not (tmp_path / "final_field.png").exists()
    assert _leftovers(tmp_path) == []


def test_failed_h5_write_keeps_the_previous_file(result, config, tmp_path, monkeypatch):
    twin.write_run(result, tmp_path, config, render=False)
    before = (tmp_path / "results.h5").read_bytes()

    def broken(group, result):
        raise OSError("disk full")

    monkeypatch.setattr(run_files, "_layout", broken)
    with pytest.raises(OSError, match="disk full"):
        twin.write_run(result, tmp_path, {"other": "config"}, render=False)
    assert (tmp_path / "results.h5").read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_atomic_path_renames_only_on_success(tmp_path):
    target = tmp_path / "a.txt"
    with atomic_files.atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_text("first")
        assert not target.exists()  # nothing at the final name until the block succeeds
    assert target.read_text() == "first"
    with pytest.raises(ValueError), atomic_files.atomic_path(target) as tmp:
        tmp.write_text("second, half")
        raise ValueError
    assert target.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_run_files_get_the_usual_permissions(tmp_path):
    """Temp-file-and-rename must not leave owner-only files (mkstemp's mode) behind."""
    import os

    from twin.run.atomic_files import atomic_path

    umask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "metrics.json") as tmp:
            tmp.write_text("{}")
    finally:
        os.umask(umask)
    assert (tmp_path / "metrics.json").stat().st_mode & 0o777 == 0o644
