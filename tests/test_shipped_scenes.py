"""Examples are tests: every shipped scene runs small and headless and leaves its three files."""

from __future__ import annotations

import json
import math
import struct

import h5py
import numpy as np
import pytest

import twin
from twin.scene.files import read_scene_mapping, shipped_scenes

SCENES = shipped_scenes()
DURATION = 120.0  # s
SNAPSHOT_EVERY = 60.0  # s
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NULLABLE = {  # None: nothing picked yet
    "heater_energy_per_part_kWh",
    "conveyor_energy_per_part_kWh",
    "part_temperature_at_pick_degC",
    "cure_at_pick",
    "steady_throughput_parts_per_h",
    "first_exit_s",
    # robots: infinite (null) for a joint that never turns or a member never in tension; a limit past year 9999
    "limit_date",
    "reducer_life_h",
    "fatigue_life_h",
    "life_h",  # float32: a near-idle joint's fatigue life overflows to inf
    "remaining_life_h",
    "remaining_cycles",
    "average_torque",
    "repeated_peak_torque",
    "momentary_peak_torque",
    "max_speed",
}


def _numbers(metrics: dict, prefix: str = ""):
    for key, value in metrics.items():
        if isinstance(value, dict):
            yield from _numbers(value, f"{prefix}{key}.")
        elif not isinstance(value, (str, list)):  # names, dates and warnings are text
            yield f"{prefix}{key}", value


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("name", sorted(SCENES))
def test_shipped_scene_runs_small_and_headless(name, tmp_path):
    scene = twin.load_scene(name)
    # float32, the production default; tests run with x64 on, so this also holds float32 runs to stay float32
    result = twin.simulate(scene, duration=DURATION, snapshot_every=SNAPSHOT_EVERY)
    config = {"scene": read_scene_mapping(SCENES[name]), "duration": DURATION, "snapshot_every": SNAPSHOT_EVERY}
    written = twin.write_run(result, tmp_path, config, render=True)

    assert [p.name for p in written] == ["results.h5", "metrics.json", "final_field.png"]
    for path in written:
        assert path.is_file() and path.stat().st_size > 0
    width, height = _png_size(tmp_path / "final_field.png")
    assert width > 100 and height > 100

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for key, value in _numbers(metrics):
        if value is None:
            assert key.rsplit(".", 1)[-1] in NULLABLE, f"metrics.json {key} is None"
        else:
            assert math.isfinite(value), f"metrics.json {key} = {value}"
    assert metrics["duration_h"] == pytest.approx(DURATION / 3600.0)
    # Parts conservation is not checked here: twin.metrics.summarise refuses a run that breaks it.
    assert np.all(np.isfinite(result.snapshots))
    assert result.state.T.dtype == np.float32 and result.plan.dt > 0

    with h5py.File(tmp_path / "results.h5", "r") as f:
        assert f.attrs["scene"] == name
        assert set(f["sensors"]) == set(scene.sensors)
        assert f["fields/temperature"].shape == (3, *result.layout.shape)  # t = 0, 60, 120 s
