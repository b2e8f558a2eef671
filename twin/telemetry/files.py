"""Telemetry files (HDF5, docs/telemetry.md): what sensors recorded, read back validated.

    /                 attrs format = "twin-telemetry", version = 1, start (ISO 8601 with offset), scene (optional)
    /sensors/<name>/t        float64 (n,) s from `start`, strictly increasing
    /sensors/<name>/value    float64 (n,) in the sensor's `unit`
    /sensors/<name>/quality  uint8 (n,) optional: 0 good, 1 uncertain, 2 bad (OPC UA's severity bits)
                      attrs kind, unit, deadband (optional, ≥ 0, in `unit`: the historian's
                      compression deviation)

`read` refuses a file that is not such a file with one line naming the file and the dataset or
attribute: not HDF5, truncated, a missing dataset, times not increasing, an unknown unit, a sensor whose
every sample is bad or NaN. Bad-quality and NaN samples are kept in the arrays and left out by
`Series.usable`.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from twin import units
from twin.errors import TwinInputError
from twin.run.atomic_files import atomic_h5

FORMAT, VERSION = "twin-telemetry", 1
GOOD, UNCERTAIN, BAD = 0, 1, 2
QUALITIES = {"good": GOOD, "uncertain": UNCERTAIN, "bad": BAD}


@dataclass(frozen=True)
class Series:
    """One sensor's samples: times (s from the file's start), values in `unit`, optional quality codes."""

    t: np.ndarray
    value: np.ndarray
    kind: str
    unit: str
    quality: np.ndarray | None = None
    deadband: float | None = None

    def usable(self) -> np.ndarray:
        """(n,) True for the samples a fit may use: not bad, not NaN."""
        ok = np.isfinite(self.value)
        return ok if self.quality is None else ok & (self.quality != BAD)


@dataclass(frozen=True)
class Telemetry:
    start: datetime.datetime  # aware
    sensors: dict[str, Series]
    scene: str | None = None


def write(path: Path, telemetry: Telemetry) -> None:
    """Write `telemetry` to `path` whole or not at all."""
    with atomic_h5(Path(path)) as f:
        f.attrs["format"], f.attrs["version"] = FORMAT, VERSION
        f.attrs["start"] = telemetry.start.isoformat()
        if telemetry.scene is not None:
            f.attrs["scene"] = telemetry.scene
        group = f.create_group("sensors")
        for name, s in telemetry.sensors.items():
            g = group.create_group(name)
            g.create_dataset("t", data=np.asarray(s.t, np.float64))
            g.create_dataset("value", data=np.asarray(s.value, np.float64))
            if s.quality is not None:
                g.create_dataset("quality", data=np.asarray(s.quality, np.uint8))
            g.attrs["kind"], g.attrs["unit"] = s.kind, s.unit
            if s.deadband is not None:
                g.attrs["deadband"] = float(s.deadband)


def read(path: Path) -> Telemetry:
    """The telemetry in `path`, validated (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise TwinInputError(str(path), None, "no such telemetry file")
    if not h5py.is_hdf5(path):
        raise TwinInputError(
            str(path), None, "not an HDF5 file (historian CSV exports: `twin telemetry import`, docs/telemetry.md)"
        )
    try:
        with h5py.File(path, "r") as f:
            return _read_open(path, f)
    except OSError as err:  # a truncated or damaged file: HDF5 fails at the first object it cannot read
        reason = " ".join(str(err).split())
        raise TwinInputError(str(path), None, f"cannot be read as HDF5 (truncated or damaged?): {reason}") from None


def _read_open(path: Path, f: h5py.File) -> Telemetry:
    fmt = _attr(f.attrs, "format")
    if fmt != FORMAT:
        raise TwinInputError(
            f"{path}:/", fmt, f"not a twin telemetry file (expected the attribute format = {FORMAT!r})"
        )
    version = f.attrs.get("version")
    if version != VERSION:
        raise TwinInputError(f"{path}:/", version, f"telemetry version {VERSION} expected (attribute version)")
    start = _start(path, _attr(f.attrs, "start"))
    scene = _attr(f.attrs, "scene")
    if "sensors" not in f or not isinstance(f["sensors"], h5py.Group) or not len(f["sensors"]):
        raise TwinInputError(f"{path}:/sensors", None, "missing or empty: no sensor to read")
    sensors = {name: _series(path, f"/sensors/{name}", g) for name, g in f["sensors"].items()}
    return Telemetry(start, sensors, scene)


def _attr(attrs, name: str):
    value = attrs.get(name)
    return value.decode() if isinstance(value, bytes) else value


def _start(path: Path, text) -> datetime.datetime:
    where = f"{path}:/"
    if not isinstance(text, str):
        raise TwinInputError(where, text, "the attribute start (ISO 8601 time of t = 0) is missing")
    try:
        start = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise TwinInputError(where, text, "the attribute start is not an ISO 8601 time") from None
    if start.tzinfo is None:
        raise TwinInputError(where, text, "the attribute start needs its UTC offset (e.g. 2026-03-02T06:00:00Z)")
    return start


def _series(path: Path, where: str, g) -> Series:
    if not isinstance(g, h5py.Group):
        raise TwinInputError(f"{path}:{where}", None, "expected a group with datasets t and value")
    arrays = {name: _array(path, f"{where}/{name}", g[name]) for name in ("t", "value", "quality") if name in g}
    for name in ("t", "value"):
        if name not in arrays:
            raise TwinInputError(f"{path}:{where}/{name}", None, "missing")
    t, value = arrays["t"], arrays["value"]
    if value.shape != t.shape:
        raise TwinInputError(f"{path}:{where}/value", value.shape, f"must have the shape of t {t.shape}")
    _check_times(path, f"{where}/t", t)
    quality = arrays.get("quality")
    if quality is not None:
        quality = _quality(path, f"{where}/quality", quality, t.shape)
    kind, unit = _attr(g.attrs, "kind"), _attr(g.attrs, "unit")
    for name, text in (("kind", kind), ("unit", unit)):
        if not isinstance(text, str):
            raise TwinInputError(f"{path}:{where}", text, f"the attribute {name} is missing (a string)")
    if units.canonical(unit) is None:
        raise TwinInputError(f"{path}:{where}", unit, units.why_not(unit, unit))
    deadband = _deadband(path, where, g.attrs.get("deadband"))
    series = Series(t, value, kind, unit, quality, deadband)
    if not series.usable().any():
        raise TwinInputError(f"{path}:{where}/value", f"{t.size} samples", "every sample is bad or NaN")
    return series


def _array(path: Path, where: str, node) -> np.ndarray:
    if not isinstance(node, h5py.Dataset) or node.ndim != 1 or node.dtype.kind not in "iuf":
        shape = getattr(node, "shape", None)
        raise TwinInputError(f"{path}:{where}", shape, "expected a one-dimensional numeric dataset")
    return node[()]


def _check_times(path: Path, where: str, t: np.ndarray) -> None:
    t = t.astype(np.float64)
    if not np.all(np.isfinite(t)):
        i = int(np.flatnonzero(~np.isfinite(t))[0])
        raise TwinInputError(f"{path}:{where}", float(t[i]), f"sample {i} is not a finite time")
    steps = np.diff(t)
    if np.any(steps <= 0):
        i = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise TwinInputError(
            f"{path}:{where}", float(t[i]), f"times must increase strictly: sample {i} follows {t[i - 1]!r}"
        )


def _quality(path: Path, where: str, quality: np.ndarray, shape) -> np.ndarray:
    if quality.shape != shape:
        raise TwinInputError(f"{path}:{where}", quality.shape, f"must have the shape of t {shape}")
    bad = ~np.isin(quality, list(QUALITIES.values()))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TwinInputError(
            f"{path}:{where}", int(quality[i]), f"sample {i}: quality codes are 0 good, 1 uncertain, 2 bad"
        )
    return quality.astype(np.uint8)


def _deadband(path: Path, where: str, value) -> float | None:
    if value is None:
        return None
    number = float(value) if np.ndim(value) == 0 and np.asarray(value).dtype.kind in "iuf" else math.nan
    if not math.isfinite(number) or number < 0:
        raise TwinInputError(
            f"{path}:{where}", value, "the attribute deadband must be a number ≥ 0 in the sensor's unit"
        )
    return number
