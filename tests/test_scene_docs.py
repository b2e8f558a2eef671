"""The key tables of docs/scenes.md and docs/simulate.md say what the schema says: every field of every
section, with the unit and default of its field metadata, and no key the schema does not have. The
schema (`twin/scene/schema.py`, `twin.Solver`, `twin.Limits`, `twin.run.config.SimulateConfig`) is the one
place these are written; this test keeps the tables in step with it."""

from __future__ import annotations

import dataclasses
import pathlib
import re

import pytest

from twin.run.config import SimulateConfig
from twin.run.size import Limits
from twin.scene import schema
from twin.scene.files import parse_yaml
from twin.step import Solver

DOCS = pathlib.Path(__file__).parent.parent / "docs"
HEADER = "| key | type | unit | default | meaning |"
SECTIONS = {  # heading of a key table in docs/scenes.md -> the dataclass it documents
    "Top level — `Scene`": schema.Scene,
    "`grid`": schema.Grid,
    "`materials`": schema.Material,
    "`background`": schema.Medium,
    "`zones`": schema.Zone,
    "`boundaries`": schema.Boundary,
    "`schedule`": schema.Schedule,
    "`ambient`": schema.Ambient,
    "`heaters`": schema.Heater,
    "`hvac`": schema.Hvac,
    "`sources`": schema.Source,
    "`conveyors`": schema.Conveyor,
    "`parts`": schema.Parts,
    "`stations`": schema.Station,
    "`cure`": schema.Cure,
    "`segments`": schema.Segment,
    "`motor`": schema.Motor,
    "`bearings`": schema.Bearings,
    "`arms`": schema.ArmModel,
    "`joints`": schema.Joint,
    "`limits`": schema.JointLimits,
    "`reducer`": schema.Reducer,
    "`member`": schema.Member,
    "`robots`": schema.Robot,
    "`payload` and `tool`": schema.Load,
    "`sensors`": schema.Sensor,
}
RUN_SECTIONS = {"Run keys — `conf/simulate.yaml`": SimulateConfig, "Solver keys — `conf/solver/*.yaml`": Solver}
RUN_ONLY_KEYS = {"scene", "solver"}  # config groups: documented as run keys, no field of their own there


def key_tables(path: pathlib.Path) -> dict[str, dict[str, dict[str, str]]]:
    """{heading: {key: {"unit": ..., "default": ...}}} for every key table of a docs page."""
    tables, heading, rows = {}, None, None
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            heading, rows = line.lstrip("#").strip(), None
        elif line == HEADER:
            rows = tables.setdefault(heading, {})
        elif rows is not None and line.startswith("| `"):
            key, _type, unit, default, _meaning = (c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1])
            rows[key.strip("`")] = {"unit": unit, "default": default}
        elif rows is not None and not line.startswith("|"):
            rows = None
    return tables


def _unit(f: dataclasses.Field) -> str:
    return f.metadata.get("unit") or "—"


def _default_problem(f: dataclasses.Field, documented: str) -> str | None:
    """Why the documented default does not say the field's, or None. A default in backticks is a value
    (read as YAML); any other text describes a default that has no plain value (None or a collection)."""
    required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    if required or documented == "**required**":
        return None if required and documented == "**required**" else f"required is {required}"
    value = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
    literal = re.fullmatch(r"`([^`]*)`", documented)
    if literal is None:
        return None if value is None or f.default_factory is not dataclasses.MISSING else f"the default is {value!r}"
    read = parse_yaml(literal.group(1), f.name)
    return None if read == value and type(read) is type(value) else f"the default is {value!r}, not {read!r}"


def test_every_section_of_the_schema_has_its_table():
    tables = key_tables(DOCS / "scenes.md")
    assert set(tables) == set(SECTIONS)
    documented = set(SECTIONS.values())
    classes = {c for c in vars(schema).values() if dataclasses.is_dataclass(c) and c is not schema.Range}
    assert classes == documented


@pytest.mark.parametrize("heading", SECTIONS)
def test_scene_key_table_matches_the_schema(heading):
    cls, rows = SECTIONS[heading], key_tables(DOCS / "scenes.md")[heading]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    assert set(rows) == set(fields), f"{heading}: documented keys differ from {cls.__name__}'s fields"
    for name, f in fields.items():
        assert rows[name]["unit"] == _unit(f), f"{heading}: {name}: unit"
        problem = _default_problem(f, rows[name]["default"])
        assert problem is None, f"{heading}: {name}: {problem}"


def test_run_key_tables_match_the_settings():
    """docs/simulate.md: every run and solver key with its unit; the numbers' defaults where the
    dataclass has them (the run keys' defaults are conf/simulate.yaml's, checked by test_configs)."""
    tables = key_tables(DOCS / "simulate.md")
    run = tables[next(h for h in tables if h.startswith("Run keys"))]
    solver = tables[next(h for h in tables if h.startswith("Solver keys"))]
    expected = {f.name: (f, False) for f in dataclasses.fields(SimulateConfig) if f.name not in ("limits", "solver")}
    expected |= {f"limits.{f.name}": (f, True) for f in dataclasses.fields(Limits)}
    assert set(run) - RUN_ONLY_KEYS == set(expected)
    assert set(solver) == {f.name for f in dataclasses.fields(Solver)}
    expected |= {f"solver.{f.name}": (f, f.name != "method") for f in dataclasses.fields(Solver)}
    rows = {**{k: v for k, v in run.items() if k not in RUN_ONLY_KEYS}, **{f"solver.{k}": v for k, v in solver.items()}}
    for key, row in rows.items():
        f, check_default = expected[key]
        assert row["unit"] == _unit(f), f"{key}: unit"
        problem = _default_problem(f, row["default"]) if check_default else None
        assert problem is None, f"{key}: {problem}"


@pytest.mark.parametrize("heading, cls", [("Record keys", "Recording"), ("Per-sensor keys", "SensorRecording")])
def test_record_key_tables_match_the_settings(heading, cls):
    """docs/telemetry.md: every `record.*` key with the unit and default of twin.telemetry.record's fields."""
    from twin.telemetry import record

    tables = key_tables(DOCS / "telemetry.md")
    rows = tables[next(h for h in tables if h.startswith(heading))]
    fields = {f.name: f for f in dataclasses.fields(getattr(record, cls))}
    assert set(rows) == set(fields)
    for key, row in rows.items():
        assert row["unit"] == _unit(fields[key]), f"{key}: unit"
        assert _default_problem(fields[key], row["default"]) is None, key
