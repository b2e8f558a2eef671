"""Historian CSV exports read into a `Telemetry` (`twin telemetry import`; docs/telemetry.md).

Three flavours, given (`format`) or told from the header:

- wide: a timestamp column, then one column per tag; an empty cell is no sample (AVEVA/Wonderware
  WideHistory, Ignition "Wide");
- tall: one sample per row — timestamp, tag, value and optionally quality columns (OSIsoft PI, AVEVA
  History, Ignition "Tall");
- influx: InfluxDB 2.x annotated CSV, one or more tables, each with its own annotations (`#datatype`,
  `#group`, `#default`) and header; a row's tag is `<_measurement>.<_field>` where the tag map has that
  name, else `<_field>` (or what the `influx_tag` template makes of the row's columns).

A YAML tag map (`TagMap`) names the sensor, kind, unit and deadband of each tag. Times become UTC: ISO
8601 with an offset as written; local times without one in `time_zone` (the autumn's repeated hour placed
by the order of the series, a time in the spring's missing hour refused); epoch seconds or milliseconds.
Quality becomes files.GOOD/UNCERTAIN/BAD from words, OPC DA or OPC UA codes; a value that is empty or no
number is NaN and bad. Per sensor the samples are sorted by time; samples at one time are the last one
kept (with a warning) or refused. Every fault is one `TwinInputError` naming the file and its row and
column, or the tag map's key path.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import decimal
import difflib
import io
import re
import string
import warnings
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from twin import units
from twin.errors import MISSING, TwinInputError, did_you_mean
from twin.line.sensors import KINDS
from twin.scene import convert
from twin.scene.files import parse_yaml
from twin.scene.schema import key, number
from twin.telemetry.files import BAD, GOOD, UNCERTAIN, Series, Telemetry

# Column names a flavour's columns are found by (case-insensitive), unless the tag map names them.
TIME_NAMES = ("timestamp", "time", "datetime", "date_time", "t_stamp", "_time")
TAG_NAMES = ("tag", "tagname", "tag_name", "name", "path", "tagpath", "point", "pointname")
VALUE_NAMES = ("value", "val", "_value")
QUALITY_NAMES = ("quality", "status", "qualitycode", "quality_code")
DELIMITERS = ",;\t|"
TIME_FORMATS = ("auto", "iso", "epoch_s", "epoch_ms")
MS_ABOVE = 1e11  # an epoch number above this is in ms: 1e11 s is the year 5138, 1e11 ms is March 1973
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
US = datetime.timedelta(microseconds=1)  # times are kept as integer µs since EPOCH: exact, as ISO text is
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
LISTED = 8  # tag names shown in one warning

Format = Literal["auto", "wide", "tall", "influx"]
Codes = Literal["auto", "text", "opc_da", "opc_ua"]
Duplicates = Literal["last", "refuse"]


class HistorianWarning(UserWarning):
    """An export's tag the tag map lacks (skipped), a mapped tag the export lacks, a tag without a usable
    sample (skipped), samples of one sensor at one time (the last kept)."""


@dataclass(frozen=True)
class Tag:
    """What one historian tag records: a sensor of the telemetry file (matched to the scene's by name)."""

    sensor: str = key("sensor name in the telemetry file: letters, digits, _ and -")
    kind: str = key("sensor kind, as the scene's sensors (docs/scenes.md)")
    unit: str = key("unit of the exported values")
    deadband: float | None = number("the historian's compression deviation", "(the tag's unit)", ge=0, default=None)


@dataclass(frozen=True)
class Columns:
    """Column names of an export (case-insensitive); null: found by their usual names."""

    time: str | None = key("the timestamp column (wide: else the first column)", default=None)
    tag: str | None = key("the tag-name column (tall)", default=None)
    value: str | None = key("the value column (tall, influx)", default=None)
    quality: str | None = key("the quality column (tall, influx)", default=None)


@dataclass(frozen=True)
class TagMap:
    """How to read one historian's exports (a YAML file): its tags, times and quality codes."""

    tags: dict[str, Tag] = key("historian tag name → what it records")
    format: Format = key("the export's flavour; auto: told from its header", default="auto")
    time_zone: str | None = key("IANA time zone of timestamps without a UTC offset", default=None)
    time_format: str = key("auto, iso, epoch_s, epoch_ms or a strptime pattern", default="auto")
    quality: Codes = key("how numeric quality codes are read", default="auto")
    start: str | None = key("time of t = 0, ISO 8601 with offset; null: the earliest sample", default=None)
    duplicates: Duplicates = key("samples of one sensor at one time: keep the last, or refuse", default="last")
    delimiter: str | None = key("the cell separator; null: whichever of , ; tab | the header holds most", default=None)
    columns: Columns = key("column names", default_factory=Columns)
    influx_tag: str | None = key("template of an InfluxDB row's tag name, e.g. {_measurement}.{_field}", default=None)
    scene: str | None = key("the scene the telemetry is for, written into the file", default=None)


OVERRIDES = tuple(f.name for f in dataclasses.fields(TagMap) if f.name not in ("tags", "columns"))


# --- the tag map -------------------------------------------------------------------------------------


def read_tag_map(path: Path | str, overrides: Mapping[str, str] | None = None) -> TagMap:
    """The tag map in the YAML file `path`, with `overrides` (key → text: the command line's) over its
    top-level keys. Errors name `path:key.path`, or the bare key for an override."""
    path, overrides = Path(path), dict(overrides or {})
    for name in overrides:
        if name not in OVERRIDES:
            raise TwinInputError(name, overrides[name], "unknown key; " + did_you_mean(name, OVERRIDES, "allowed"))
    data = {**_yaml_mapping(path), **overrides}

    def where(key_path: str) -> str:  # an override's fault is the command line's, not the file's
        return key_path if key_path.split(".")[0] in overrides else f"{path}:{key_path}"

    try:
        top = convert.from_mapping(TagMap, {**_texts(data), "tags": {}}, "")  # the tags' names are read below
        _check_top(top)
        tags = _tags(data.get("tags", MISSING))
    except TwinInputError as err:
        raise TwinInputError(where(err.where), err.value, err.message) from None
    return dataclasses.replace(top, tags=tags)


def _yaml_mapping(path: Path) -> dict:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise TwinInputError(str(path), err.strerror, "cannot read the tag map") from None
    except UnicodeDecodeError:
        raise TwinInputError(str(path), None, "not UTF-8 text; save the tag map as UTF-8") from None
    data = parse_yaml(text, str(path))
    if not isinstance(data, dict):
        raise TwinInputError(str(path), type(data).__name__, "a tag map holds a mapping with the key tags")
    return data


def _texts(data: dict) -> dict:
    """YAML reads an unquoted `start: 2026-03-02T06:00:00Z` as a datetime; the schema wants its text."""
    return {k: v.isoformat() if isinstance(v, datetime.datetime) else v for k, v in data.items()}


def _check_top(top: TagMap) -> None:
    if top.time_zone is not None:
        zone(top.time_zone)
    if top.time_format not in TIME_FORMATS and "%" not in top.time_format:
        raise TwinInputError(
            "time_format", top.time_format, f"one of {', '.join(TIME_FORMATS)}, or a strptime pattern (%Y-%m-%d ...)"
        )
    if top.start is not None:
        _start_us(top.start)
    if top.delimiter is not None and (len(top.delimiter) != 1 or top.delimiter in '"\r\n'):
        raise TwinInputError("delimiter", top.delimiter, "one character (not a quote or a line break)")
    if top.influx_tag is not None:
        try:
            _template_columns(top.influx_tag)
        except ValueError as err:
            raise TwinInputError("influx_tag", top.influx_tag, f"not a template of {{column}} names: {err}") from None


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone `name` (Europe/Berlin), or a TwinInputError at `time_zone`."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name, sorted(zoneinfo.available_timezones()), n=1, cutoff=0.8)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise TwinInputError(
            "time_zone", name, f"{hint}not an IANA time zone (Europe/Berlin, America/Chicago, UTC)"
        ) from None


def _tags(data: Any) -> dict[str, Tag]:
    if not isinstance(data, Mapping) or not data:
        raise TwinInputError("tags", data, "required: a mapping from historian tag names to {sensor, kind, unit}")
    # str: a numeric point name (1234:) is the CSV's text "1234"
    return _checked_tags({str(name): convert.from_mapping(Tag, entry, f"tags.{name}") for name, entry in data.items()})


def _checked_tags(tags: Mapping[str, Tag]) -> dict[str, Tag]:
    """Each tag checked (`_tag`), and no sensor recorded by two tags."""
    out, owners = {}, {}
    for name, tag in tags.items():
        tag = _tag(tag, f"tags.{name}")
        if tag.sensor in owners:
            raise TwinInputError(f"tags.{name}.sensor", tag.sensor, f"already the sensor of tags.{owners[tag.sensor]}")
        out[name], owners[tag.sensor] = tag, name
    return out


def _tag(tag: Tag, where: str) -> Tag:
    """`tag` checked: a plain sensor name, a known kind, a unit of the kind's quantity (its table name)."""
    if not convert.NAME.fullmatch(tag.sensor):
        raise TwinInputError(f"{where}.sensor", tag.sensor, "use letters, digits, _ and - (an HDF5 group name)")
    if tag.kind not in KINDS:
        raise TwinInputError(f"{where}.kind", tag.kind, did_you_mean(tag.kind, list(KINDS), "sensor kinds"))
    unit = units.canonical(tag.unit)
    why = units.why_not(tag.unit, tag.unit) if unit is None else units.why_not(unit, KINDS[tag.kind].units[0])
    if why is not None:
        raise TwinInputError(f"{where}.unit", tag.unit, f"{tag.kind}: {why}")
    return dataclasses.replace(tag, unit=unit)


def _template_columns(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def _start_us(text: str) -> int:
    try:
        start = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise TwinInputError("start", text, "not an ISO 8601 time (e.g. 2026-03-02T06:00:00Z)") from None
    if start.tzinfo is None:
        raise TwinInputError("start", text, "needs its UTC offset (e.g. 2026-03-02T06:00:00Z or +01:00)")
    return (start - EPOCH) // US


# --- the export: text, rows, flavour -----------------------------------------------------------------


@dataclass
class _Raw:
    """One tag's cells as exported, in file order, and the columns they are in (for errors)."""

    time_column: str
    value_column: str
    quality_column: str | None
    rows: list[int] = field(default_factory=list)  # the file's line of each sample
    times: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    qualities: list[str] = field(default_factory=list)  # "" where none

    def add(self, row: int, time: str, value: str, quality: str = "") -> None:
        self.rows.append(row)
        self.times.append(time)
        self.values.append(value)
        self.qualities.append(quality)


Rows = list[tuple[int, list[str]]]  # (line of the file, cells)


def read(path: Path | str, tag_map: TagMap) -> Telemetry:
    """The samples of `tag_map`'s tags in the historian export `path` (CSV), as telemetry."""
    path = Path(path)
    _check_top(tag_map)  # as read_tag_map checks a file's: a TagMap may be built in Python
    tag_map = dataclasses.replace(tag_map, tags=_checked_tags(tag_map.tags))
    text = _text(path)
    rows = _rows(path, text, tag_map.delimiter or _delimiter(text))
    flavour = tag_map.format if tag_map.format != "auto" else _flavour(rows, tag_map)
    raws, seen = READERS[flavour](path, rows, tag_map)
    if not seen:
        raise TwinInputError(str(path), None, f"holds a header ({flavour} export) but no sample")
    _warn_unmatched(path, tag_map, seen)
    local = zone(tag_map.time_zone) if tag_map.time_zone else None
    codes = _numeric_codes(path, raws, tag_map.quality)
    samples = {}
    for name, tag in tag_map.tags.items():
        if name not in raws:
            continue
        us, value, quality = _samples(path, name, raws[name], tag_map, local, codes)
        if np.any(np.isfinite(value) & (quality != BAD)):
            samples[tag.sensor] = (us, value, quality, tag)
        else:
            why = "every sample is bad or no number" if us.size else "no sample"
            warnings.warn(f"{path}: tag {name!r}: {why}: skipped", HistorianWarning, 2)
    if not samples:
        raise TwinInputError(str(path), None, "no usable sample of a tag in the tag map: nothing to import")
    start = _start_us(tag_map.start) if tag_map.start else min(int(s[0][0]) for s in samples.values())
    sensors = {
        name: Series((us - start) / 1e6, value, tag.kind, tag.unit, quality, tag.deadband)
        for name, (us, value, quality, tag) in samples.items()
    }
    return Telemetry(EPOCH + start * US, sensors, tag_map.scene)


def _text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise TwinInputError(str(path), err.strerror, "cannot read the export") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text": UTF-16 with its byte-order mark
        raw = raw.decode("utf-16").encode()
    if b"\x00" in raw:
        raise TwinInputError(str(path), None, "not a CSV file: it holds binary data (an HDF5 or Excel file?)")
    try:
        text = raw.decode("utf-8-sig")  # Excel starts UTF-8 with a byte-order mark
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise TwinInputError(
            f"{path}:row {line}", raw[err.start : err.start + 1], "not UTF-8 text; export the CSV as UTF-8"
        ) from None
    if not text.strip():
        raise TwinInputError(str(path), None, "empty: no header and no sample")
    return text


def _delimiter(text: str) -> str:
    """The delimiter the header holds most of (InfluxDB: always a comma); a header of one column: ','."""
    first = text.lstrip().split("\n", 1)[0]
    if first.startswith("#"):
        return ","
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=counts.__getitem__)  # a tie: the first of DELIMITERS
    return best if counts[best] else ","


def _rows(path: Path, text: str, delimiter: str) -> Rows:
    """Every row with the line of the file it starts on (a quoted cell may span lines), cells stripped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows, line = [], 1
    try:
        for cells in reader:
            rows.append((line, [c.strip() for c in cells]))
            line = reader.line_num + 1
    except csv.Error as err:
        raise TwinInputError(f"{path}:row {line}", None, f"not CSV: {err}") from None
    while rows and not any(rows[0][1]):  # blank lines before the header
        rows.pop(0)
    if not rows:
        raise TwinInputError(str(path), None, "empty: no header and no sample")
    return rows


def _flavour(rows: Rows, tag_map: TagMap) -> str:
    header = rows[0][1]
    if header[0].startswith("#") or {"_time", "_value"} <= {c.lower() for c in header}:
        return "influx"
    if tag_map.columns.tag is not None or _find(header, None, TAG_NAMES) is not None:
        return "tall"
    return "wide"


def _find(header: list[str], given: str | None, names: tuple[str, ...]) -> int | None:
    """Index of the column named `given`, or (none given) of the first of `names`; case-insensitive."""
    lower = [c.lower() for c in header]
    for name in [given] if given is not None else names:
        if name.lower() in lower:
            return lower.index(name.lower())
    return None


def _column(path: Path, line: int, header: list[str], given: str | None, names: tuple[str, ...], role: str) -> int:
    """Index of a column the flavour needs, or an error naming the header's columns."""
    i = _find(header, given, names)
    if i is None:
        named = f"named {given!r} (columns.{role})" if given else f"named {', '.join(names)} or as columns.{role}"
        raise TwinInputError(f"{path}:row {line}", header, f"no {role} column {named}")
    return i


def _cells(path: Path, line: int, cells: list[str], header: list[str]) -> list[str]:
    """A data row as long as the header: missing trailing cells are empty; extra cells are refused."""
    if len(cells) > len(header):
        raise TwinInputError(
            f"{path}:row {line}", len(cells), f"cells in a row under a header of {len(header)} (another delimiter?)"
        )
    return cells + [""] * (len(header) - len(cells))


def _at(path: Path, line: int, column: str) -> str:
    return f"{path}:row {line}, column {column}"


# --- the three flavours: each gives the mapped tags' cells, and the name of every tag it holds --------


def _wide(path: Path, rows: Rows, tag_map: TagMap) -> tuple[dict[str, _Raw], set[str]]:
    line, header = rows[0]
    given = tag_map.columns.time
    t = _column(path, line, header, given, TIME_NAMES, "time") if given else _find(header, None, TIME_NAMES) or 0
    names = {i: name for i, name in enumerate(header) if i != t and name}  # "": after a trailing delimiter
    if not names:
        raise TwinInputError(
            f"{path}:row {line}", header, "a wide export has a timestamp column and one column per tag (delimiter?)"
        )
    _unique(path, line, header)
    raws = {name: _Raw(header[t], name, None) for name in names.values() if name in tag_map.tags}
    wanted = [(i, raws[name]) for i, name in names.items() if name in raws]
    for line, cells in rows[1:]:
        if not any(cells):
            continue
        cells = _cells(path, line, cells, header)
        if not cells[t]:
            raise TwinInputError(_at(path, line, header[t]), "", "no timestamp")
        for i, raw in wanted:
            if cells[i]:  # an empty cell: no sample of this tag at this time
                raw.add(line, cells[t], cells[i])
    has_samples = any(any(cells) for _, cells in rows[1:])
    return raws, (set(names.values()) if has_samples else set())


def _unique(path: Path, line: int, header: list[str]) -> None:
    for i, name in enumerate(header):
        if name in header[:i]:
            raise TwinInputError(f"{path}:row {line}, column {i + 1}", name, "a second column of this name")


def _tall(path: Path, rows: Rows, tag_map: TagMap) -> tuple[dict[str, _Raw], set[str]]:
    line, header = rows[0]
    cols = tag_map.columns
    t = _column(path, line, header, cols.time, TIME_NAMES, "time")
    tag = _column(path, line, header, cols.tag, TAG_NAMES, "tag")
    v = _column(path, line, header, cols.value, VALUE_NAMES, "value")
    q = _column(path, line, header, cols.quality, (), "quality") if cols.quality else _find(header, None, QUALITY_NAMES)
    raws, seen = {}, set()
    for line, cells in rows[1:]:
        if not any(cells):
            continue
        cells = _cells(path, line, cells, header)
        name = cells[tag]
        if not name:
            raise TwinInputError(_at(path, line, header[tag]), "", "no tag name")
        if not cells[t]:
            raise TwinInputError(_at(path, line, header[t]), "", "no timestamp")
        seen.add(name)
        if name in tag_map.tags:
            raw = raws.setdefault(name, _Raw(header[t], header[v], None if q is None else header[q]))
            raw.add(line, cells[t], cells[v], "" if q is None else cells[q])
    return raws, seen


@dataclass(frozen=True)
class _Table:
    """Where an InfluxDB table's columns are (indices into its rows)."""

    header: list[str]
    time: int
    value: int
    quality: int | None
    measurement: int | None
    field: int | None


def _influx(path: Path, rows: Rows, tag_map: TagMap) -> tuple[dict[str, _Raw], set[str]]:
    """Tables one after another: a blank line or an annotation row ends one; its first other row is the
    next one's header. `#default` fills a table's empty cells."""
    raws, seen = {}, set()
    table, defaults = None, []
    for line, cells in rows:
        if not any(cells):
            table, defaults = None, []
        elif cells[0].startswith("#"):
            if table is not None:
                table, defaults = None, []
            if cells[0] == "#default":
                defaults = cells
        elif table is None:
            table = _influx_table(path, line, cells, tag_map)
        else:
            padded = defaults + [""] * len(table.header)
            cells = [c or d for c, d in zip(_cells(path, line, cells, table.header), padded)]
            name = _influx_name(table, cells, tag_map)
            seen.add(name)
            if name in tag_map.tags:
                h, q = table.header, table.quality
                raw = raws.setdefault(name, _Raw(h[table.time], h[table.value], None if q is None else h[q]))
                raw.add(line, cells[table.time], cells[table.value], "" if q is None else cells[q])
    return raws, seen


def _influx_table(path: Path, line: int, header: list[str], tag_map: TagMap) -> _Table:
    cols = tag_map.columns
    if "error" in header and "_time" not in header:
        raise TwinInputError(f"{path}:row {line}", header, "an InfluxDB error table: the query failed (see its row)")
    if "_value" not in header and cols.value is None:
        raise TwinInputError(
            f"{path}:row {line}", header, "an InfluxDB table without _value (pivoted?): export it unpivoted"
        )
    missing = [c for c in _template_columns(tag_map.influx_tag or "") if c not in header]
    if missing or (tag_map.influx_tag is None and "_field" not in header):
        need = f"column {missing[0]!r}, which influx_tag names" if missing else "_field column"
        raise TwinInputError(f"{path}:row {line}", header, f"this InfluxDB table has no {need}")
    q = _column(path, line, header, cols.quality, (), "quality") if cols.quality else _find(header, None, QUALITY_NAMES)
    return _Table(
        header,
        _column(path, line, header, cols.time, ("_time",), "time"),
        _column(path, line, header, cols.value, ("_value",), "value"),
        q,
        header.index("_measurement") if "_measurement" in header else None,
        header.index("_field") if "_field" in header else None,
    )


def _influx_name(table: _Table, cells: list[str], tag_map: TagMap) -> str:
    """The tag of an InfluxDB row: the `influx_tag` template filled, else `measurement.field` where the tag
    map has that name, else the field."""
    if tag_map.influx_tag is not None:
        return tag_map.influx_tag.format_map(dict(zip(table.header, cells)))
    name = cells[table.field]
    full = f"{cells[table.measurement]}.{name}" if table.measurement is not None else name
    return name if full not in tag_map.tags and name in tag_map.tags else full


READERS = {"wide": _wide, "tall": _tall, "influx": _influx}


def _warn_unmatched(path: Path, tag_map: TagMap, seen: set[str]) -> None:
    extra = sorted(seen - tag_map.tags.keys())
    if extra:
        shown = ", ".join(extra[:LISTED]) + (f" and {len(extra) - LISTED} more" if len(extra) > LISTED else "")
        warnings.warn(f"{path}: {len(extra)} tags not in the tag map, skipped: {shown}", HistorianWarning, 3)
    for name in tag_map.tags.keys() - seen:
        warnings.warn(f"{path}: tag {name!r} of the tag map is not in the export", HistorianWarning, 3)


# --- one tag's samples: times, values, quality -------------------------------------------------------


def _samples(
    path: Path, name: str, raw: _Raw, tag_map: TagMap, local: zoneinfo.ZoneInfo | None, codes: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(µs since the epoch (n,) int64, values (n,) float64, quality (n,) uint8), sorted by time."""
    us = np.array(_instants(path, raw, tag_map.time_format, local), np.int64)
    value = np.array([_number(text) for text in raw.values], np.float64)
    known: dict[str, int] = {}
    quality = np.empty(value.shape, np.uint8)
    for i, text in enumerate(raw.qualities):
        if text not in known:
            known[text] = _quality(text, codes, _at(path, raw.rows[i], raw.quality_column))
        quality[i] = known[text]
    quality[np.isnan(value)] = BAD  # an empty cell or a historian's text ("Comm Failure") is no reading
    return _ordered(path, name, raw, us, value, quality, tag_map.duplicates)


def _number(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        return np.nan
    return x if np.isfinite(x) else np.nan


def _instants(path: Path, raw: _Raw, time_format: str, local: zoneinfo.ZoneInfo | None) -> list[int]:
    """µs since the epoch of each timestamp; local times (no offset) placed in `local`."""
    out, naive = [], []
    for i, text in enumerate(raw.times):
        stamp = _stamp(text, time_format)
        if stamp is None:
            raise TwinInputError(_at(path, raw.rows[i], raw.time_column), text, _time_help(time_format))
        if isinstance(stamp, datetime.datetime):
            naive.append(i)
        out.append(stamp)
    if naive and local is None:
        raise TwinInputError(
            _at(path, raw.rows[naive[0]], raw.time_column),
            raw.times[naive[0]],
            "a local time without UTC offset: give the time zone it is in (time_zone: Europe/Berlin in the "
            "tag map, or time_zone= on the command line)",
        )
    if naive:
        placed = _local(path, raw, [out[i] for i in naive], naive, local)
        for i, us in zip(naive, placed):
            out[i] = us
    return out


def _stamp(text: str, time_format: str) -> int | datetime.datetime | None:
    """µs since the epoch, a naive datetime (a local time), or None if `text` is no time of the format."""
    if time_format in ("epoch_s", "epoch_ms") or (time_format == "auto" and NUMBER.fullmatch(text)):
        return _epoch(text, time_format)
    try:
        if "%" in time_format:
            stamp = datetime.datetime.strptime(text, time_format)
        else:
            stamp = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo is None else (stamp - EPOCH) // US


def _epoch(text: str, time_format: str) -> int | None:
    try:
        x = decimal.Decimal(text)
    except decimal.InvalidOperation:
        return None
    if not x.is_finite():
        return None
    ms = time_format == "epoch_ms" or (time_format == "auto" and abs(x) > decimal.Decimal(MS_ABOVE))
    return int((x * (1000 if ms else 1_000_000)).to_integral_value())


def _time_help(time_format: str) -> str:
    if "%" in time_format:
        return f"not a time of time_format {time_format!r}"
    if time_format in ("epoch_s", "epoch_ms"):
        return f"not a number of {'milli' if time_format == 'epoch_ms' else ''}seconds since 1970 (time_format)"
    return (
        "not a time: ISO 8601 (2026-03-02T06:00:00Z, 2026-03-02 07:00:00+01:00, or local with time_zone), "
        "epoch seconds or ms, or give time_format a strptime pattern"
    )


def _local(
    path: Path, raw: _Raw, naive: list[datetime.datetime], index: list[int], local: zoneinfo.ZoneInfo
) -> list[int]:
    """µs since the epoch of one series' local times (`index`: their samples), in file order.

    In the autumn a local hour happens twice. A time in it is the first pass (summer time) until the
    series' local time goes back (or repeats), as it does when the clocks do; from there the second pass
    (fold=1), until the series leaves that hour. A series exported newest first is read from its end.
    A time in the spring's skipped hour exists nowhere: refused.
    """
    order = range(len(naive)) if naive[0] <= naive[-1] else range(len(naive) - 1, -1, -1)
    out, fold, previous = [0] * len(naive), 0, None
    for j in order:
        stamp = naive[j].replace(tzinfo=local)
        if stamp.astimezone(datetime.UTC).astimezone(local).replace(tzinfo=None) != naive[j]:
            raise TwinInputError(
                _at(path, raw.rows[index[j]], raw.time_column),
                raw.times[index[j]],
                f"no such local time in {local.key}: the clocks skip it (daylight saving time begins); is "
                "time_zone the export's?",
            )
        if stamp.utcoffset() == stamp.replace(fold=1).utcoffset():
            fold = 0  # not in the repeated hour
        elif previous is not None and naive[j] <= previous:
            fold = 1
        out[j] = (stamp.replace(fold=fold) - EPOCH) // US
        previous = naive[j]
    return out


def _numeric_codes(path: Path, raws: dict[str, _Raw], mode: str) -> str:
    """How the export's numeric quality codes read: `mode`, or for auto opc_ua if a code is above 255 (or
    negative: a StatusCode as a signed 32-bit number), else opc_da."""
    if mode != "auto":
        return mode
    numbers = {_integer(q) for raw in raws.values() for q in set(raw.qualities)} - {None}
    if any(n > 255 or n < 0 for n in numbers):
        return "opc_ua"
    if numbers == {0}:
        warnings.warn(
            f"{path}: every quality code is 0, read as OPC DA: bad (in OPC UA 0 is good: set quality: opc_ua)",
            HistorianWarning,
            3,
        )
    return "opc_da"


def _integer(text: str) -> int | None:
    """A quality code: a whole number, decimal or 0x hexadecimal; None if `text` is none."""
    try:
        if text.lower().startswith("0x"):
            return int(text, 16)
        x = float(text)
    except ValueError:
        return None
    return int(x) if x.is_integer() else None


def _quality(text: str, codes: str, where: str) -> int:
    """files.GOOD/UNCERTAIN/BAD of a quality cell: empty (good), a word, an OPC DA or OPC UA code."""
    if not text:
        return GOOD
    for word, quality in (("good", GOOD), ("uncertain", UNCERTAIN), ("bad", BAD)):
        if text.lower().startswith(word):  # GoodNoData, Bad_CommFailure, UncertainLastUsableValue
            return quality
    n = _integer(text)
    if n is None:
        raise TwinInputError(where, text, "not a quality: Good, Uncertain, Bad (or a word starting so), or a code")
    if codes == "text":
        raise TwinInputError(where, text, "a numeric quality code under quality: text (auto, opc_da or opc_ua read it)")
    if codes == "opc_da":
        if not 0 <= n <= 255:
            raise TwinInputError(where, text, "OPC DA quality codes are 0-255 (OPC UA StatusCodes: quality: opc_ua)")
        return {0xC0: GOOD, 0x40: UNCERTAIN}.get(n & 0xC0, BAD)  # bits 7-6: 11 good, 01 uncertain, 00 (10) bad
    if not -(2**31) <= n < 2**32:
        raise TwinInputError(where, text, "OPC UA StatusCodes are 32-bit numbers")
    return (GOOD, UNCERTAIN, BAD, BAD)[(n % 2**32) >> 30]  # bits 31-30: 00 good, 01 uncertain, 10 (11) bad


def _ordered(
    path: Path, name: str, raw: _Raw, us: np.ndarray, value: np.ndarray, quality: np.ndarray, duplicates: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The samples sorted by time; of samples at one time the last in the file (or a refusal)."""
    order = np.argsort(us, kind="stable")
    us, value, quality = us[order], value[order], quality[order]
    again = np.flatnonzero(us[1:] == us[:-1]) + 1  # samples at the time of the one before
    if again.size:
        i, first = order[again[0]], order[again[0] - 1]
        if duplicates == "refuse":
            raise TwinInputError(
                _at(path, raw.rows[i], raw.time_column),
                raw.times[i],
                f"tag {name!r} has a sample at this time already (row {raw.rows[first]}); "
                "duplicates: last keeps the last",
            )
        warnings.warn(
            f"{path}: tag {name!r}: {again.size} samples at the time of another (first: row {raw.rows[i]}); the "
            "last in the file kept",
            HistorianWarning,
            4,
        )
        keep = np.ones(us.shape, bool)
        keep[again - 1] = False  # the stable sort put the file's last sample at a time last
        us, value, quality = us[keep], value[keep], quality[keep]
    return us, value, quality


__all__ = ["Columns", "HistorianWarning", "Tag", "TagMap", "read", "read_tag_map", "zone"]
