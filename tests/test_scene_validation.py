"""Scene validation: valid scenes convert with the right values and defaults; every malformed scene is
refused with a one-line error naming the exact key path and what is allowed."""

from __future__ import annotations

import copy
import dataclasses
import math
import pathlib
import re
import typing
from collections.abc import Callable
from typing import Any

import pytest
from fixtures import scene_2d, scene_3d
from omegaconf import OmegaConf

import twin
from twin.errors import SceneError
from twin.line.sensors import KINDS
from twin.scene import schema
from twin.scene.checks import segment_target
from twin.scene.convert import scene_from_mapping
from twin.scene.schema import Ambient, Boundary, Cure, Heater, Medium, Motor, Scene, Schedule, Segment

DELETE = object()
ROOT = pathlib.Path(__file__).parent.parent
SCENES = sorted((ROOT / "scenes").glob("*.yaml"))


def _apply(data: dict, path: str, value: Any) -> None:
    """Set (or with DELETE remove) the entry at a path like ``conveyors.main.path[2]``."""
    keys = [int(t[1:-1]) if t.startswith("[") else t for t in re.findall(r"\[\d+\]|[^.\[\]]+", path)]
    for key in keys[:-1]:
        data = data[key]
    if value is DELETE:
        del data[keys[-1]]
    else:
        data[keys[-1]] = value


Changes = dict[str, Any] | Callable[[dict], None]


def _case(id: str, changes: Changes, where: str, phrase: str, base: Callable[[], dict] = scene_2d):
    return pytest.param(base, changes, where, phrase, id=id)


# --- valid scenes -------------------------------------------------------------------------------------


def test_the_former_robot_key_station_is_read_as_pick_at_with_a_warning():
    data = scene_2d()
    data["robots"]["r2"]["station"] = data["robots"]["r2"].pop("pick_at")
    with pytest.warns(
        twin.DeprecatedKeyWarning,
        match=r"^scene\.robots\.r2\.station: renamed to "
        r"scene\.robots\.r2\.pick_at;",
    ):
        scene = scene_from_mapping(data)
    assert scene == scene_from_mapping(scene_2d())


def test_the_former_and_the_new_key_together_are_refused():
    data = scene_2d()
    data["robots"]["r2"]["station"] = 1.0
    with pytest.raises(
        SceneError,
        match=r"^scene\.robots\.r2\.station: 1\.0 — renamed to 'pick_at', which is "
        "given too",
    ):
        scene_from_mapping(data)


def test_2d_scene_values_and_defaults():
    scene = scene_from_mapping(scene_2d())
    assert isinstance(scene, Scene) and scene.ndim == 2
    assert scene.initial_temperature == 18.0 and isinstance(scene.initial_temperature, float)
    assert scene.grid.spacing == 0.5 and scene.grid.thickness == 4.0
    assert scene.background == Medium(material="air")
    assert scene.zones["pillar"].k == 1.8 and scene.zones["pillar"].rho_c is None
    assert scene.zones["pillar"].polygon[2] == [21.0, 6.0]
    assert scene.boundaries["x_min"] == Boundary(
        type="dirichlet", schedule=Schedule(time=[0.0, 3600.0, 7200.0], value=[15.0, 20.0, 18.0])
    )
    assert scene.boundaries["y_max"].emissivity == 0.9
    assert scene.ambient == Ambient(temperature=15.0, h=2.5)
    assert scene.heaters["oven_1"] == Heater(
        box=[[10.0, 3.0], [14.0, 6.0]],
        power=40000.0,
        setpoint=120.0,
        sensor=[12.0, 4.5],
        efficiency=0.95,
        kp=0.1,
        ki=1.0e-3,
    )
    assert scene.hvac["ahu_1"].airflow == 2.5
    parts = scene.conveyors["main"].parts
    assert parts.initial_temperature == 20.0 and parts.cure == Cure(A=1.0e5, Ea=6.0e4, n=1.0)
    assert scene.conveyors["packing"].parts.cure is None
    assert scene.robots["r2"].pick_at == 22.0
    units = {name: s.unit for name, s in scene.sensors.items()}  # defaults filled in per kind
    assert units == {
        "tc_1": "degC",
        "tc_2": "K",
        "part_r1": "degC",
        "cure_r2": "%",
        "packing_out": "degC",
        "oven_power": "kW",
        "preheat_speed": "m/s",
        "oven_current": "A",
        "packing_power": "kW",
    }


def test_2d_segments_and_motors():
    segments = scene_from_mapping(scene_2d()).conveyors["main"].segments
    assert list(segments) == ["preheat", "oven"]  # path order, as written
    assert segments["preheat"] == Segment(
        length=12.0,
        speed=0.04,
        mass_per_length=8.0,
        rolling_resistance=0.02,
        viscous_drag=50.0,
        wear=0.1,
        wear_rate=0.01,
        motor=Motor(),
    )
    assert isinstance(segments["preheat"].length, float)
    oven = segments["oven"]
    assert oven.length is None and oven.speed is None  # the rest of the path, at the conveyor's speed
    assert (oven.mass_per_length, oven.rolling_resistance, oven.viscous_drag, oven.wear) == (10.0, 0.03, 40.0, 0.0)
    assert oven.motor == Motor(
        max_force=3000.0,
        max_speed=0.2,
        kp=2000.0,
        ki=1000.0,
        current_per_force=1.5e-3,
        no_load_current=0.8,
        resistance=1.5,
        fixed_loss=80.0,
        position=[30.5, 10.5],
    )
    assert Motor().max_speed == 0.5 and Motor().position is None


def test_default_segment_and_targets():
    scene = scene_from_mapping(scene_2d())
    assert scene.conveyors["packing"].segments == {}  # one segment `belt`, default motor
    assert scene.sensors["packing_power"].target == "packing"  # not rewritten
    assert segment_target("packing", scene) == ("packing", "belt")
    assert segment_target("packing.belt", scene) == ("packing", "belt")
    assert segment_target("main.oven", scene) == ("main", "oven")
    data = scene_2d()
    data["conveyors"]["main"]["segments"] = {"whole": {"length": 34.0}}  # one explicit segment: bare name works
    data["sensors"]["preheat_speed"]["target"] = "main"
    data["sensors"]["oven_current"]["target"] = "main.whole"
    assert segment_target("main", scene_from_mapping(data)) == ("main", "whole")


def test_3d_scene_values_and_defaults():
    scene = scene_from_mapping(scene_3d())
    assert scene.ndim == 3 and scene.grid.spacing == [1.0, 1.0, 0.5] and scene.grid.thickness == 3.0
    assert scene.description == "" and scene.initial_temperature == 20.0 and scene.ambient is None
    assert scene.materials == {} and scene.robots == {} and scene.hvac == {}
    assert scene.zones["wall"].z_range == [0.0, 4.0]
    assert scene.heaters["h1"].efficiency == 1.0 and scene.heaters["h1"].sensor == [1.5, 1.5, 1.0]
    assert scene.conveyors["line"].parts is None
    infeed, outfeed = scene.conveyors["line"].segments.values()
    assert infeed.length == 6.0 and infeed.speed is None and infeed.wear_rate == 0.0
    assert infeed.motor == Motor(max_force=800.0, position=[7.0, 5.5, 0.5])
    assert outfeed.length == 12.0 and isinstance(outfeed.length, float) and outfeed.speed == 0.3
    assert outfeed.motor == Motor(max_speed=0.4)
    units = {name: s.unit for name, s in scene.sensors.items()}
    assert units == {"air": "degC", "outfeed_speed": "m/min", "infeed_current": "A", "outfeed_power": "W"}


@pytest.mark.parametrize("last, ok", [(12.0 + 5e-7, True), (12.0 - 5e-7, True), (12.0 + 5e-6, False)])
def test_segment_lengths_sum_within_tolerance(last, ok):
    data = scene_3d()
    data["conveyors"]["line"]["segments"]["outfeed"]["length"] = last
    if ok:
        scene_from_mapping(data)
    else:
        with pytest.raises(SceneError, match=r"sum to 18\.000005 m but the path is 18 m long"):
            scene_from_mapping(data)


def test_every_number_has_meaning_and_unit():
    """Every numeric or point key of the schema says its meaning and unit in its field metadata (used in
    type and range errors, and checked against docs/scenes.md)."""
    classes = [
        c
        for c in vars(schema).values()
        if isinstance(c, type) and hasattr(c, "__dataclass_fields__") and c is not schema.Range
    ]
    undescribed = [
        (c.__name__, f.name)
        for c in classes
        for f in dataclasses.fields(c)
        if any(t in str(typing.get_type_hints(c)[f.name]) for t in ("float", "int", "Point"))
        and not {"meaning", "unit"} <= f.metadata.keys()
    ]
    assert undescribed == []
    assert dataclasses.fields(schema.Robot)[2].metadata["formerly"] == "station"


@pytest.mark.parametrize(
    "bounds, text, inside, outside",
    [
        (schema.Range(gt=0), "> 0", [1e-300, 5.0], [0.0, -1.0]),
        (schema.Range(ge=0), "≥ 0", [0.0, 3.0], [-1e-9]),
        (schema.Range(gt=0, le=1), "in (0, 1]", [1.0, 0.5], [0.0, 1.5]),
        (schema.Range(ge=1, lt=10), "in [1, 10)", [1, 9.5], [10, 0]),
        (schema.Range(gt=-273.15), "> −273.15", [-273.0], [-273.15, -300.0]),
    ],
)
def test_ranges_read_and_hold(bounds, text, inside, outside):
    assert str(bounds) == text
    assert all(x in bounds for x in inside) and not any(x in bounds for x in outside)


@pytest.mark.parametrize(
    "path, value, line",
    [
        ("heaters.oven_1.efficiency", 1.5, "scene.heaters.oven_1.efficiency: 1.5 — efficiency must be in (0, 1]"),
        ("grid.size[1]", 0, "scene.grid.size[1]: 0.0 — hall extent must be > 0 m"),
        ("grid.spacing", [0.5, -0.5], "scene.grid.spacing[1]: -0.5 — cell edge must be > 0 m"),
        (
            "conveyors.main.stations",
            {"s": {"at": 1.0, "service_time": 2.0, "buffer": -1}},
            "scene.conveyors.main.stations.s.buffer: -1 — buffer must be ≥ 0 parts",
        ),
        (
            "sources",
            {"press": {"box": [[1.0, 1.0], [2.0, 2.0]], "q": -1.0}},
            "scene.sources.press.q: -1.0 — power density must be ≥ 0 W/m³ "
            "(a source gives off heat; cooling goes in hvac)",
        ),
        (
            "ambient.temperature",
            -300,
            "scene.ambient.temperature: -300.0 — ambient temperature must be > −273.15 °C "
            "(absolute zero; temperatures are in °C)",
        ),
    ],
)
def test_a_number_out_of_its_range_is_one_line_with_the_range_and_unit(path, value, line):
    data = scene_2d()
    _apply(data, path, value)
    with pytest.raises(SceneError) as info:
        scene_from_mapping(data)
    assert str(info.value) == line


def test_minimal_scene_and_empty_collections():
    data = {"name": "tiny", "grid": {"size": [2, 2], "spacing": 1}, "background": {"k": 1, "rho_c": 1}, "zones": None}
    scene = scene_from_mapping(data)
    assert scene.zones == {} and scene.sensors == {} and scene.grid.size == [2.0, 2.0]


def test_omegaconf_container_validates():
    data = OmegaConf.to_container(OmegaConf.create(scene_2d()), resolve=True)
    assert scene_from_mapping(data) == scene_from_mapping(scene_2d())


def test_input_is_not_modified():
    data = scene_2d()
    scene_from_mapping(data)
    assert data == scene_2d()


@pytest.mark.parametrize("path", SCENES or [None], ids=[p.stem for p in SCENES] or ["no-scenes-yet"])
def test_shipped_scenes_validate(path):
    if path is None:
        pytest.skip("no scenes/*.yaml yet")
    data = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    data.pop("defaults", None)
    scene_from_mapping(data, where=f"scene({path.stem})")


def test_docs_examples_validate():
    """The YAML examples of docs/scenes.md: whole scenes validate; a fragment validates merged into one."""
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "scenes.md").read_text(), re.S)
    configs = [OmegaConf.create(block) for block in blocks]
    scenes = [c for c in configs if "name" in c]
    assert scenes and len(configs) > len(scenes)
    for fragment in configs:
        data = OmegaConf.to_container(OmegaConf.merge(scenes[0], fragment), resolve=True)
        scene_from_mapping(data, where="docs")
    assert list(scene_from_mapping(OmegaConf.to_container(scenes[0])).conveyors["main"].segments) == [
        "oven_belt",
        "pick_belt",
    ]


def test_sensor_units_documented():
    """The sensor-kind table covers every kind of the schema, and the docs' units table says the same,
    default first."""
    assert set(KINDS) == set(typing.get_args(schema.SensorKind))
    text = (ROOT / "docs" / "scenes.md").read_text().split("| kind | units |\n")[1].split("\n\n")[0]
    rows = re.findall(r"^\| (`[a-z_]+`(?:, `[a-z_]+`)*) \| (`[^|]+`) \|$", text, re.M)
    documented = {
        kind: tuple(re.findall(r"`([^`]+)`", units))
        for kinds, units in rows
        for kind in re.findall(r"`([^`]+)`", kinds)
    }
    assert documented == {name: kind.units for name, kind in KINDS.items()}


# --- malformed scenes ---------------------------------------------------------------------------------

CASES = [
    _case(
        "unknown-key",
        {"heaters.oven_1.powr": 5000},
        "scene.heaters.oven_1.powr",
        "did you mean 'power'? allowed keys: box, power, setpoint",
    ),
    _case("unknown-top-level-key", {"heaterz": {}}, "scene.heaterz", "did you mean 'heaters'?"),
    _case("wrong-type", {"grid.spacing": "a"}, "scene.grid.spacing", "expected a number (m)"),
    _case("number-as-text", {"heaters.oven_1.power": "4e4"}, "scene.heaters.oven_1.power", "1.0e3, not 1e3"),
    _case("bool-for-number", {"conveyors.main.speed": True}, "scene.conveyors.main.speed", "expected a number (m/s)"),
    _case("nan", {"initial_temperature": math.nan}, "scene.initial_temperature", "expected a finite number (°C)"),
    _case("list-for-number", {"heaters.oven_1.power": [1, 2]}, "scene.heaters.oven_1.power", "expected a number"),
    _case("text-for-name", {"name": 5}, "scene.name", "expected text"),
    _case("not-a-mapping", {"grid": [36, 12]}, "scene.grid", "expected a mapping with keys size, spacing"),
    _case(
        "missing-required", {"conveyors.main.speed": DELETE}, "scene.conveyors.main.speed", "required: belt speed, m/s"
    ),
    _case(
        "unknown-kind", {"sensors.tc_1.kind": "air_temp"}, "scene.sensors.tc_1.kind", "did you mean 'air_temperature'?"
    ),
    _case("negative-k", {"materials.steel.k": -3.0}, "scene.materials.steel.k", "conductivity must be > 0 W/(m·K)"),
    _case(
        "zone-override-rho_c",
        {"zones.pillar.rho_c": 0},
        "scene.zones.pillar.rho_c",
        "volumetric heat capacity must be > 0",
    ),
    _case("zero-spacing", {"grid.spacing": 0}, "scene.grid.spacing", "cell edge must be > 0 m"),
    _case("spacing-per-axis-length", {"grid.spacing": [1, 1, 1]}, "scene.grid.spacing", "expected 2 entries, got 3"),
    _case(
        "spacing-larger-than-hall",
        {"grid.spacing": [1.0, 20.0]},
        "scene.grid.spacing[1]",
        "larger than the hall along y (12 m)",
    ),
    _case("one-cell", {"grid.spacing": 8.0}, "scene.grid.spacing", "need at least 2"),
    _case("too-many-cells", {"grid.spacing": 0.001}, "scene.grid.spacing", "432,000,000 cells; at most 50,000,000"),
    _case("grid-4d", {"grid.size": [36.0, 12.0, 4.0, 1.0]}, "scene.grid.size", "expected 1 entry [L]"),
    _case(
        "grid-1d-with-2d-geometry",
        {"grid.size": [36.0]},
        "scene.zones.oven_wall.box[0]",
        "expected 1 coordinates [x] in a 1D scene",
    ),
    _case("zero-thickness", {"grid.thickness": 0}, "scene.grid.thickness", "thickness must be > 0 m"),
    _case(
        "zero-cross-section", {"grid.cross_section": 0.0}, "scene.grid.cross_section", "cross-section must be > 0 m²"
    ),
    _case(
        "surface-sensor-inside",
        {"sensors.wall": {"kind": "surface_temperature", "position": [10.0, 6.0], "period": 10.0}},
        "scene.sensors.wall.position",
        "a surface sensor must lie on a boundary face",
    ),
    _case(
        "surface-sensor-on-a-corner",
        {"sensors.wall": {"kind": "surface_temperature", "position": [0.0, 0.0], "period": 10.0}},
        "scene.sensors.wall.position",
        "on the edge of faces x_min and y_min",
    ),
    _case(
        "surface-sensor-with-target",
        {"sensors.wall": {"kind": "surface_temperature", "target": "main", "period": 10.0}},
        "scene.sensors.wall.target",
        "takes a position, not a target",
    ),
    _case(
        "flow-sensor-unknown-conveyor",
        {"sensors.wip": {"kind": "work_in_progress", "target": "mian", "period": 10.0}},
        "scene.sensors.wip.target",
        "no such conveyor; did you mean 'main'?",
    ),
    _case(
        "flow-sensor-without-target",
        {"sensors.wip": {"kind": "throughput", "period": 10.0}},
        "scene.sensors.wip.target",
        "required by a throughput sensor: a conveyor name",
    ),
    _case(
        "flow-sensor-unit",
        {"sensors.wip": {"kind": "throughput", "target": "main", "unit": "parts/s", "period": 10.0}},
        "scene.sensors.wip.unit",
        "throughput sensors read in parts/h or parts/min",
    ),
    _case(
        "source-negative-power",
        {"sources": {"press": {"box": [[1.0, 1.0], [2.0, 2.0]], "power": -1.0}}},
        "scene.sources.press.power",
        "power must be ≥ 0 W",
    ),
    _case(
        "1d-face-y",
        lambda s: (
            s.update(grid={"size": [36.0], "spacing": 0.5}),
            [s.pop(k) for k in ("zones", "ambient", "heaters", "hvac", "conveyors", "robots", "sensors")],
            s.update(boundaries={"y_min": {"type": "adiabatic"}}),
        ),
        "scene.boundaries.y_min",
        "unknown face: a 1D scene has the faces x_min, x_max",
    ),
    _case(
        "1d-polygon",
        lambda s: (
            s.update(grid={"size": [36.0], "spacing": 0.5}, boundaries={}),
            [s.pop(k) for k in ("ambient", "heaters", "hvac", "conveyors", "robots", "sensors")],
            s.update(zones={"z": {"k": 1.0, "rho_c": 1.0, "polygon": [[0, 0], [1, 0], [1, 1]]}}),
        ),
        "scene.zones.z.polygon",
        "a 1D scene has no polygons",
    ),
    _case(
        "1d-ambient",
        lambda s: (
            s.update(grid={"size": [36.0], "spacing": 0.5}, boundaries={}),
            [s.pop(k) for k in ("zones", "heaters", "hvac", "conveyors", "robots", "sensors")],
        ),
        "scene.ambient",
        "ambient is for 2D scenes only",
    ),
    _case(
        "sensor-off-floor",
        {"sensors.tc_1.position": [40.0, 3.0]},
        "scene.sensors.tc_1.position",
        "sensor is off the floor (0..36 m × 0..12 m)",
    ),
    _case(
        "sensor-3-coords-in-2d",
        {"sensors.tc_1.position": [1, 2, 3]},
        "scene.sensors.tc_1.position",
        "expected 2 coordinates [x, y] in a 2D scene",
    ),
    _case(
        "thermostat-off-floor",
        {"heaters.oven_1.sensor": [12.0, -1.0]},
        "scene.heaters.oven_1.sensor",
        "thermostat sensor is off the floor",
    ),
    _case(
        "conveyor-leaves-floor",
        {"conveyors.main.path[2]": [30.0, 13.0]},
        "scene.conveyors.main.path[2]",
        "conveyor leaves the floor",
    ),
    _case(
        "conveyor-one-point", {"conveyors.main.path": [[2.0, 4.0]]}, "scene.conveyors.main.path", "at least 2 points"
    ),
    _case(
        "repeated-path-point",
        {"conveyors.main.path": [[2, 4], [30, 4], [30, 4]]},
        "scene.conveyors.main.path[2]",
        "same point as path[1]; consecutive path points must differ",
    ),
    _case(
        "empty-schedule",
        {"boundaries.x_min.schedule": {"time": [], "value": []}},
        "scene.boundaries.x_min.schedule.time",
        "schedule is empty",
    ),
    _case(
        "unsorted-schedule",
        {"boundaries.x_min.schedule.time": [0, 7200, 3600]},
        "scene.boundaries.x_min.schedule.time[2]",
        "times must increase strictly",
    ),
    _case(
        "schedule-length-mismatch",
        {"boundaries.x_min.schedule.value": [15.0, 20.0]},
        "scene.boundaries.x_min.schedule.value",
        "2 values for 3 times",
    ),
    _case(
        "schedule-below-absolute-zero",
        {"boundaries.x_min.schedule.value[1]": -300},
        "scene.boundaries.x_min.schedule.value[1]",
        "below absolute zero",
    ),
    _case(
        "robot-unknown-conveyor",
        {"robots.r1.conveyor": "mian"},
        "scene.robots.r1.conveyor",
        "no such conveyor; did you mean 'main'? conveyors: main, packing",
    ),
    _case(
        "pick-point-beyond-path",
        {"robots.r1.pick_at": 40.0},
        "scene.robots.r1.pick_at",
        "beyond the end of conveyor 'main' (path length 34 m)",
    ),
    _case("pick-point-negative", {"robots.r1.pick_at": -1.0}, "scene.robots.r1.pick_at", "allowed 0..34 m"),
    _case("robot-base-off-floor", {"robots.r1.base": [50, 5]}, "scene.robots.r1.base", "robot base is off the floor"),
    _case(
        "efficiency-above-one",
        {"heaters.oven_1.efficiency": 1.5},
        "scene.heaters.oven_1.efficiency",
        "efficiency must be in (0, 1]",
    ),
    _case("zero-power", {"heaters.oven_1.power": 0}, "scene.heaters.oven_1.power", "power must be > 0 W"),
    _case("negative-ki", {"heaters.oven_1.ki": -1e-3}, "scene.heaters.oven_1.ki", "integral gain must be ≥ 0"),
    _case("zero-airflow", {"hvac.ahu_1.airflow": 0.0}, "scene.hvac.ahu_1.airflow", "airflow must be > 0 m³/s"),
    _case(
        "unknown-face",
        {"boundaries.top": {"type": "adiabatic"}},
        "scene.boundaries.top",
        "faces: x_min, x_max, y_min, y_max",
    ),
    _case("z-face-in-2d", {"boundaries.z_min": {}}, "scene.boundaries.z_min", "a 2D scene has no z faces"),
    _case(
        "robin-without-h",
        {"boundaries.x_max.h": DELETE},
        "scene.boundaries.x_max.h",
        "required by a robin boundary: heat-transfer coefficient",
    ),
    _case(
        "neumann-with-h",
        {"boundaries.y_min.h": 3.0},
        "scene.boundaries.y_min.h",
        "not used by a neumann boundary (it takes flux)",
    ),
    _case(
        "adiabatic-with-temperature",
        {"boundaries.x_min": {"temperature": 3.0}},
        "scene.boundaries.x_min.temperature",
        "not used by an adiabatic boundary",
    ),
    _case(
        "unknown-boundary-type",
        {"boundaries.x_min.type": "fixed"},
        "scene.boundaries.x_min.type",
        "allowed: adiabatic, dirichlet",
    ),
    _case(
        "dirichlet-both",
        {"boundaries.x_min.temperature": 20.0},
        "scene.boundaries.x_min.schedule",
        "either temperature or schedule, not both",
    ),
    _case(
        "emissivity-zero",
        {"boundaries.y_max.emissivity": 0.0},
        "scene.boundaries.y_max.emissivity",
        "emissivity must be in (0, 1]",
    ),
    _case(
        "below-absolute-zero",
        {"heaters.oven_1.setpoint": -300.0},
        "scene.heaters.oven_1.setpoint",
        "thermostat setpoint must be > −273.15 °C (absolute zero; temperatures are in °C)",
    ),
    _case(
        "ambient-in-3d",
        {"ambient": {"temperature": 10.0, "h": 1.0}},
        "scene.ambient",
        "ambient is for 2D scenes only",
        base=scene_3d,
    ),
    _case("negative-ambient-h", {"ambient.h": -1.0}, "scene.ambient.h", "must be ≥ 0 W/(m²·K)"),
    _case(
        "box-min-above-max",
        {"zones.oven_wall.box": [[14.0, 2.0], [10.0, 2.5]]},
        "scene.zones.oven_wall.box",
        "box min must be < max along x (14 ≥ 10)",
    ),
    _case(
        "box-leaves-floor",
        {"zones.oven_wall.box[1]": [37.0, 2.5]},
        "scene.zones.oven_wall.box[1]",
        "box leaves the floor",
    ),
    _case(
        "box-2d-corners-in-3d",
        {"zones.slab.box": [[0, 0], [20, 10]]},
        "scene.zones.slab.box[0]",
        "expected 3 coordinates [x, y, z] in a 3D scene",
        base=scene_3d,
    ),
    _case(
        "box-and-polygon",
        {"zones.oven_wall.polygon": [[0, 0], [1, 0], [1, 1]]},
        "scene.zones.oven_wall.polygon",
        "either box or polygon, not both",
    ),
    _case(
        "polygon-two-points",
        {"zones.pillar.polygon": [[20, 5], [21, 5]]},
        "scene.zones.pillar.polygon",
        "at least 3 points",
    ),
    _case("z-range-in-2d", {"zones.pillar.z_range": [0, 1]}, "scene.zones.pillar.z_range", "3D scenes only"),
    _case(
        "z-range-above-roof",
        {"zones.wall.z_range": [0, 7]},
        "scene.zones.wall.z_range",
        "leaves the hall (0..6 m)",
        base=scene_3d,
    ),
    _case(
        "zone-unknown-material",
        {"zones.oven_wall.material": "stel"},
        "scene.zones.oven_wall.material",
        "no such material; did you mean 'steel'?",
    ),
    _case(
        "zone-without-material-or-k",
        {"zones.insulation.k": DELETE},
        "scene.zones.insulation.k",
        "required without a material: conductivity",
    ),
    _case(
        "background-without-rho_c",
        {"background.rho_c": DELETE},
        "scene.background.rho_c",
        "required without a material",
        base=scene_3d,
    ),
    _case(
        "bad-unit", {"sensors.tc_1.unit": "F"}, "scene.sensors.tc_1.unit", "air_temperature sensors read in degC or K"
    ),
    _case(
        "part-sensor-without-parts",
        {"conveyors.packing.parts": DELETE},
        "scene.sensors.packing_out.target",
        "conveyor 'packing' carries no parts",
    ),
    _case(
        "cure-sensor-without-kinetics",
        {"sensors.cure_r2.target": "packing"},
        "scene.sensors.cure_r2.target",
        "no cure kinetics",
    ),
    _case(
        "part-sensor-on-conveyor-with-robots",
        {"sensors.part_r1.target": "main"},
        "scene.sensors.part_r1.target",
        "has robots (r1, r2); target one of them",
    ),
    _case(
        "part-sensor-unknown-target",
        {"sensors.part_r1.target": "r3"},
        "scene.sensors.part_r1.target",
        "no robot or conveyor of this name",
    ),
    _case(
        "heater-power-unknown-heater",
        {"sensors.oven_power.target": "oven_2"},
        "scene.sensors.oven_power.target",
        "no such heater; did you mean 'oven_1'?",
    ),
    _case(
        "air-sensor-with-target",
        {"sensors.tc_1.target": "oven_1"},
        "scene.sensors.tc_1.target",
        "takes a position, not a target",
    ),
    _case("zero-period", {"sensors.tc_1.period": 0}, "scene.sensors.tc_1.period", "period must be > 0 s"),
    _case(
        "parts-zero-mass", {"conveyors.main.parts.mass": 0.0}, "scene.conveyors.main.parts.mass", "mass must be > 0 kg"
    ),
    _case(
        "cure-negative-Ea",
        {"conveyors.main.parts.cure.Ea": -1.0},
        "scene.conveyors.main.parts.cure.Ea",
        "Ea must be ≥ 0",
    ),
    # belt segments, motors and their sensors
    _case(
        "zero-length-segment",
        {"conveyors.main.segments.oven.length": 0},
        "scene.conveyors.main.segments.oven.length",
        "segment length must be > 0 m",
    ),
    _case(
        "negative-segment-length",
        {"conveyors.main.segments.preheat.length": -3.0},
        "scene.conveyors.main.segments.preheat.length",
        "segment length must be > 0 m",
    ),
    _case(
        "segment-lengths-not-summing",
        {"conveyors.main.segments.oven.length": 20.0},
        "scene.conveyors.main.segments.oven.length",
        "segment lengths sum to 32 m but the path is 34 m long",
    ),
    _case(
        "segment-lengths-not-summing-3d",
        {"conveyors.line.segments.outfeed.length": 14},
        "scene.conveyors.line.segments.outfeed.length",
        "sum to 20 m but the path is 18 m long",
        base=scene_3d,
    ),
    _case(
        "nothing-left-for-last-segment",
        {"conveyors.main.segments.preheat.length": 34.0},
        "scene.conveyors.main.segments.oven.length",
        "segments before it cover 34 m of the 34 m path, leaving nothing (need > 1e-06 m)",
    ),
    _case(
        "segments-beyond-path",
        {"conveyors.main.segments.preheat.length": 40.0},
        "scene.conveyors.main.segments.oven.length",
        "cover 40 m of the 34 m path",
    ),
    _case(
        "missing-middle-segment-length",
        lambda d: d["conveyors"]["main"]["segments"].update({"cooling": {"speed": 0.03}}),
        "scene.conveyors.main.segments.oven.length",
        "required on every segment but the last ('cooling', which may take the rest)",
    ),
    _case(
        "segment-speed-above-motor-limit",
        {"conveyors.main.segments.oven.speed": 0.3},
        "scene.conveyors.main.segments.oven.speed",
        "speed above the motor's limit: 0.2 m/s at scene.conveyors.main.segments.oven.motor.max_speed",
    ),
    _case(
        "conveyor-speed-above-motor-limit",
        {"conveyors.main.speed": 0.25},
        "scene.conveyors.main.speed",
        "speed above the motor's limit (segment 'oven' runs at the conveyor's speed): "
        "0.2 m/s at scene.conveyors.main.segments.oven.motor.max_speed",
    ),
    _case(
        "speed-above-default-motor-limit",
        {"conveyors.packing.speed": 0.6},
        "scene.conveyors.packing.speed",
        "speed above the motor's limit: 0.5 m/s, the default motor.max_speed of the conveyor's one segment 'belt'",
    ),
    _case(
        "speed-above-motor-limit-3d",
        {"conveyors.line.segments.outfeed.motor.max_speed": 0.25},
        "scene.conveyors.line.segments.outfeed.speed",
        "0.25 m/s at scene.conveyors.line.segments.outfeed.motor",
        base=scene_3d,
    ),
    _case(
        "zero-segment-speed",
        {"conveyors.main.segments.preheat.speed": 0},
        "scene.conveyors.main.segments.preheat.speed",
        "belt speed must be > 0 m/s",
    ),
    _case(
        "negative-max-force",
        {"conveyors.main.segments.oven.motor.max_force": -100.0},
        "scene.conveyors.main.segments.oven.motor.max_force",
        "force limit must be > 0 N",
    ),
    _case(
        "zero-max-speed",
        {"conveyors.main.segments.oven.motor.max_speed": 0},
        "scene.conveyors.main.segments.oven.motor.max_speed",
        "rated belt speed must be > 0 m/s",
    ),
    _case(
        "negative-kp",
        {"conveyors.main.segments.oven.motor.kp": -1.0},
        "scene.conveyors.main.segments.oven.motor.kp",
        "proportional gain must be ≥ 0 N/(m/s)",
    ),
    _case(
        "negative-resistance",
        {"conveyors.main.segments.oven.motor.resistance": -0.1},
        "scene.conveyors.main.segments.oven.motor.resistance",
        "winding resistance must be ≥ 0 Ω",
    ),
    _case(
        "negative-wear",
        {"conveyors.main.segments.preheat.wear": -0.1},
        "scene.conveyors.main.segments.preheat.wear",
        "bearing-wear drag factor must be ≥ 0",
    ),
    _case(
        "zero-bearing-rating",
        {"conveyors.main.segments.oven.bearings": {"dynamic_load_rating": 0}},
        "scene.conveyors.main.segments.oven.bearings.dynamic_load_rating",
        "basic dynamic load rating C must be > 0 N",
    ),
    _case(
        "unknown-bearing-kind",
        {"conveyors.main.segments.oven.bearings": {"kind": "needle"}},
        "scene.conveyors.main.segments.oven.bearings.kind",
        "ball",
    ),
    _case(
        "oil-thicker-when-hot",
        {"conveyors.main.segments.oven.bearings": {"oil_viscosity_100": 200.0}},
        "scene.conveyors.main.segments.oven.bearings.oil_viscosity_100",
        "must be below oil_viscosity_40 (110 mm²/s): oils thin as they warm",
    ),
    _case(
        "fatigue-limit-above-rating",
        {"conveyors.main.segments.oven.bearings": {"fatigue_load_limit": 2.0e4}},
        "scene.conveyors.main.segments.oven.bearings.fatigue_load_limit",
        "must be below dynamic_load_rating (13500 N)",
    ),
    _case(
        "reliability-of-100-percent",
        {"conveyors.main.segments.oven.bearings": {"reliability": 100.0}},
        "scene.conveyors.main.segments.oven.bearings.reliability",
        "reliability of the rated life must be in [90, 100) %",
    ),
    _case(
        "zero-mass-per-length",
        {"conveyors.main.segments.preheat.mass_per_length": 0},
        "scene.conveyors.main.segments.preheat.mass_per_length",
        "must be > 0 kg/m",
    ),
    _case(
        "motor-off-floor",
        {"conveyors.main.segments.oven.motor.position": [30.5, 12.5]},
        "scene.conveyors.main.segments.oven.motor.position",
        "motor is off the floor (0..36 m × 0..12 m)",
    ),
    _case(
        "motor-position-2d-in-3d",
        {"conveyors.line.segments.infeed.motor.position": [7.0, 5.5]},
        "scene.conveyors.line.segments.infeed.motor.position",
        "expected 3 coordinates [x, y, z]",
        base=scene_3d,
    ),
    _case(
        "segment-key-typo",
        {"conveyors.main.segments.oven.lenght": 22.0},
        "scene.conveyors.main.segments.oven.lenght",
        "did you mean 'length'?",
    ),
    _case(
        "segment-bad-name",
        {"conveyors.main.segments.oven 2": {}},
        "scene.conveyors.main.segments['oven 2']",
        "bad name",
    ),
    _case(
        "belt-sensor-unknown-segment",
        {"sensors.preheat_speed.target": "main.ovn"},
        "scene.sensors.preheat_speed.target",
        "conveyor 'main' has no segment 'ovn'; did you mean 'oven'? segments: preheat, oven",
    ),
    _case(
        "belt-sensor-unknown-conveyor",
        {"sensors.oven_current.target": "mian.oven"},
        "scene.sensors.oven_current.target",
        "no such conveyor 'mian'; did you mean 'main'?",
    ),
    _case(
        "belt-sensor-bare-segment-name",
        {"sensors.oven_current.target": "oven"},
        "scene.sensors.oven_current.target",
        "no such conveyor; did you mean 'main.oven'?",
    ),
    _case(
        "belt-sensor-default-segment-misnamed",
        {"sensors.packing_power.target": "packing.main"},
        "scene.sensors.packing_power.target",
        "has no segment 'main'; segments (none listed: the default one): belt",
    ),
    _case(
        "belt-sensor-bare-conveyor-of-two-segments",
        {"sensors.preheat_speed.target": "main"},
        "scene.sensors.preheat_speed.target",
        "conveyor 'main' has 2 segments; target one as conveyor.segment: main.preheat, main.oven",
    ),
    _case(
        "belt-sensor-without-target",
        {"sensors.oven_current.target": DELETE},
        "scene.sensors.oven_current.target",
        "required by a motor_current sensor: a belt segment as conveyor.segment",
    ),
    _case(
        "motor-current-bad-unit",
        {"sensors.oven_current.unit": "mA"},
        "scene.sensors.oven_current.unit",
        "motor_current sensors read in A",
    ),
    _case(
        "belt-speed-bad-unit",
        {"sensors.outfeed_speed.unit": "km/h"},
        "scene.sensors.outfeed_speed.unit",
        "belt_speed sensors read in m/s or m/min",
        base=scene_3d,
    ),
    _case(
        "motor-power-with-position",
        {"sensors.packing_power.position": [10.0, 11.0]},
        "scene.sensors.packing_power.position",
        "a motor_power sensor takes a target, not a position",
    ),
    _case(
        "bad-name",
        {"zones.oven wall": {"k": 1, "rho_c": 1, "box": [[0, 0], [1, 1]]}},
        "scene.zones['oven wall']",
        "bad name: use letters, digits, _ and - only",
    ),
    _case("empty-name", lambda d: d["sensors"].update({"": d["sensors"].pop("tc_1")}), "scene.sensors['']", "bad name"),
    _case("newline-in-key", {"zones.a\nb": {}}, "scene.zones['a\\nb']", "bad name"),
]


@pytest.mark.parametrize("base, changes, where, phrase", CASES)
def test_malformed_scene_is_refused(base, changes, where, phrase):
    data = copy.deepcopy(base())
    if callable(changes):
        changes(data)
    else:
        for path, value in changes.items():
            _apply(data, path, value)
    with pytest.raises(SceneError) as info:
        scene_from_mapping(data)
    err = info.value
    assert err.where == where, str(err)
    assert phrase in err.message, str(err)
    assert "\n" not in str(err)
    assert str(err).startswith(f"{where}: ")


def test_missing_key_shows_missing():
    data = scene_2d()
    del data["conveyors"]["main"]["speed"]
    with pytest.raises(SceneError, match=r"^scene\.conveyors\.main\.speed: <missing> — required: belt speed, m/s$"):
        scene_from_mapping(data)


def test_unknown_key_line():
    data = scene_2d()
    data["heaters"]["oven_1"]["powr"] = 1.0
    with pytest.raises(SceneError) as info:
        scene_from_mapping(data)
    assert str(info.value) == (
        "scene.heaters.oven_1.powr: 1.0 — unknown key; did you mean 'power'? "
        "allowed keys: box, power, setpoint, sensor, efficiency, kp, ki"
    )


def test_where_prefix_is_used():
    data = scene_2d()
    data["grid"]["spacing"] = -1
    with pytest.raises(SceneError, match=r"^cfg\.scene\.grid\.spacing: -1\.0 — cell edge must be > 0 m$"):
        scene_from_mapping(data, where="cfg.scene")


def test_top_level_must_be_a_mapping():
    with pytest.raises(SceneError, match=r"^scene: \[1, 2\] — expected a mapping"):
        scene_from_mapping([1, 2])


def _leaf_paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _leaf_paths(v, (*prefix, k))] or [prefix]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _leaf_paths(v, (*prefix, i))] + [prefix]
    return [prefix]


@pytest.mark.parametrize("junk", [None, "x", -1, 0, 1e12, [], {}, True, [1.0, 2.0, 3.0], {"a": 1}])
def test_any_junk_value_gives_scene_error_or_scene(junk):
    """Replacing any value anywhere either still validates or raises SceneError — never another error."""
    for base in (scene_2d, scene_3d):
        for path in _leaf_paths(base()):
            data = base()
            target = data
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = copy.deepcopy(junk)
            try:
                scene_from_mapping(data)
            except SceneError as err:
                assert "\n" not in str(err) and str(err).startswith("scene"), (path, str(err))
