"""Typed run settings of `twin simulate`, `twin record` and `twin calibrate` (everything in
conf/simulate.yaml, conf/record.yaml and conf/calibrate.yaml but the scene), validated.

The fields carry their meaning, unit and allowed range (`twin.scene.schema.key` / `number`) and are
checked by the scene's converter (`twin.scene.convert`), as `Solver` and `Limits` check theirs: one check
for the command line and the Python API (`twin.simulate` calls `check_run`), so `duration=-60` and
``twin.simulate(..., duration=-60)`` give the same one-line error at the same key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from twin.calibrate.spec import Calibration
from twin.errors import MISSING, TwinInputError
from twin.precision import DEVICES, PRECISIONS
from twin.run.size import Limits
from twin.scene import convert
from twin.scene.schema import key, number
from twin.step import Solver
from twin.telemetry.record import Recording

Precision = Literal[tuple(PRECISIONS)]
Device = Literal[DEVICES]


@dataclass(frozen=True)
class SimulateConfig:
    duration: float = number("simulated line time", "s", gt=0)
    precision: Precision = key("floating-point precision")
    snapshot_every: float = number("interval of the field snapshots", "s", gt=0)
    progress: bool = key("progress bar on the terminal")
    render: bool = key("write final_field.png")
    device: Device = key("where JAX runs")
    solver: Solver = key("thermal time stepping")
    overwrite: bool = key("write over another run's files", default=False)
    checkpoint_every: float | None = number("line time between checkpoints", "s", gt=0, default=None)
    compile_cache: bool = key("keep compiled programs in the per-user cache", default=True)
    limits: Limits = key("size limits of a run", default_factory=Limits)


def check_run(duration: Any, precision: Any, snapshot_every: Any, device: Any, solver: Any) -> None:
    """Refuse a run setting that no run can take, at its key path (the keys of conf/simulate.yaml)."""
    convert.check_values(
        SimulateConfig,
        {"duration": duration, "precision": precision, "snapshot_every": snapshot_every, "device": device},
        "",
    )
    if not isinstance(solver, Solver):
        raise TwinInputError("solver", solver, "expected a twin.Solver")


def from_mapping(cls, data: Any, key: str, expected: str):
    """`cls(**data)` for the mapping at `key`, each value converted and checked at its key path."""
    if not isinstance(data, Mapping):
        raise TwinInputError(key, data, f"expected {expected}")
    return convert.from_mapping(cls, data, key)


def simulate_config(data: Mapping[str, Any]) -> SimulateConfig:
    """Check the run keys of a composed config (all but `scene`); names the key of the first bad value."""
    return convert.from_mapping(SimulateConfig, {k: v for k, v in data.items() if k != "scene"}, "")


@dataclass(frozen=True)
class RecordConfig:
    duration: float = number("simulated line time", "s", gt=0)
    precision: Precision = key("floating-point precision")
    progress: bool = key("progress bar on the terminal")
    device: Device = key("where JAX runs")
    solver: Solver = key("thermal time stepping")
    record: Recording = key("how the sensors are recorded", default_factory=Recording)
    overwrite: bool = key("write over another run's files", default=False)
    compile_cache: bool = key("keep compiled programs in the per-user cache", default=True)
    limits: Limits = key("size limits of a run", default_factory=Limits)


def record_config(data: Mapping[str, Any]) -> RecordConfig:
    """Check the keys of a composed `twin record` config (all but `scene`)."""
    return convert.from_mapping(RecordConfig, {k: v for k, v in data.items() if k != "scene"}, "")


@dataclass(frozen=True)
class CalibrateConfig:
    telemetry: str = key("the recorded telemetry file (docs/telemetry.md)")
    precision: Precision = key("floating-point precision of the fit's runs")
    progress: bool = key("a line per iteration on the terminal")
    render: bool = key("write loss.png, sensors.png and residuals.png")
    device: Device = key("where JAX runs")
    solver: Solver = key("thermal time stepping")
    calibrate: Calibration = key("the unknowns and the noise models")
    overwrite: bool = key("write over another run's files", default=False)
    compile_cache: bool = key("keep compiled programs in the per-user cache", default=True)
    limits: Limits = key("size limits of a run", default_factory=Limits)


def calibrate_config(data: Mapping[str, Any]) -> CalibrateConfig:
    """Check the keys of a composed `twin calibrate` config (all but `scene`)."""
    if data.get("telemetry") in (None, "???", ""):
        raise TwinInputError("telemetry", MISSING, "required: the recorded telemetry file, telemetry=FILE.h5")
    return convert.from_mapping(CalibrateConfig, {k: v for k, v in data.items() if k != "scene"}, "")
