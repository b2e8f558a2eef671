"""Telemetry files (twin.telemetry.files): what is written reads back the same; every kind of broken
file is one error naming the file and the dataset or attribute."""

from __future__ import annotations

import datetime

import h5py
import numpy as np
import pytest

from twin.errors import TwinInputError
from twin.telemetry import files

START = datetime.datetime(2026, 3, 29, 0, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))


def _telemetry() -> files.Telemetry:
    t = np.array([0.0, 4.5, 10.0, 31.25])
    return files.Telemetry(
        START,
        {
            "oven_tc": files.Series(t, np.array([20.0, 20.5, np.nan, 22.0]), "air_temperature", "degC"),
            "belt_speed": files.Series(
                t + 1.0, np.array([1.2, 1.21, 1.19, 1.2]), "belt_speed", "m/min", np.array([0, 1, 2, 0], np.uint8), 0.01
            ),
        },
        scene="my_line",
    )


def test_written_telemetry_reads_back_the_same(tmp_path):
    files.write(tmp_path / "t.h5", _telemetry())
    back = files.read(tmp_path / "t.h5")
    assert back.start == START and back.scene == "my_line"
    for name, want in _telemetry().sensors.items():
        got = back.sensors[name]
        np.testing.assert_array_equal(got.t, want.t)
        np.testing.assert_array_equal(got.value, want.value)
        assert (got.kind, got.unit, got.deadband) == (want.kind, want.unit, want.deadband)
        np.testing.assert_array_equal(got.usable(), want.usable())
    assert back.sensors["oven_tc"].usable().tolist() == [True, True, False, True]  # NaN left out
    assert back.sensors["belt_speed"].usable().tolist() == [True, True, False, True]  # bad left out


def _edit(change):
    """A breakage: `change(h5py.File)` applied to a good file."""

    def apply(path):
        with h5py.File(path, "a") as f:
            change(f)

    return apply


def _set(node: str, name: str, data):
    def change(f):
        del f[f"{node}/{name}"]
        f[node].create_dataset(name, data=data)

    return _edit(change)


def _attr(node: str, name: str, value):
    def change(f):
        if value is None:
            del f[node].attrs[name]
        else:
            f[node].attrs[name] = value

    return _edit(change)


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


S = "/sensors/oven_tc"
BROKEN = {
    "not_hdf5": (lambda p: p.write_text("time,value\n0,20\n"), "", "not an HDF5 file"),
    "truncated": (_truncate, "", "truncated or damaged"),
    "format": (_attr("/", "format", "something-else"), ":/", "not a twin telemetry file"),
    "version": (_attr("/", "version", 7), ":/", "version 1 expected"),
    "no_start": (_attr("/", "start", None), ":/", "attribute start"),
    "naive_start": (_attr("/", "start", "2026-03-29T00:30:00"), ":/", "UTC offset"),
    "bad_start": (_attr("/", "start", "last tuesday"), ":/", "not an ISO 8601 time"),
    "no_sensors": (_edit(lambda f: f.__delitem__("sensors")), ":/sensors", "missing or empty"),
    "no_value": (_edit(lambda f: f.__delitem__(f"{S}/value")), f":{S}/value", "missing"),
    "no_t": (_edit(lambda f: f.__delitem__(f"{S}/t")), f":{S}/t", "missing"),
    "short_value": (_set(S, "value", [20.0, 21.0]), f":{S}/value", "shape of t"),
    "2d_value": (_set(S, "value", np.zeros((4, 2))), f":{S}/value", "one-dimensional numeric"),
    "text_value": (_set(S, "value", np.array([b"a", b"b", b"c", b"d"])), f":{S}/value", "one-dimensional numeric"),
    "times_repeat": (_set(S, "t", [0.0, 4.5, 4.5, 9.0]), f":{S}/t", "increase strictly: sample 2"),
    "times_back": (_set(S, "t", [0.0, 4.5, 3.0, 9.0]), f":{S}/t", "increase strictly: sample 2"),
    "time_nan": (_set(S, "t", [0.0, np.nan, 3.0, 9.0]), f":{S}/t", "sample 1 is not a finite time"),
    "quality_code": (
        _set("/sensors/belt_speed", "quality", np.array([0, 1, 9, 0], np.uint8)),
        ":/sensors/belt_speed/quality",
        "quality codes",
    ),
    "unit": (_attr(S, "unit", "furlong/fortnight"), f":{S}", "unknown unit"),
    "no_kind": (_attr(S, "kind", None), f":{S}", "attribute kind"),
    "deadband": (_attr("/sensors/belt_speed", "deadband", -0.5), ":/sensors/belt_speed", "deadband must be"),
    "all_nan": (_set(S, "value", [np.nan] * 4), f":{S}/value", "every sample is bad or NaN"),
    "all_bad": (
        _set("/sensors/belt_speed", "quality", np.full(4, 2, np.uint8)),
        ":/sensors/belt_speed/value",
        "every sample is bad",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_file_is_one_error_naming_the_file_and_dataset(tmp_path, case):
    path = tmp_path / "recorded.h5"
    files.write(path, _telemetry())
    breakage, where, phrase = BROKEN[case]
    breakage(path)
    with pytest.raises(TwinInputError) as err:
        files.read(path)
    text = str(err.value)
    assert text.startswith(f"{path}{where}") and phrase in text, text
    assert "\n" not in text


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(TwinInputError, match="no such telemetry file"):
        files.read(tmp_path / "nope.h5")


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(h5py.Group, "create_group", fail)
    with pytest.raises(OSError):
        files.write(tmp_path / "t.h5", _telemetry())
    assert list(tmp_path.iterdir()) == []
