"""`twin telemetry import` (twin.telemetry.historian): historian CSV exports read into telemetry.

Each flavour (wide, tall, InfluxDB annotated CSV) is written here from one known `Telemetry` and read back
to the arrays that telemetry has when written with `files.write` directly; local times across the Europe/
Berlin daylight-saving changes stay evenly spaced in UTC; quality codes map as OPC DA, OPC UA and words do;
bad input is one `TwinInputError` naming the file and row and column, or the tag map's key.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import subprocess
import sys
import warnings
import zoneinfo

import numpy as np
import pytest
from test_scene_docs import DOCS, _default_problem, _unit, key_tables

from twin.errors import TwinInputError
from twin.telemetry import files, historian
from twin.telemetry.historian import HistorianWarning

UTC = datetime.UTC
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
START = datetime.datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
NAN = float("nan")
KNOWN = files.Telemetry(
    START,
    {
        "oven_tc_mid": files.Series(
            t=np.array([0.0, 5.25, 11.5, 20.0]),
            value=np.array([180.5, 181.25, NAN, 179.0]),
            kind="air_temperature",
            unit="degC",
            quality=np.array([0, 0, 2, 0], np.uint8),
            deadband=0.5,
        ),
        "belt_speed": files.Series(
            t=np.array([2.5, 7.5, 12.5]),
            value=np.array([1.2, 1.25, 1.3]),
            kind="belt_speed",
            unit="m/min",
            quality=np.array([0, 0, 0], np.uint8),
        ),
    },
)
# historian tag name = InfluxDB measurement + "." + field
TAGS = {"oven_tc_mid": ("OVEN1.TC.MID", "PV"), "belt_speed": ("LINE1.BELT", "SPEED")}
TAG_MAP = """\
tags:
  OVEN1.TC.MID.PV: {sensor: oven_tc_mid, kind: air_temperature, unit: °C, deadband: 0.5}
  LINE1.BELT.SPEED: {sensor: belt_speed, kind: belt_speed, unit: m/min}
"""

BELT = "tags:\n  LINE1.BELT.SPEED: {sensor: belt_speed, kind: belt_speed, unit: m/min}\n"  # one tag


def tag(name: str) -> str:
    return ".".join(TAGS[name])


def stamp(t: float, style: str) -> str:
    """The time `t` s after START as an export writes it."""
    when = START + datetime.timedelta(seconds=t)
    ms = round((when - datetime.datetime(1970, 1, 1, tzinfo=UTC)) / datetime.timedelta(milliseconds=1))
    return {
        "iso_z": when.isoformat().replace("+00:00", "Z"),
        "offset": when.astimezone(datetime.timezone(datetime.timedelta(hours=-5))).isoformat(),
        "nanoseconds": when.strftime("%Y-%m-%dT%H:%M:%S.%f000Z"),
        "epoch_s": f"{ms / 1000:.3f}",
        "epoch_ms": str(ms),
    }[style]


def wide_csv(style: str) -> str:
    """AVEVA WideHistory style: one row per time any tag has a sample, empty cells elsewhere."""
    names = list(KNOWN.sensors)
    times = sorted({float(t) for s in KNOWN.sensors.values() for t in s.t})
    lines = [",".join(["DateTime", *map(tag, names)])]
    for t in times:
        cells = [stamp(t, style)]
        for name in names:
            s = KNOWN.sensors[name]
            hit = np.flatnonzero(s.t == t)
            value = s.value[hit[0]] if hit.size else None
            cells.append("" if value is None else "I/O Timeout" if np.isnan(value) else repr(float(value)))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def tall_csv(style: str) -> str:
    """PI style: the rows of one tag, then the next's; semicolons, quality words."""
    lines = ["Tag;Timestamp;Value;Status"]
    for name, s in KNOWN.sensors.items():
        for t, v, q in zip(s.t, s.value, s.quality):
            value = "" if np.isnan(v) else repr(float(v))
            lines.append(f"{tag(name)};{stamp(t, style)};{value};{'Bad' if q == files.BAD else 'Good'}")
    return "\n".join(lines) + "\n"


def influx_csv(style: str) -> str:
    """InfluxDB 2.x annotated CSV: one table per series, each with its annotations and header."""
    tables = []
    for i, (name, s) in enumerate(KNOWN.sensors.items()):
        measurement, field = TAGS[name]
        rows = [
            "#group,false,false,true,true,false,false,true,true,true",
            "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string",
            "#default,_result,,,,,,,,",
            ",result,table,_start,_stop,_time,_value,_field,_measurement,quality",
        ]
        window = "2026-03-02T00:00:00Z,2026-03-03T00:00:00Z"  # _start, _stop
        for t, v, q in zip(s.t, s.value, s.quality):
            value = "NaN" if np.isnan(v) else repr(float(v))
            quality = "bad" if q == files.BAD else "good"
            rows.append(f",,{i},{window},{stamp(t, style)},{value},{field},{measurement},{quality}")
        tables.append("\n".join(rows))
    return "\r\n\r\n".join(t.replace("\n", "\r\n") for t in tables) + "\r\n"  # Influx writes CRLF


WRITERS = {"wide": wide_csv, "tall": tall_csv, "influx": influx_csv}


def write_tag_map(tmp_path, text: str = TAG_MAP, name: str = "tags.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def import_text(tmp_path, csv_text: str, tag_map_text: str = TAG_MAP, **overrides) -> files.Telemetry:
    csv_path = tmp_path / "export.csv"
    csv_path.write_text(csv_text, encoding="utf-8")
    return historian.read(csv_path, historian.read_tag_map(write_tag_map(tmp_path, tag_map_text), overrides))


def assert_same_telemetry(tmp_path, imported: files.Telemetry, known: files.Telemetry) -> None:
    """Both written with files.write and read back: the same start and arrays and attributes."""
    files.write(tmp_path / "imported.h5", imported)
    files.write(tmp_path / "known.h5", known)
    a, b = files.read(tmp_path / "imported.h5"), files.read(tmp_path / "known.h5")
    assert a.start == b.start
    assert set(a.sensors) == set(b.sensors)
    for name, s in b.sensors.items():
        got = a.sensors[name]
        np.testing.assert_array_equal(got.t, s.t, err_msg=name)
        np.testing.assert_array_equal(got.value, s.value, err_msg=name)  # NaN where NaN
        np.testing.assert_array_equal(got.quality, s.quality, err_msg=name)
        assert (got.kind, got.unit, got.deadband) == (s.kind, s.unit, s.deadband), name


# --- the three flavours round-trip ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "flavour, style",
    [
        ("wide", "iso_z"),
        ("wide", "epoch_s"),
        ("tall", "offset"),
        ("tall", "epoch_ms"),
        ("influx", "iso_z"),
        ("influx", "nanoseconds"),
    ],
)
def test_each_flavour_reads_back_the_known_telemetry(tmp_path, flavour, style):
    with warnings.catch_warnings():
        warnings.simplefilter("error", HistorianWarning)  # every tag mapped, every mapped tag there
        imported = import_text(tmp_path, WRITERS[flavour](style))
    assert_same_telemetry(tmp_path, imported, KNOWN)


@pytest.mark.parametrize("flavour", WRITERS)
def test_a_given_format_reads_as_detected(tmp_path, flavour):
    imported = import_text(tmp_path, WRITERS[flavour]("iso_z"), format=flavour)
    assert_same_telemetry(tmp_path, imported, KNOWN)


def test_the_start_and_scene_of_the_tag_map(tmp_path):
    """An unquoted YAML time is read as its text; t is from it; the scene is written with the file."""
    text = TAG_MAP + "start: 2026-03-02T05:59:50Z\nscene: gigafactory_cell\n"
    imported = import_text(tmp_path, wide_csv("iso_z"), text)
    assert imported.start == START - datetime.timedelta(seconds=10)
    np.testing.assert_array_equal(imported.sensors["belt_speed"].t, KNOWN.sensors["belt_speed"].t + 10)
    assert imported.scene == "gigafactory_cell"


def test_columns_named_in_the_tag_map(tmp_path):
    csv_text = "When,Point,Reading\n2026-03-02T06:00:00Z,LINE1.BELT.SPEED,1.5\n"
    text = TAG_MAP + "columns: {time: when, tag: POINT, value: reading}\n"
    with pytest.warns(HistorianWarning, match="OVEN1.TC.MID.PV"):  # mapped, not in the export
        imported = import_text(tmp_path, csv_text, text)
    assert list(imported.sensors) == ["belt_speed"]
    assert imported.sensors["belt_speed"].value.tolist() == [1.5]


def test_influx_tag_template_uses_tag_columns(tmp_path):
    csv_text = (
        ",result,table,_time,_value,_field,_measurement,line\n"
        ",_result,0,2026-03-02T06:00:00Z,1.5,speed,belt,L1\n"
        ",_result,1,2026-03-02T06:00:00Z,1.7,speed,belt,L2\n"
    )
    text = (
        "influx_tag: '{line}/{_field}'\ntags:\n"
        "  L1/speed: {sensor: l1_speed, kind: belt_speed, unit: m/s}\n"
        "  L2/speed: {sensor: l2_speed, kind: belt_speed, unit: m/s}\n"
    )
    imported = import_text(tmp_path, csv_text, text)
    assert {n: s.value.tolist() for n, s in imported.sensors.items()} == {"l1_speed": [1.5], "l2_speed": [1.7]}


def test_influx_field_alone_when_the_map_has_no_measurement(tmp_path):
    csv_text = ",result,table,_time,_value,_field,_measurement\n,_result,0,2026-03-02T06:00:00Z,1.5,speed,belt\n"
    imported = import_text(tmp_path, csv_text, "tags:\n  speed: {sensor: belt_speed, kind: belt_speed, unit: m/s}\n")
    assert imported.sensors["belt_speed"].value.tolist() == [1.5]


# --- time stamps and daylight saving time --------------------------------------------------------------


def local_rows(first: datetime.datetime, n: int, step_s: float) -> list[str]:
    """n evenly spaced UTC times from `first`, as Berlin's wall-clock times without an offset."""
    times = [first + datetime.timedelta(seconds=i * step_s) for i in range(n)]
    return [t.astimezone(BERLIN).replace(tzinfo=None).isoformat(sep=" ") for t in times]


SPRING = datetime.datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # 01:00 CET; at 01:00 UTC clocks go 02:00 → 03:00
AUTUMN = datetime.datetime(2026, 10, 24, 23, 30, tzinfo=UTC)  # 01:30 CEST; at 01:00 UTC clocks go 03:00 → 02:00


@pytest.mark.parametrize("first, step_s", [(SPRING, 900.0), (AUTUMN, 900.0), (AUTUMN, 3600.0), (AUTUMN, 1234.5)])
def test_local_times_across_a_daylight_saving_change_stay_evenly_spaced(tmp_path, first, step_s):
    stamps = local_rows(first, 16, step_s)
    went_back = any(b <= a for a, b in zip(stamps, stamps[1:]))
    assert went_back == (first is AUTUMN)  # the autumn's hour 02:00-03:00 is there twice
    assert any(s[11:13] == "02" for s in stamps) == (first is AUTUMN)  # the spring has none
    csv_text = "Time,LINE1.BELT.SPEED\n" + "".join(f"{s},{i}\n" for i, s in enumerate(stamps))
    imported = import_text(tmp_path, csv_text, BELT, time_zone="Europe/Berlin")
    belt = imported.sensors["belt_speed"]
    assert imported.start == first
    np.testing.assert_array_equal(belt.t, np.arange(16) * step_s)
    np.testing.assert_array_equal(belt.value, np.arange(16.0))


def test_a_tall_series_exported_newest_first_across_the_autumn_change(tmp_path):
    stamps = local_rows(AUTUMN, 12, 900.0)[::-1]
    csv_text = "Tag,Timestamp,Value\n" + "".join(f"LINE1.BELT.SPEED,{s},{11 - i}\n" for i, s in enumerate(stamps))
    belt = import_text(tmp_path, csv_text, BELT, time_zone="Europe/Berlin").sensors["belt_speed"]
    np.testing.assert_array_equal(belt.t, np.arange(12) * 900.0)
    np.testing.assert_array_equal(belt.value, np.arange(12.0))


def test_a_time_in_the_spring_gap_is_refused(tmp_path):
    csv_text = "Time,LINE1.BELT.SPEED\n2026-03-29 01:45:00,1\n2026-03-29 02:30:00,2\n"
    with pytest.raises(TwinInputError, match="no such local time in Europe/Berlin") as err:
        import_text(tmp_path, csv_text, BELT, time_zone="Europe/Berlin")
    assert err.value.where == f"{tmp_path / 'export.csv'}:row 3, column Time"


def test_a_local_time_needs_a_time_zone(tmp_path):
    csv_text = "Time,LINE1.BELT.SPEED\n2026-03-02T06:00:00Z,1\n2026-03-02 07:00:05,2\n"
    with pytest.raises(TwinInputError, match="time_zone") as err:
        import_text(tmp_path, csv_text, BELT)
    assert err.value.where == f"{tmp_path / 'export.csv'}:row 3, column Time"


def test_epoch_numbers_and_a_strptime_pattern(tmp_path):
    """auto: a number above 1e11 is ms, else s; a time_format pattern reads what ISO 8601 does not."""
    seconds = "Time,LINE1.BELT.SPEED\n1772431200,1\n1772431200.5,2\n1772431201500,3\n"
    belt = import_text(tmp_path, seconds, BELT).sensors["belt_speed"]
    assert belt.t.tolist() == [0.0, 0.5, 1.5]
    us_format = "Time,LINE1.BELT.SPEED\n03/02/2026 06:00:00 AM,1\n03/02/2026 06:00:10 AM,2\n"
    imported = import_text(tmp_path, us_format, BELT, time_format="%m/%d/%Y %I:%M:%S %p", time_zone="UTC")
    assert imported.start == START and imported.sensors["belt_speed"].t.tolist() == [0.0, 10.0]


# --- quality ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, mode, expected",
    [
        ("192", "auto", files.GOOD),
        ("216", "opc_da", files.GOOD),  # 0xD8: good, local override
        ("64", "auto", files.UNCERTAIN),
        ("0x40", "opc_da", files.UNCERTAIN),
        ("0", "opc_da", files.BAD),
        ("24", "auto", files.BAD),  # 0x18: bad, comm failure
        ("0x00000000", "opc_ua", files.GOOD),
        ("0x40000000", "opc_ua", files.UNCERTAIN),
        ("0x80000000", "opc_ua", files.BAD),
        ("1073741824", "auto", files.UNCERTAIN),  # above 255: a StatusCode
        ("2148139008", "auto", files.BAD),  # 0x800B0000 BadServiceUnsupported
        ("-2147483648", "auto", files.BAD),  # 0x80000000 as a signed 32-bit number
        ("Good", "text", files.GOOD),
        ("GoodNoData", "auto", files.GOOD),
        ("uncertain", "text", files.UNCERTAIN),
        ("UncertainLastUsableValue", "opc_ua", files.UNCERTAIN),
        ("BAD", "text", files.BAD),
        ("Bad_CommFailure", "opc_da", files.BAD),
    ],
)
def test_quality_codes(tmp_path, code, mode, expected):
    """The second sample's quality; the first, Good, keeps the sensor usable."""
    csv_text = f"Tag,Timestamp,Value,Quality\nLINE1.BELT.SPEED,0,1,Good\nLINE1.BELT.SPEED,1,2,{code}\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HistorianWarning)
        belt = import_text(tmp_path, csv_text, BELT, quality=mode).sensors["belt_speed"]
    assert belt.quality.tolist() == [files.GOOD, expected]
    assert belt.value.tolist() == [1.0, 2.0]  # a bad sample keeps its value; the fit leaves it out


def test_only_zero_codes_read_as_opc_da_with_a_warning(tmp_path):
    csv_text = "Tag,Timestamp,Value,Quality\nLINE1.BELT.SPEED,0,1,Good\nLINE1.BELT.SPEED,1,2,0\n"
    with pytest.warns(HistorianWarning, match="quality: opc_ua"):
        belt = import_text(tmp_path, csv_text, BELT).sensors["belt_speed"]
    assert belt.quality.tolist() == [files.GOOD, files.BAD]


def test_empty_or_non_numeric_values_are_nan_and_bad(tmp_path):
    csv_text = "Tag,Timestamp,Value,Quality\n" + "".join(
        f"LINE1.BELT.SPEED,{i},{v},192\n" for i, v in enumerate(["1.5", "", "Shutdown", "inf", "2.5"])
    )
    belt = import_text(tmp_path, csv_text, BELT).sensors["belt_speed"]
    np.testing.assert_array_equal(belt.value, [1.5, NAN, NAN, NAN, 2.5])
    assert belt.quality.tolist() == [0, 2, 2, 2, 0]


@pytest.mark.parametrize(
    "code, mode, message",
    [("Questionable", "auto", "not a quality"), ("192", "text", "quality: text"), ("300", "opc_da", "0-255")],
)
def test_quality_codes_refused(tmp_path, code, mode, message):
    csv_text = f"Tag,Timestamp,Value,Quality\nLINE1.BELT.SPEED,0,1,{code}\n"
    with pytest.raises(TwinInputError, match=message) as err:
        import_text(tmp_path, csv_text, BELT, quality=mode)
    assert err.value.where.endswith("export.csv:row 2, column Quality")


# --- tags, duplicates, warnings --------------------------------------------------------------------------


def test_unmapped_and_missing_tags_warn(tmp_path):
    csv_text = "Time,LINE1.BELT.SPEED,LINE1.OTHER\n2026-03-02T06:00:00Z,1,2\n"
    with pytest.warns(HistorianWarning) as caught:
        imported = import_text(tmp_path, csv_text)
    messages = [str(w.message) for w in caught]
    assert any("1 tags not in the tag map, skipped: LINE1.OTHER" in m for m in messages)
    assert any("'OVEN1.TC.MID.PV' of the tag map is not in the export" in m for m in messages)
    assert list(imported.sensors) == ["belt_speed"]


def test_a_tag_without_a_usable_sample_is_skipped(tmp_path):
    csv_text = "Time,LINE1.BELT.SPEED,OVEN1.TC.MID.PV\n2026-03-02T06:00:00Z,1,Comm Failure\n"
    with pytest.warns(HistorianWarning, match="every sample is bad"):
        imported = import_text(tmp_path, csv_text)
    assert list(imported.sensors) == ["belt_speed"]


def test_samples_sorted_and_duplicates_keep_the_last(tmp_path):
    csv_text = "Tag,Timestamp,Value\n" + "".join(
        f"LINE1.BELT.SPEED,2026-03-02T06:00:{s:02d}Z,{v}\n" for s, v in [(10, 3), (0, 1), (5, 2), (10, 4)]
    )
    with pytest.warns(HistorianWarning, match="1 samples at the time of another.*row 5"):
        belt = import_text(tmp_path, csv_text, BELT).sensors["belt_speed"]
    assert belt.t.tolist() == [0.0, 5.0, 10.0]
    assert belt.value.tolist() == [1.0, 2.0, 4.0]
    with pytest.raises(TwinInputError, match=r"already \(row 2\)") as err:
        import_text(tmp_path, csv_text, BELT, duplicates="refuse")
    assert err.value.where.endswith("export.csv:row 5, column Timestamp")


# --- bad input -------------------------------------------------------------------------------------------


def where_of(tmp_path, csv_text: str, tag_map_text: str = TAG_MAP, **overrides) -> TwinInputError:
    with pytest.raises(TwinInputError) as err:
        import_text(tmp_path, csv_text, tag_map_text, **overrides)
    assert "\n" not in str(err.value)
    return err.value


@pytest.mark.parametrize(
    "tag_map, where, message",
    [
        ("time_zon: Europe/Berlin\n" + TAG_MAP, "time_zon", "did you mean 'time_zone'"),
        (TAG_MAP + "columns: {timestamp: t}\n", "columns.timestamp", "did you mean 'time'"),
        (TAG_MAP.replace("m/min}", "m/min, units: m/min}"), "tags.LINE1.BELT.SPEED.units", "did you mean 'unit'"),
        (TAG_MAP.replace("°C", "furlongs"), "tags.OVEN1.TC.MID.PV.unit", "unknown unit 'furlongs'"),
        (TAG_MAP.replace("°C", "m/s"), "tags.OVEN1.TC.MID.PV.unit", "cannot be converted"),
        (TAG_MAP.replace("kind: belt_speed", "kind: belt_sped"), "tags.LINE1.BELT.SPEED.kind", "did you mean"),
        (TAG_MAP.replace("sensor: belt_speed", "sensor: oven_tc_mid"), "tags.LINE1.BELT.SPEED.sensor", "already"),
        (TAG_MAP.replace("sensor: belt_speed", "sensor: belt speed"), "tags.LINE1.BELT.SPEED.sensor", "letters"),
        (TAG_MAP.replace("deadband: 0.5", "deadband: -1"), "tags.OVEN1.TC.MID.PV.deadband", "≥ 0"),
        (TAG_MAP.replace(", unit: m/min", ""), "tags.LINE1.BELT.SPEED.unit", "required"),
        ("format: wide\n", "tags", "required"),
        (TAG_MAP + "time_zone: Europe/Berln\n", "time_zone", "did you mean 'Europe/Berlin'"),
        (TAG_MAP + "format: excel\n", "format", "allowed: auto, wide, tall, influx"),
        (TAG_MAP + "time_format: unix\n", "time_format", "strptime"),
        (TAG_MAP + "start: '2026-03-02 06:00'\n", "start", "UTC offset"),
        (TAG_MAP + "delimiter: ';;'\n", "delimiter", "one character"),
    ],
)
def test_bad_tag_maps_are_refused_at_their_key(tmp_path, tag_map, where, message):
    err = where_of(tmp_path, wide_csv("iso_z"), tag_map)
    assert err.where == f"{tmp_path / 'tags.yaml'}:{where}"
    assert message in err.message


def test_a_bad_override_is_the_command_lines(tmp_path):
    err = where_of(tmp_path, wide_csv("iso_z"), time_zone="Mars/Olympus")
    assert err.where == "time_zone"
    with pytest.raises(TwinInputError, match="did you mean 'format'") as bad_key:
        historian.read_tag_map(write_tag_map(tmp_path), {"formt": "wide"})
    assert bad_key.value.where == "formt"


@pytest.mark.parametrize(
    "csv_text, where, message",
    [
        ("", "", "empty"),
        ("\n \n", "", "empty"),
        ("Time,LINE1.BELT.SPEED\n", "", "no sample"),
        ("Time,LINE1.BELT.SPEED\n2026-03-02T06:00:00Z,1\nyesterday,2\n", ":row 3, column Time", "not a time"),
        ("Tag,Timestamp,Value\nLINE1.BELT.SPEED,2026-13-02 06:00,1\n", ":row 2, column Timestamp", "not a time"),
        ("Time,LINE1.BELT.SPEED\n2026-03-02T06:00:00Z,1,7\n", ":row 2", "cells in a row under a header of 2"),
        ("Time,LINE1.BELT.SPEED\n,1\n", ":row 2, column Time", "no timestamp"),
        ('Time,LINE1.BELT.SPEED\n2026-03-02T06:00:00Z,"1"2\n', ":row 2", "not CSV"),
        ("Time,A,A\n2026-03-02T06:00:00Z,1,2\n", ":row 1, column 3", "a second column"),
        ("Tag,Value\nLINE1.BELT.SPEED,1\n", ":row 1", "no time column"),
        ("#datatype,string\n,result,_value\n,_result,1\n", ":row 2", "no _field column"),
        ("Time,OTHER\n2026-03-02T06:00:00Z,1\n", "", "no usable sample of a tag in the tag map"),
        ('{\n  "sensors": [1, 2]\n}\n', ":row 1", "one column per tag"),
    ],
)
def test_bad_exports_are_refused_at_their_row_and_column(tmp_path, csv_text, where, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HistorianWarning)
        err = where_of(tmp_path, csv_text)
    assert err.where == f"{tmp_path / 'export.csv'}{where}"
    assert message in err.message


def test_binary_and_non_utf8_files_are_refused(tmp_path):
    files.write(tmp_path / "export.h5", KNOWN)
    tag_map = historian.read_tag_map(write_tag_map(tmp_path))
    with pytest.raises(TwinInputError, match="binary data") as err:
        historian.read(tmp_path / "export.h5", tag_map)
    assert err.value.where == str(tmp_path / "export.h5")
    (tmp_path / "latin.csv").write_bytes("Time,Ofen °C\n".encode("latin-1"))
    with pytest.raises(TwinInputError, match="UTF-8") as err:
        historian.read(tmp_path / "latin.csv", tag_map)
    assert err.value.where == f"{tmp_path / 'latin.csv'}:row 1"


def test_a_python_tag_map_is_checked_as_a_files(tmp_path):
    (tmp_path / "export.csv").write_text(wide_csv("iso_z"))
    tag_map = historian.TagMap(tags={"LINE1.BELT.SPEED": historian.Tag("belt_speed", "belt_speed", "km/h")})
    with pytest.raises(TwinInputError, match="unknown unit 'km/h'") as err:
        historian.read(tmp_path / "export.csv", tag_map)
    assert err.value.where == "tags.LINE1.BELT.SPEED.unit"


# --- the docs say what the schema says --------------------------------------------------------------------


@pytest.mark.parametrize(
    "heading, cls",
    [("Tag map keys", historian.TagMap), ("Per-tag keys", historian.Tag), ("Column keys", historian.Columns)],
)
def test_tag_map_key_tables_match_the_schema(heading, cls):
    """docs/telemetry.md: every key of the tag map with its field's unit and default."""
    tables = key_tables(DOCS / "telemetry.md")
    rows = tables[next(h for h in tables if h.startswith(heading))]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    assert set(rows) == set(fields)
    for key, row in rows.items():
        assert row["unit"] == _unit(fields[key]), f"{key}: unit"
        assert _default_problem(fields[key], row["default"]) is None, key


# --- the command ------------------------------------------------------------------------------------------


def twin(cwd, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run(
        [sys.executable, "-m", "twin", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_command_writes_a_telemetry_file(tmp_path):
    (tmp_path / "line.csv").write_text(tall_csv("iso_z"))
    write_tag_map(tmp_path)
    proc = twin(tmp_path, "telemetry", "import", "line.csv", "tags=tags.yaml", "out=line.h5", "format=tall")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.strip() == (
        "twin telemetry import: 2 sensors, 7 samples over 20 s from 2026-03-02T06:00:00+00:00: wrote line.h5"
    )
    assert_same_telemetry(tmp_path, files.read(tmp_path / "line.h5"), KNOWN)
    again = twin(tmp_path, "telemetry", "import", "line.csv", "tags=tags.yaml", "out=line.h5")
    assert again.returncode == 2 and "overwrite=true" in again.stderr


@pytest.mark.parametrize(
    "args, where",
    [
        (["tags=tags.yaml"], "line.csv:row 3, column Time: 'not a time'"),
        (["tags=bad.yaml"], "bad.yaml:time_zon"),
        ([], "tags: <missing>"),
    ],
)
def test_the_command_refuses_bad_input_in_one_line(tmp_path, args, where):
    (tmp_path / "line.csv").write_text("Time,LINE1.BELT.SPEED\n2026-03-02T06:00:00Z,1\nnot a time,2\n")
    write_tag_map(tmp_path)
    write_tag_map(tmp_path, "time_zon: UTC\n" + TAG_MAP, "bad.yaml")
    proc = twin(tmp_path, "telemetry", "import", "line.csv", *args)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("twin telemetry import: error: ") and where in line, line
    assert not (tmp_path / "telemetry.h5").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "line.csv", "tags.yaml"]
