"""Finding and loading scene files: shipped scenes by name, or any YAML file by path."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from twin.errors import SceneError
from twin.scene_validation import scene_from_mapping
from twin.schema import Scene


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
        raise SceneError("scene", str(name_or_path),
                         f"no such scene; shipped: {', '.join(sorted(scenes))}, or give a .yaml path")
    return scenes[str(name_or_path)]


def read_scene_mapping(path: Path) -> dict[str, Any]:
    """The raw mapping in a scene file (YAML syntax errors reported with file and line)."""
    try:  # OmegaConf's loader, as Hydra uses: it also reads 1e3 (no dot, no sign) as a number
        data = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise SceneError(where, getattr(err, "problem", "?"), "not valid YAML") from None
    if not isinstance(data, dict):
        raise SceneError(str(path), type(data).__name__, "a scene file must hold a mapping of keys")
    return data


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply `key.path=value` overrides (a leading `scene.` is optional), values parsed as YAML."""
    conf = OmegaConf.create(dict(data))
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip().removeprefix("scene.")
        if not sep or not key:
            raise SceneError("overrides", item, "expected key.path=value")
        try:
            OmegaConf.update(conf, key, yaml.safe_load(text), merge=True, force_add=True)
        except (OmegaConfBaseException, yaml.YAMLError) as err:
            raise SceneError(f"scene.{key}", text, f"cannot apply override ({type(err).__name__})") from None
    return OmegaConf.to_container(conf, resolve=True)


def load_scene(name_or_path: str | Path, overrides: Iterable[str] = ()) -> Scene:
    """Load, override and validate a scene: `load_scene("gigafactory_cell", ["heaters.oven_1.setpoint=130"])`."""
    data = read_scene_mapping(scene_file(name_or_path))
    return scene_from_mapping(apply_overrides(data, overrides))
