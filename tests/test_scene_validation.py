"""Scene validation: valid scenes convert with the right values and defaults; every malformed scene is
refused with a one-line error naming the exact key path and what is allowed."""

from __future__ import annotations

import copy
import math
import pathlib
import re
from typing import Any, Callable

import pytest
from omegaconf import OmegaConf

from scene_fixtures import scene_2d, scene_3d
from twin.errors import SceneError
from twin.schema import Ambient, Boundary, Cure, Heater, Medium, Scene, Schedule
from twin.scene_validation import scene_from_mapping

DELETE = object()
SCENES = sorted((pathlib.Path(__file__).parent.parent / "scenes").glob("*.yaml"))


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


def test_2d_scene_values_and_defaults():
    scene = scene_from_mapping(scene_2d())
    assert isinstance(scene, Scene) and scene.ndim == 2
    assert scene.initial_temperature == 18.0 and isinstance(scene.initial_temperature, float)
    assert scene.grid.spacing == 0.5 and scene.grid.thickness == 4.0
    assert scene.background == Medium(material="air")
    assert scene.zones["pillar"].k == 1.8 and scene.zones["pillar"].rho_c is None
    assert scene.zones["pillar"].polygon[2] == [21.0, 6.0]
    assert scene.boundaries["x_min"] == Boundary(
        type="dirichlet", schedule=Schedule(time=[0.0, 3600.0, 7200.0], value=[15.0, 20.0, 18.0]))
    assert scene.boundaries["y_max"].emissivity == 0.9
    assert scene.ambient == Ambient(temperature=15.0, h=2.5)
    assert scene.heaters["oven_1"] == Heater(box=[[10.0, 3.0], [14.0, 6.0]], power=40000.0, setpoint=120.0,
                                             sensor=[12.0, 4.5], efficiency=0.95, kp=0.1, ki=1.0e-3)
    assert scene.hvac["ahu_1"].airflow == 2.5
    parts = scene.conveyors["main"].parts
    assert parts.initial_temperature == 20.0 and parts.cure == Cure(A=1.0e5, Ea=6.0e4, n=1.0)
    assert scene.conveyors["packing"].parts.cure is None
    assert scene.robots["r2"].station == 22.0
    units = {name: s.unit for name, s in scene.sensors.items()}  # defaults filled in per kind
    assert units == {"tc_1": "degC", "tc_2": "K", "part_r1": "degC", "cure_r2": "%", "packing_out": "degC",
                     "oven_power": "kW"}


def test_3d_scene_values_and_defaults():
    scene = scene_from_mapping(scene_3d())
    assert scene.ndim == 3 and scene.grid.spacing == [1.0, 1.0, 0.5] and scene.grid.thickness == 3.0
    assert scene.description == "" and scene.initial_temperature == 20.0 and scene.ambient is None
    assert scene.materials == {} and scene.robots == {} and scene.hvac == {}
    assert scene.zones["wall"].z_range == [0.0, 4.0]
    assert scene.heaters["h1"].efficiency == 1.0 and scene.heaters["h1"].sensor == [1.5, 1.5, 1.0]
    assert scene.conveyors["line"].parts is None
    assert scene.sensors["air"].unit == "degC"


def test_minimal_scene_and_empty_collections():
    data = {"name": "tiny", "grid": {"size": [2, 2], "spacing": 1}, "background": {"k": 1, "rho_c": 1},
            "zones": None}
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


# --- malformed scenes ---------------------------------------------------------------------------------

CASES = [
    _case("unknown-key", {"heaters.oven_1.powr": 5000}, "scene.heaters.oven_1.powr",
          "did you mean 'power'? allowed keys: box, power, setpoint"),
    _case("unknown-top-level-key", {"heaterz": {}}, "scene.heaterz", "did you mean 'heaters'?"),
    _case("wrong-type", {"grid.spacing": "a"}, "scene.grid.spacing", "expected a number (m)"),
    _case("number-as-text", {"heaters.oven_1.power": "4e4"}, "scene.heaters.oven_1.power", "1.0e3, not 1e3"),
    _case("bool-for-number", {"conveyors.main.speed": True}, "scene.conveyors.main.speed",
          "expected a number (m/s)"),
    _case("nan", {"initial_temperature": math.nan}, "scene.initial_temperature", "expected a finite number (°C)"),
    _case("list-for-number", {"heaters.oven_1.power": [1, 2]}, "scene.heaters.oven_1.power", "expected a number"),
    _case("text-for-name", {"name": 5}, "scene.name", "expected text"),
    _case("not-a-mapping", {"grid": [36, 12]}, "scene.grid", "expected a mapping with keys size, spacing"),
    _case("missing-required", {"conveyors.main.speed": DELETE}, "scene.conveyors.main.speed",
          "required: belt speed, m/s"),
    _case("unknown-kind", {"sensors.tc_1.kind": "air_temp"}, "scene.sensors.tc_1.kind",
          "did you mean 'air_temperature'?"),
    _case("negative-k", {"materials.steel.k": -3.0}, "scene.materials.steel.k", "conductivity must be > 0 W/(m·K)"),
    _case("zone-override-rho_c", {"zones.pillar.rho_c": 0}, "scene.zones.pillar.rho_c",
          "volumetric heat capacity must be > 0"),
    _case("zero-spacing", {"grid.spacing": 0}, "scene.grid.spacing", "cell edge must be > 0 m"),
    _case("spacing-per-axis-length", {"grid.spacing": [1, 1, 1]}, "scene.grid.spacing",
          "expected 2 entries, got 3"),
    _case("spacing-larger-than-hall", {"grid.spacing": [1.0, 20.0]}, "scene.grid.spacing[1]",
          "larger than the hall along y (12 m)"),
    _case("one-cell", {"grid.spacing": 8.0}, "scene.grid.spacing", "need at least 2"),
    _case("too-many-cells", {"grid.spacing": 0.001}, "scene.grid.spacing", "432,000,000 cells; at most 50,000,000"),
    _case("grid-1d", {"grid.size": [36.0]}, "scene.grid.size", "expected 2 entries [x, y]"),
    _case("zero-thickness", {"grid.thickness": 0}, "scene.grid.thickness", "thickness must be > 0 m"),
    _case("sensor-off-floor", {"sensors.tc_1.position": [40.0, 3.0]}, "scene.sensors.tc_1.position",
          "sensor is off the floor (0..36 m × 0..12 m)"),
    _case("sensor-3-coords-in-2d", {"sensors.tc_1.position": [1, 2, 3]}, "scene.sensors.tc_1.position",
          "expected 2 coordinates [x, y] in a 2D scene"),
    _case("thermostat-off-floor", {"heaters.oven_1.sensor": [12.0, -1.0]}, "scene.heaters.oven_1.sensor",
          "thermostat sensor is off the floor"),
    _case("conveyor-leaves-floor", {"conveyors.main.path[2]": [30.0, 13.0]}, "scene.conveyors.main.path[2]",
          "conveyor leaves the floor"),
    _case("conveyor-one-point", {"conveyors.main.path": [[2.0, 4.0]]}, "scene.conveyors.main.path",
          "at least 2 points"),
    _case("zero-length-segment", {"conveyors.main.path": [[2, 4], [30, 4], [30, 4]]},
          "scene.conveyors.main.path[2]", "same point as path[1]: zero-length segment"),
    _case("empty-schedule", {"boundaries.x_min.schedule": {"time": [], "value": []}},
          "scene.boundaries.x_min.schedule.time", "schedule is empty"),
    _case("unsorted-schedule", {"boundaries.x_min.schedule.time": [0, 7200, 3600]},
          "scene.boundaries.x_min.schedule.time[2]", "times must increase strictly"),
    _case("schedule-length-mismatch", {"boundaries.x_min.schedule.value": [15.0, 20.0]},
          "scene.boundaries.x_min.schedule.value", "2 values for 3 times"),
    _case("schedule-below-absolute-zero", {"boundaries.x_min.schedule.value[1]": -300},
          "scene.boundaries.x_min.schedule.value[1]", "below absolute zero"),
    _case("robot-unknown-conveyor", {"robots.r1.conveyor": "mian"}, "scene.robots.r1.conveyor",
          "no such conveyor; did you mean 'main'? conveyors: main, packing"),
    _case("station-beyond-path", {"robots.r1.station": 40.0}, "scene.robots.r1.station",
          "beyond the end of conveyor 'main' (path length 34 m)"),
    _case("station-negative", {"robots.r1.station": -1.0}, "scene.robots.r1.station", "allowed 0..34 m"),
    _case("robot-base-off-floor", {"robots.r1.base": [50, 5]}, "scene.robots.r1.base", "robot base is off the floor"),
    _case("efficiency-above-one", {"heaters.oven_1.efficiency": 1.5}, "scene.heaters.oven_1.efficiency",
          "efficiency must be in (0, 1]"),
    _case("zero-power", {"heaters.oven_1.power": 0}, "scene.heaters.oven_1.power", "power must be > 0 W"),
    _case("negative-ki", {"heaters.oven_1.ki": -1e-3}, "scene.heaters.oven_1.ki", "integral gain must be ≥ 0"),
    _case("zero-airflow", {"hvac.ahu_1.airflow": 0.0}, "scene.hvac.ahu_1.airflow", "airflow must be > 0 m³/s"),
    _case("unknown-face", {"boundaries.top": {"type": "adiabatic"}}, "scene.boundaries.top",
          "faces: x_min, x_max, y_min, y_max"),
    _case("z-face-in-2d", {"boundaries.z_min": {}}, "scene.boundaries.z_min", "a 2D scene has no z faces"),
    _case("robin-without-h", {"boundaries.x_max.h": DELETE}, "scene.boundaries.x_max.h",
          "required by a robin boundary: heat-transfer coefficient"),
    _case("neumann-with-h", {"boundaries.y_min.h": 3.0}, "scene.boundaries.y_min.h",
          "not used by a neumann boundary (it takes flux)"),
    _case("adiabatic-with-temperature", {"boundaries.x_min": {"temperature": 3.0}},
          "scene.boundaries.x_min.temperature", "not used by an adiabatic boundary"),
    _case("unknown-boundary-type", {"boundaries.x_min.type": "fixed"}, "scene.boundaries.x_min.type",
          "allowed: adiabatic, dirichlet"),
    _case("dirichlet-both", {"boundaries.x_min.temperature": 20.0}, "scene.boundaries.x_min.schedule",
          "either temperature or schedule, not both"),
    _case("emissivity-zero", {"boundaries.y_max.emissivity": 0.0}, "scene.boundaries.y_max.emissivity",
          "emissivity must be in (0, 1]"),
    _case("below-absolute-zero", {"heaters.oven_1.setpoint": -300.0}, "scene.heaters.oven_1.setpoint",
          "below absolute zero (−273.15 °C)"),
    _case("ambient-in-3d", {"ambient": {"temperature": 10.0, "h": 1.0}}, "scene.ambient",
          "in 3D use boundaries z_min/z_max", base=scene_3d),
    _case("negative-ambient-h", {"ambient.h": -1.0}, "scene.ambient.h", "must be ≥ 0 W/(m²·K)"),
    _case("box-min-above-max", {"zones.oven_wall.box": [[14.0, 2.0], [10.0, 2.5]]}, "scene.zones.oven_wall.box",
          "box min must be < max along x (14 ≥ 10)"),
    _case("box-leaves-floor", {"zones.oven_wall.box[1]": [37.0, 2.5]}, "scene.zones.oven_wall.box[1]",
          "box leaves the floor"),
    _case("box-2d-corners-in-3d", {"zones.slab.box": [[0, 0], [20, 10]]}, "scene.zones.slab.box[0]",
          "expected 3 coordinates [x, y, z] in a 3D scene", base=scene_3d),
    _case("box-and-polygon", {"zones.oven_wall.polygon": [[0, 0], [1, 0], [1, 1]]},
          "scene.zones.oven_wall.polygon", "either box or polygon, not both"),
    _case("polygon-two-points", {"zones.pillar.polygon": [[20, 5], [21, 5]]}, "scene.zones.pillar.polygon",
          "at least 3 points"),
    _case("z-range-in-2d", {"zones.pillar.z_range": [0, 1]}, "scene.zones.pillar.z_range", "3D scenes only"),
    _case("z-range-above-roof", {"zones.wall.z_range": [0, 7]}, "scene.zones.wall.z_range",
          "leaves the hall (0..6 m)", base=scene_3d),
    _case("zone-unknown-material", {"zones.oven_wall.material": "stel"}, "scene.zones.oven_wall.material",
          "no such material; did you mean 'steel'?"),
    _case("zone-without-material-or-k", {"zones.insulation.k": DELETE}, "scene.zones.insulation.k",
          "required without a material: conductivity"),
    _case("background-without-rho_c", {"background.rho_c": DELETE}, "scene.background.rho_c",
          "required without a material", base=scene_3d),
    _case("bad-unit", {"sensors.tc_1.unit": "F"}, "scene.sensors.tc_1.unit",
          "air_temperature sensors read in degC or K"),
    _case("part-sensor-without-parts", {"conveyors.packing.parts": DELETE}, "scene.sensors.packing_out.target",
          "conveyor 'packing' carries no parts"),
    _case("cure-sensor-without-kinetics", {"sensors.cure_r2.target": "packing"}, "scene.sensors.cure_r2.target",
          "no cure kinetics"),
    _case("part-sensor-on-conveyor-with-robots", {"sensors.part_r1.target": "main"},
          "scene.sensors.part_r1.target", "has robots (r1, r2); target one of them"),
    _case("part-sensor-unknown-target", {"sensors.part_r1.target": "r3"}, "scene.sensors.part_r1.target",
          "no robot or conveyor of this name"),
    _case("heater-power-unknown-heater", {"sensors.oven_power.target": "oven_2"}, "scene.sensors.oven_power.target",
          "no such heater; did you mean 'oven_1'?"),
    _case("air-sensor-with-target", {"sensors.tc_1.target": "oven_1"}, "scene.sensors.tc_1.target",
          "takes a position, not a target"),
    _case("zero-period", {"sensors.tc_1.period": 0}, "scene.sensors.tc_1.period", "period must be > 0 s"),
    _case("parts-zero-mass", {"conveyors.main.parts.mass": 0.0}, "scene.conveyors.main.parts.mass",
          "mass must be > 0 kg"),
    _case("cure-negative-Ea", {"conveyors.main.parts.cure.Ea": -1.0}, "scene.conveyors.main.parts.cure.Ea",
          "Ea must be ≥ 0"),
    _case("bad-name", {"zones.oven wall": {"k": 1, "rho_c": 1, "box": [[0, 0], [1, 1]]}},
          "scene.zones['oven wall']", "bad name: use letters, digits, _ and - only"),
    _case("empty-name", lambda d: d["sensors"].update({"": d["sensors"].pop("tc_1")}), "scene.sensors['']",
          "bad name"),
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
    assert str(info.value) == ("scene.heaters.oven_1.powr: 1.0 — unknown key; did you mean 'power'? "
                               "allowed keys: box, power, setpoint, sensor, efficiency, kp, ki")


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
