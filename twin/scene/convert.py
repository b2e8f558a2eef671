"""Turn a plain mapping (from YAML or ``OmegaConf.to_container``) into a validated `twin.scene.schema.Scene`.

Two passes, both stopping at the first problem with a `SceneError` that names the key path:

1. a generic converter driven by the schema's dataclass fields, type hints and field metadata
   (`twin.scene.schema.key` / `number`) — unknown and missing keys, types (numbers, text, choices, lists,
   named mappings, nested sections), names, and each number's allowed range;
2. the semantic checks of `twin.scene.checks` — geometry, ranges that depend on other values, and
   cross-references.

The same converter checks the run settings (`twin.Solver`, `twin.Limits`, the run keys of
`twin.run.config`), through `from_mapping` and `check_fields`; it raises `TwinInputError` there.
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

from twin.errors import MISSING, DeprecatedKeyWarning, SceneError, TwinInputError, did_you_mean
from twin.scene import schema
from twin.scene.checks import check_scene
from twin.scene.plausibility import warn_implausible

MAX_MAGNITUDE = 1e30  # any number in a scene; no SI input comes near it, float32 arithmetic on it stays finite
NAME = re.compile(r"[A-Za-z0-9_-]+")

NO_METADATA: Mapping[str, Any] = {}


def scene_from_mapping(data: Mapping, where: str = "scene") -> schema.Scene:
    """Validate a plain mapping and return the `Scene`; raise `SceneError` at the first problem, and warn
    (twin.scene.plausibility.PlausibilityWarning) about values real lines hardly use."""
    try:
        converted = _to_dataclass(schema.Scene, data, where)
    except TwinInputError as err:  # the generic converter's errors are, here, a scene's
        raise SceneError(err.where, err.value, err.message) from None
    scene = check_scene(converted, where)
    warn_implausible(scene, where)
    return scene


def from_mapping(cls: type, data: Any, where: str) -> Any:
    """`cls(**data)` for a dataclass with the schema's kind of fields (run settings: `twin.Solver`,
    `twin.Limits`), each key converted and checked as a scene's; raise `TwinInputError` at `where`."""
    return _to_dataclass(cls, data, where)


def check_fields(obj: Any, where: str) -> None:
    """Check the fields of a dataclass built in Python (``Solver(dt=-1)``) as `from_mapping` checks a
    mapping, so both give the same error at the same key path; `obj` itself is left as it is."""
    check_values(type(obj), {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, where)


def check_values(cls: type, values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Some fields of `cls` given as plain values (`twin.simulate`'s arguments), converted and checked
    as `from_mapping` would; raise `TwinInputError` at the first bad one."""
    hints, fields = _hints(cls), {f.name: f for f in dataclasses.fields(cls)}
    return {
        name: _convert(hints[name], value, join(where, name), fields[name].metadata) for name, value in values.items()
    }


def join(where: str, key: Any) -> str:
    """Key path of `key` under `where` (a top-level key when `where` is empty); odd keys are quoted so an
    error stays on one line."""
    if isinstance(key, str) and NAME.fullmatch(key):
        return f"{where}.{key}" if where else key
    return f"{where}[{key!r}]"


def _convert(tp: Any, value: Any, where: str, meta: Mapping[str, Any]) -> Any:
    """Convert `value` to type `tp` (a schema type hint) and check it against its field's metadata `meta`
    (unit, range), or raise at `where`."""
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _to_dataclass(tp, value, where)
    if origin in (types.UnionType, typing.Union):
        return _to_union(get_args(tp), value, where, meta)
    if origin is Literal:
        return _to_choice(get_args(tp), value, where)
    if origin is list:
        return _to_list(get_args(tp)[0], value, where, meta)
    if origin is dict:
        return _to_named(get_args(tp)[1], value, where)
    return _in_range(_to_scalar(tp, value, where, meta.get("unit", "")), where, meta)


def _in_range(value: Any, where: str, meta: Mapping[str, Any]) -> Any:
    bounds = meta.get("range")
    if bounds is None or value in bounds:
        return value
    unit = f" {meta['unit']}" if meta.get("unit") else ""
    why = f" ({bounds.why})" if bounds.why else ""
    raise TwinInputError(where, value, f"{meta['meaning']} must be {bounds}{unit}{why}")


def _to_dataclass(cls: type, value: Any, where: str) -> Any:
    if isinstance(value, cls):  # built already (a Solver in a run config): it checked itself
        return value
    if not isinstance(value, Mapping):
        raise TwinInputError(where, value, f"expected a mapping with keys {', '.join(_keys(cls))}")
    hints, fields = _hints(cls), {f.name: f for f in dataclasses.fields(cls)}
    value = _renamed(fields, value, where)
    for key in value:
        if key not in fields:
            raise TwinInputError(
                join(where, key), value[key], "unknown key; " + did_you_mean(key, list(fields), "allowed keys")
            )
    kwargs = {}
    for name, f in fields.items():
        if name not in value:
            if _required(f):
                meaning, unit = f.metadata.get("meaning", name), f.metadata.get("unit", "")
                raise TwinInputError(join(where, name), MISSING, f"required: {_describe(meaning, unit)}")
            continue
        kwargs[name] = _convert(hints[name], value[name], join(where, name), f.metadata)
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
            raise TwinInputError(
                join(where, old), out[old], f"renamed to {new!r}, which is given too: keep only {new!r}"
            )
        warnings.warn(
            f"{join(where, old)}: renamed to {join(where, new)}; the old key is read for now and will be "
            "refused in a later version",
            DeprecatedKeyWarning,
            stacklevel=2,
        )
        out[new] = out.pop(old)
    return out


def _to_union(options: tuple, value: Any, where: str, meta: Mapping[str, Any]) -> Any:
    if value is None and type(None) in options:
        return None
    options = tuple(o for o in options if o is not type(None))
    if len(options) == 1:
        return _convert(options[0], value, where, meta)
    lists = [o for o in options if get_origin(o) is list]
    if lists and _is_sequence(value):  # float | list[float]: one number or one per axis
        return _convert(lists[0], value, where, meta)
    scalars = [o for o in options if get_origin(o) is not list]
    return _convert(scalars[0], value, where, meta)


def _to_choice(choices: tuple, value: Any, where: str) -> Any:
    if isinstance(value, str) and value in choices:
        return value
    allowed = ", ".join(map(str, choices))
    if isinstance(value, str):
        raise TwinInputError(where, value, did_you_mean(value, list(choices), "allowed"))
    raise TwinInputError(where, value, f"expected one of: {allowed}")


def _to_list(item: Any, value: Any, where: str, meta: Mapping[str, Any]) -> list:
    """A list, each item converted and checked against the field's metadata (so each in range)."""
    if not _is_sequence(value):
        raise TwinInputError(where, value, f"expected a list{_unit_note(meta.get('unit', ''))}")
    return [_convert(item, v, f"{where}[{i}]", meta) for i, v in enumerate(value)]


def _to_named(item: Any, value: Any, where: str) -> dict:
    """A collection keyed by name: the names become HDF5 group names, so keep them plain."""
    if value is None:  # `zones:` with every entry commented out
        return {}
    if not isinstance(value, Mapping):
        raise TwinInputError(where, value, "expected a mapping from names to entries")
    out = {}
    for key, entry in value.items():
        if not (isinstance(key, str) and NAME.fullmatch(key)):
            raise TwinInputError(
                join(where, key), key, "bad name: use letters, digits, _ and - only (names become HDF5 group names)"
            )
        out[key] = _convert(item, entry, join(where, key), NO_METADATA)
    return out


def _to_scalar(tp: Any, value: Any, where: str, unit: str) -> Any:
    if tp is float:
        return _to_float(value, where, unit)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise TwinInputError(where, value, f"expected a whole number{_unit_note(unit)}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise TwinInputError(where, value, "expected true or false")
    if tp is str:
        if isinstance(value, str):
            return value
        hint = "; quote it in YAML" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        raise TwinInputError(where, value, f"expected text{hint}")
    raise TypeError(f"scene schema type {tp!r} at {where} is not supported by the converter")


def _to_float(value: Any, where: str, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TwinInputError(where, value, f"expected a number{_unit_note(unit)}{_text_hint(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range
        number = math.inf
    if not math.isfinite(number):
        raise TwinInputError(where, value, f"expected a finite number{_unit_note(unit)}")
    if abs(number) > MAX_MAGNITUDE:
        raise TwinInputError(
            where,
            value,
            f"out of range: |value| ≤ {MAX_MAGNITUDE:g}{_unit_note(unit)} (larger "
            "numbers overflow float32 arithmetic, whose largest number is 3.4e38)",
        )
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
    return get_type_hints(cls)  # resolved in the module that defines `cls`


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
