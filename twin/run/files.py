"""The files a run leaves in its run directory: results.h5, metrics.json and a PNG of the final field.

Every file is written under a temporary name in the same directory and renamed into place, so a run
that fails leaves nothing half-written. Layout of results.h5: docs/results.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from twin.run.atomic_files import atomic_h5, atomic_path
from twin.scene.files import dump_yaml
from twin.simulate import Result

FORMAT_VERSION = 1


def write_run(result: Result, run_dir: Path, config: dict, render: bool = True) -> list[Path]:
    """Write results.h5, metrics.json and (if render) final_field.png into run_dir; return the paths."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    written = [write_results_h5(result, run_dir / "results.h5", config)]
    with atomic_path(run_dir / "metrics.json") as tmp:
        tmp.write_text(json.dumps(_json_numbers(result.metrics), indent=2, allow_nan=False) + "\n")
    written.append(run_dir / "metrics.json")
    if render:
        from twin import viz  # pyvista/VTK load only when a picture is asked for

        when = "steady state" if result.plan is None else f"t = {result.snapshot_times[-1] / 3600:.2f} h"
        title = f"{result.scene.name} — {when}"
        with atomic_path(run_dir / "final_field.png") as tmp:
            viz.render_field(result.scene, result.layout, result.snapshots[-1], tmp, title)
        written.append(run_dir / "final_field.png")
    return written


def _json_numbers(value):
    """The metrics with every non-finite number as null: metrics.json stays valid JSON (RFC 8259)."""
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_numbers(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_results_h5(result: Result, path: Path, config: dict) -> Path:
    with atomic_h5(path) as f:
        f.attrs.update(
            format_version=FORMAT_VERSION,
            scene=result.scene.name,
            solver="steady" if result.plan is None else "transient",
            duration_s=float(result.snapshot_times[-1]),
        )
        if result.plan is not None:
            f.attrs.update(dt_s=result.plan.dt, steps=result.plan.steps)
        f["config"] = dump_yaml(config)
        _sensors(f.create_group("sensors"), result)
        _parts(f.create_group("parts"), result)
        _metrics(f.create_group("metrics"), result.metrics)
        _fields(f.create_group("fields"), result)
        _layout(f.create_group("layout"), result)
    return path


def _sensors(group: h5py.Group, result: Result) -> None:
    for s in result.layout.sensors:
        time, value = result.sensors[s.name]
        g = group.create_group(s.name)
        g.attrs.update(kind=s.kind, unit=s.unit, period_s=s.period)
        spec = result.scene.sensors[s.name]
        if spec.position is not None:
            g.attrs["position_m"] = np.asarray(spec.position, float)
        if spec.target is not None:
            g.attrs["target"] = spec.target
        g.create_dataset("time", data=time).attrs["unit"] = "s"
        g.create_dataset("value", data=value).attrs["unit"] = s.unit


def _parts(group: h5py.Group, result: Result) -> None:
    """The per-part table, one dataset per column (twin.run.parts_log.COLUMNS), rows by conveyor and id."""
    from twin.run.parts_log import COLUMNS

    text = h5py.string_dtype()
    for name, (unit, meaning) in COLUMNS.items():
        values = result.parts.get(name, np.zeros(0))
        data = np.asarray(values, object if values.dtype == object else values.dtype)
        ds = group.create_dataset(name, data=data.astype(text) if data.dtype == object else data)
        ds.attrs.update(unit=unit, meaning=meaning)


def _metrics(group: h5py.Group, metrics: dict) -> None:
    """Nested dicts become groups; None (nothing measured, e.g. no part picked yet) is stored as NaN."""
    for key, value in metrics.items():
        if isinstance(value, dict):
            _metrics(group.create_group(key), value)
        else:
            group[key] = np.nan if value is None else value


def _fields(group: h5py.Group, result: Result) -> None:
    layout = result.layout
    axes = " ".join("zyx"[3 - layout.ndim :])
    ds = group.create_dataset(
        "temperature", data=result.snapshots.astype(np.float32), compression="gzip", chunks=(1, *layout.shape)
    )
    ds.attrs.update(unit="degC", axes=f"time {axes}", spacing_m=np.asarray(layout.spacing), origin_m=0.0)
    group.create_dataset("time", data=result.snapshot_times).attrs["unit"] = "s"


def _layout(group: h5py.Group, result: Result) -> None:
    layout = result.layout
    group.create_dataset("zone_index", data=layout.zone_index)
    group.attrs["zones"] = ",".join(("background",) + layout.zone_names)
    group.attrs["spacing_m"] = np.asarray(layout.spacing)
    conveyors = group.create_group("conveyors")
    for c in layout.conveyors:
        g = conveyors.create_group(c.name)
        g.create_dataset("path", data=c.vertices).attrs["unit"] = "m"
        g.attrs["pick_points_m"] = np.asarray(c.pick_points)
        g.attrs["robots"] = ",".join(c.robots)
