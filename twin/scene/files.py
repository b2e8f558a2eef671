"""Finding and loading scene files: shipped scenes by name, or any YAML file by path.

Scene files are data. They are read as plain YAML (with `1e3` read as a number, as YAML 1.2 and Hydra
do): no `${...}` interpolations or resolvers, no `defaults:` lists — both are refused with the key that
holds them — and at most MAX_VALUES values (YAML aliases are counted as often as they are used, so an
alias bomb is refused, not expanded). Text must be UTF-8.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from twin.errors import SceneError
from twin.scene.convert import scene_from_mapping
from twin.scene.schema import Scene

MAX_VALUES = 100_000  # values in one scene (the shipped scenes hold a few hundred)
MAX_DEPTH = 32  # levels of nesting (the shipped scenes use 6)


# YAML 1.2 floats that YAML 1.1 reads as text: an exponent without a dot or without a sign (1e3, 1.5e3);
# the loader's own patterns still read the rest (1.0, .5, 1.0e+3, .inf, .nan).
FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


class _SceneLoader(yaml.SafeLoader):
    """YAML's safe loader, reading every YAML 1.2 float as a float."""


class _SceneDumper(yaml.SafeDumper):
    """YAML's safe dumper, quoting text the loader would read as a number ('1e3'): dump → load is exact."""


for _yaml_class in (_SceneLoader, _SceneDumper):
    _yaml_class.add_implicit_resolver("tag:yaml.org,2002:float", FLOAT, list("-+0123456789."))


def shipped_scenes() -> dict[str, Path]:
    """Name -> path of every scene that ships with twin (the Hydra group `scene`)."""
    folder = resources.files("twin.scenes")
    return {p.name[: -len(".yaml")]: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}


def scene_file(name_or_path: str | Path) -> Path:
    """The YAML file for a shipped scene name or a path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise SceneError("scene", str(name_or_path), "no such scene file")
        return path
    scenes = shipped_scenes()
    if str(name_or_path) not in scenes:
        raise SceneError(
            "scene", str(name_or_path), f"no such scene; shipped: {', '.join(sorted(scenes))}, or give a .yaml path"
        )
    return scenes[str(name_or_path)]


def read_scene_mapping(path: Path) -> dict[str, Any]:
    """The mapping in a scene file; any fault is one SceneError naming the file (and line, or key)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise SceneError(str(path), err.strerror, "cannot read the scene file") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise SceneError(
            f"{path}:{line}", raw[err.start : err.start + 1], "not UTF-8 text; save the scene as UTF-8"
        ) from None
    data = parse_yaml(text, str(path))
    if not isinstance(data, dict):
        raise SceneError(str(path), type(data).__name__, "a scene file must hold a mapping of keys")
    check_plain_data(data, "scene", f"{path}: ")
    return data


def parse_yaml(text: str, where: str) -> Any:
    """YAML text as Python data; syntax errors with `where:line`."""
    try:
        return yaml.load(text, Loader=_SceneLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise SceneError(
            f"{where}:{mark.line + 1}" if mark else where, getattr(err, "problem", None) or "?", "not valid YAML"
        ) from None
    except RecursionError:
        raise SceneError(where, "nesting", f"nested too deeply (more than {MAX_DEPTH} levels)") from None


def dump_yaml(data: Any) -> str:
    """YAML text that `read_scene_mapping` / `parse_yaml` read back as `data`, key order kept."""
    return yaml.dump(data, Dumper=_SceneDumper, sort_keys=False, allow_unicode=True)


def check_plain_data(data: Any, where: str = "scene", file: str = "") -> None:
    """Refuse what a scene must not hold: interpolations, a `defaults` list, too many values or levels.
    Errors name the key path from `where`, after `file` (a "path: " prefix) when the data is a file's."""
    if isinstance(data, Mapping) and "defaults" in data and where == "scene":
        raise SceneError(f"{file}scene.defaults", data["defaults"], "scene files are data: defaults lists are not read")
    count = 0

    def visit(value: Any, key: str, depth: int) -> None:
        nonlocal count
        count += 1
        if count > MAX_VALUES:
            raise SceneError(f"{file}{where}", f"> {MAX_VALUES} values", "too large a scene (YAML aliases expanding?)")
        if depth > MAX_DEPTH:
            raise SceneError(f"{file}{key}", "nesting", f"nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(value, str) and "${" in value:
            raise SceneError(
                f"{file}{key}", value, "scene files are data: ${...} interpolations are not read; write the value"
            )
        if isinstance(value, Mapping):
            for k, v in value.items():
                visit(v, f"{key}.{k}", depth + 1)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                visit(v, f"{key}[{i}]", depth + 1)

    visit(data, where, 0)


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply `key.path=value` overrides (a leading `scene.` is optional), values read as scene YAML."""
    conf = OmegaConf.create(dict(data))
    for item in overrides:
        key, sep, text = str(item).partition("=")
        key = key.strip().removeprefix("scene.")
        if not sep or not key:
            raise SceneError("overrides", item, "expected key.path=value")
        value = parse_yaml(text, f"scene.{key}")
        check_plain_data(value, f"scene.{key}")
        try:
            OmegaConf.update(conf, key, value, merge=True, force_add=True)
        except OmegaConfBaseException as err:
            raise SceneError(f"scene.{key}", text, f"cannot apply override ({type(err).__name__})") from None
    return OmegaConf.to_container(conf, resolve=False)


def load_scene(scene: str | Path | Mapping[str, Any], overrides: Iterable[str] = ()) -> Scene:
    """Load, override and validate a scene — a shipped name, a YAML path or a mapping:
    `load_scene("gigafactory_cell", ["heaters.oven_1.setpoint=130"])`."""
    if isinstance(scene, Mapping):
        check_plain_data(scene)
        data = dict(scene)
    elif isinstance(scene, (str, Path)):
        data = read_scene_mapping(scene_file(scene))
    else:
        raise SceneError("scene", scene, "expected a shipped scene name, a .yaml path or a mapping")
    if isinstance(overrides, (str, bytes)):
        raise SceneError("overrides", overrides, "expected a list of key.path=value strings")
    return scene_from_mapping(apply_overrides(data, overrides))
