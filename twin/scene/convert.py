"""Turn a plain mapping (from YAML or ``OmegaConf.to_container``) into a validated `twin.scene.schema.Scene`.

Two passes, both stopping at the first problem with a `SceneError` that names the key path:

1. a generic converter driven by the schema's dataclass fields and type hints — unknown and missing
   keys, types (numbers, text, choices, lists, named mappings, nested sections), names;
2. the semantic checks of `twin.scene.checks` — ranges, geometry and cross-references.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
import warnings
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, Literal, get_args, get_origin, get_type_hints

from twin.scene import schema
from twin.errors import DeprecatedKeyWarning, SceneError
from twin.scene.plausibility import warn_implausible
from twin.scene.checks import MISSING, check_scene, did_you_mean

MAX_MAGNITUDE = 1e30  # any number in a scene; no SI input comes near it, float32 arithmetic on it stays finite
NAME = re.compile(r"[A-Za-z0-9_-]+")

# (section, key) -> (meaning, unit): used in "expected a number (unit)" and "required: meaning, unit".
FIELDS: dict[tuple[str, str], tuple[str, str]] = {
    ("Scene", "name"): ("scene name", ""),
    ("Scene", "grid"): ("the simulated hall (size, spacing)", ""),
    ("Scene", "background"): ("what fills cells no zone covers (material, or k and rho_c)", ""),
    ("Scene", "initial_temperature"): ("initial temperature", "°C"),
    ("Grid", "size"): ("hall extent per axis", "m"),
    ("Grid", "spacing"): ("cell edge", "m"),
    ("Grid", "thickness"): ("air-layer height", "m"),
    ("Grid", "cross_section"): ("area across a 1D bar or wall", "m²"),
    ("Material", "k"): ("conductivity", "W/(m·K)"),
    ("Material", "rho_c"): ("volumetric heat capacity", "J/(m³·K)"),
    ("Medium", "k"): ("conductivity", "W/(m·K)"),
    ("Medium", "rho_c"): ("volumetric heat capacity", "J/(m³·K)"),
    ("Zone", "k"): ("conductivity", "W/(m·K)"),
    ("Zone", "rho_c"): ("volumetric heat capacity", "J/(m³·K)"),
    ("Zone", "box"): ("two corner points", "m"),
    ("Zone", "polygon"): ("polygon vertices [x, y]", "m"),
    ("Zone", "z_range"): ("height range [z0, z1]", "m"),
    ("Schedule", "time"): ("sample times", "s"),
    ("Schedule", "value"): ("values (temperatures °C, or source power fractions)", ""),
    ("Boundary", "temperature"): ("temperature", "°C"),
    ("Boundary", "flux"): ("heat flux into the hall", "W/m²"),
    ("Boundary", "h"): ("heat-transfer coefficient", "W/(m²·K)"),
    ("Boundary", "emissivity"): ("emissivity", ""),
    ("Ambient", "temperature"): ("ambient temperature", "°C"),
    ("Ambient", "h"): ("heat-transfer coefficient per floor area", "W/(m²·K)"),
    ("Heater", "box"): ("heater box, two corner points", "m"),
    ("Heater", "power"): ("maximum power", "W"),
    ("Heater", "setpoint"): ("thermostat setpoint", "°C"),
    ("Heater", "sensor"): ("thermostat position", "m"),
    ("Heater", "efficiency"): ("fraction of power that heats the air", ""),
    ("Heater", "kp"): ("proportional gain", "1/K"),
    ("Heater", "ki"): ("integral gain", "1/(K·s)"),
    ("Hvac", "box"): ("supply box, two corner points", "m"),
    ("Hvac", "supply_temperature"): ("supply air temperature", "°C"),
    ("Hvac", "airflow"): ("supply airflow", "m³/s"),
    ("Source", "box"): ("source box, two corner points", "m"),
    ("Source", "polygon"): ("polygon vertices [x, y]", "m"),
    ("Source", "z_range"): ("height range [z0, z1]", "m"),
    ("Source", "power"): ("heat given off in total", "W"),
    ("Source", "q"): ("heat given off per volume", "W/m³"),
    ("Source", "schedule"): ("fraction of the power over time", ""),
    ("Cure", "A"): ("pre-exponential factor", "1/s"),
    ("Cure", "Ea"): ("activation energy", "J/mol"),
    ("Cure", "n"): ("reaction order", ""),
    ("Parts", "spacing"): ("belt travel between parts", "m"),
    ("Parts", "mass"): ("part mass", "kg"),
    ("Parts", "c_p"): ("specific heat", "J/(kg·K)"),
    ("Parts", "area"): ("exchange area", "m²"),
    ("Parts", "h"): ("heat-transfer coefficient to the air", "W/(m²·K)"),
    ("Parts", "initial_temperature"): ("temperature at spawn", "°C"),
    ("Parts", "length"): ("part length along the belt", "m"),
    ("Parts", "min_gap"): ("clear belt between queued parts", "m"),
    ("Station", "at"): ("station position, arc length along the conveyor", "m"),
    ("Station", "service_time"): ("time the station holds each part", "s"),
    ("Station", "buffer"): ("parts that may wait for the station", "parts"),
    ("Conveyor", "path"): ("polyline of at least two points", "m"),
    ("Conveyor", "speed"): ("belt speed", "m/s"),
    ("Conveyor", "segments"): ("belt segments with their motors, in path order", ""),
    ("Segment", "length"): ("length along the path", "m"),
    ("Segment", "speed"): ("belt speed setpoint", "m/s"),
    ("Segment", "mass_per_length"): ("moving mass of belt and rollers per length", "kg/m"),
    ("Segment", "rolling_resistance"): ("rolling-resistance coefficient μ", ""),
    ("Segment", "viscous_drag"): ("viscous drag coefficient", "N·s/m"),
    ("Segment", "wear"): ("bearing-wear drag factor at the start", ""),
    ("Segment", "wear_rate"): ("wear drift", "1/h"),
    ("Segment", "motor"): ("the segment's drive", ""),
    ("Motor", "max_force"): ("force limit at the belt", "N"),
    ("Motor", "max_speed"): ("rated belt speed", "m/s"),
    ("Motor", "kp"): ("proportional gain", "N/(m/s)"),
    ("Motor", "ki"): ("integral gain", "N/m"),
    ("Motor", "current_per_force"): ("motor current per newton at the belt", "A/N"),
    ("Motor", "no_load_current"): ("current at zero force", "A"),
    ("Motor", "resistance"): ("winding resistance", "Ω"),
    ("Motor", "fixed_loss"): ("iron, fan and gearbox losses", "W"),
    ("Motor", "position"): ("motor position", "m"),
    ("Robot", "base"): ("base position", "m"),
    ("Robot", "conveyor"): ("name of the conveyor it picks from", ""),
    ("Robot", "pick_at"): ("pick point, arc length along the conveyor", "m"),
    ("Robot", "pick_time"): ("time the robot is busy per part", "s"),
    ("Sensor", "kind"): ("what is measured: " + ", ".join(get_args(schema.SensorKind)), ""),
    ("Sensor", "period"): ("sample period", "s"),
    ("Sensor", "position"): ("sample position", "m"),
    ("Sensor", "target"): ("what is measured: a robot, conveyor, conveyor.segment or heater, per kind", ""),
    ("Sensor", "unit"): ("unit of the readings, per kind", ""),
}


def scene_from_mapping(data: Mapping, where: str = "scene") -> schema.Scene:
    """Validate a plain mapping and return the `Scene`; raise `SceneError` at the first problem, and warn
    (twin.scene.plausibility.PlausibilityWarning) about values real lines hardly use."""
    scene = check_scene(_convert(schema.Scene, data, where, ""), where)
    warn_implausible(scene, where)
    return scene


def join(where: str, key: Any) -> str:
    """Key path of `key` under `where`; odd keys are quoted so an error stays on one line."""
    return f"{where}.{key}" if isinstance(key, str) and NAME.fullmatch(key) else f"{where}[{key!r}]"


def _convert(tp: Any, value: Any, where: str, unit: str) -> Any:
    """Convert `value` to type `tp` (a schema type hint), or raise at `where`."""
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _to_dataclass(tp, value, where)
    if origin in (types.UnionType, typing.Union):
        return _to_union(get_args(tp), value, where, unit)
    if origin is Literal:
        return _to_choice(get_args(tp), value, where)
    if origin is list:
        return _to_list(get_args(tp)[0], value, where, unit)
    if origin is dict:
        return _to_named(get_args(tp)[1], value, where)
    return _to_scalar(tp, value, where, unit)


def _to_dataclass(cls: type, value: Any, where: str) -> Any:
    if not isinstance(value, Mapping):
        raise SceneError(where, value, f"expected a mapping with keys {', '.join(_keys(cls))}")
    hints, fields = _hints(cls), {f.name: f for f in dataclasses.fields(cls)}
    value = _renamed(fields, value, where)
    for key in value:
        if key not in fields:
            raise SceneError(join(where, key), value[key],
                             "unknown key; " + did_you_mean(key, list(fields), "allowed keys"))
    kwargs = {}
    for name, f in fields.items():
        meaning, unit = FIELDS.get((cls.__name__, name), (name, ""))
        if name not in value:
            if _required(f):
                raise SceneError(join(where, name), MISSING, f"required: {_describe(meaning, unit)}")
            continue
        kwargs[name] = _convert(hints[name], value[name], join(where, name), unit)
    return cls(**kwargs)


def _renamed(fields: dict[str, dataclasses.Field], value: Mapping, where: str) -> Mapping:
    """`value` with keys renamed in the schema (a field's metadata `formerly`) under their new names,
    each with a `DeprecatedKeyWarning`; both names at once are refused."""
    renames = {f.metadata["formerly"]: name for name, f in fields.items() if "formerly" in f.metadata}
    if not renames.keys() & value.keys():
        return value
    out = dict(value)
    for old, new in renames.items():
        if old not in out:
            continue
        if new in out:
            raise SceneError(join(where, old), out[old], f"renamed to {new!r}, which is given too: keep only {new!r}")
        warnings.warn(f"{join(where, old)}: renamed to {join(where, new)}; the old key is read for now and will be "
                      "refused in a later version", DeprecatedKeyWarning, stacklevel=2)
        out[new] = out.pop(old)
    return out


def _to_union(options: tuple, value: Any, where: str, unit: str) -> Any:
    if value is None and type(None) in options:
        return None
    options = tuple(o for o in options if o is not type(None))
    if len(options) == 1:
        return _convert(options[0], value, where, unit)
    lists = [o for o in options if get_origin(o) is list]
    if lists and _is_sequence(value):  # float | list[float]: one number or one per axis
        return _convert(lists[0], value, where, unit)
    scalars = [o for o in options if get_origin(o) is not list]
    return _convert(scalars[0], value, where, unit)


def _to_choice(choices: tuple, value: Any, where: str) -> Any:
    if isinstance(value, str) and value in choices:
        return value
    allowed = ", ".join(map(str, choices))
    if isinstance(value, str):
        raise SceneError(where, value, did_you_mean(value, list(choices), "allowed"))
    raise SceneError(where, value, f"expected one of: {allowed}")


def _to_list(item: Any, value: Any, where: str, unit: str) -> list:
    if not _is_sequence(value):
        raise SceneError(where, value, f"expected a list{_unit_note(unit)}")
    return [_convert(item, v, f"{where}[{i}]", unit) for i, v in enumerate(value)]


def _to_named(item: Any, value: Any, where: str) -> dict:
    """A collection keyed by name: the names become HDF5 group names, so keep them plain."""
    if value is None:  # `zones:` with every entry commented out
        return {}
    if not isinstance(value, Mapping):
        raise SceneError(where, value, "expected a mapping from names to entries")
    out = {}
    for key, entry in value.items():
        if not (isinstance(key, str) and NAME.fullmatch(key)):
            raise SceneError(join(where, key), key, "bad name: use letters, digits, _ and - only "
                             "(names become HDF5 group names)")
        out[key] = _convert(item, entry, join(where, key), "")
    return out


def _to_scalar(tp: Any, value: Any, where: str, unit: str) -> Any:
    if tp is float:
        return _to_float(value, where, unit)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise SceneError(where, value, f"expected a whole number{_unit_note(unit)}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise SceneError(where, value, "expected true or false")
    if tp is str:
        if isinstance(value, str):
            return value
        hint = "; quote it in YAML" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        raise SceneError(where, value, f"expected text{hint}")
    raise TypeError(f"scene schema type {tp!r} at {where} is not supported by the converter")


def _to_float(value: Any, where: str, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SceneError(where, value, f"expected a number{_unit_note(unit)}{_text_hint(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range
        number = math.inf
    if not math.isfinite(number):
        raise SceneError(where, value, f"expected a finite number{_unit_note(unit)}")
    if abs(number) > MAX_MAGNITUDE:
        raise SceneError(where, value, f"out of range: |value| ≤ {MAX_MAGNITUDE:g}{_unit_note(unit)} (larger numbers "
                         "overflow float32 arithmetic, whose largest number is 3.4e38)")
    return number


def _text_hint(value: Any) -> str:
    """PyYAML reads `1e3` (no dot) as text; say so rather than leave the user puzzled."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        return ", not text; write it unquoted, with a dot (1.0e3, not 1e3)"
    if isinstance(value, bool):
        return ", not true/false"
    return ""


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls, vars(schema))


def _keys(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _describe(meaning: str, unit: str) -> str:
    return f"{meaning}, {unit}" if unit else meaning


def _unit_note(unit: str) -> str:
    return f" ({unit})" if unit else ""


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))
