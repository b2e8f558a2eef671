"""Scene values as unknowns of a fit: where a number of the scene file lives in the built twin.

A calibration names its unknowns as scene key paths (`heaters.oven_1.efficiency`,
`conveyors.main.parts.c_p`, `zones.oven_shell.k`, list entries by index: `robots.robot_a.payload.com.2`),
as an engineer reads them in the YAML. `locate`
finds what each becomes in `Params` by building the scene at its value and at two nudged values: the
entries of the Params leaves that move, and how — every scene number the twin takes as a parameter
enters `Params` affinely (unit conversions, a power times a rasterised volume, a length plus a gap), so
entry = intercept + slope · value, exactly. `with_values` then sets the unknowns into `Params` as a
differentiable function of their values.

A value the file leaves at its default (`conveyors.main.segments.oven.viscous_drag`, in no scene file
but in every segment) is an unknown as well: its nominal is the default, and the fitted value is
written where the key would be (`set_at` makes the sections on its way).

Refused, at the key path: a path that is no number of the scene, and a number that changes the layout
(geometry, grid, counts: compiled into the run, not a parameter) or that enters the twin other than
affinely.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from twin.build import build
from twin.errors import TwinInputError, did_you_mean
from twin.model import Params
from twin.scene.convert import scene_from_mapping

NUDGE = 1e-3  # relative change of the probes (absolute where the value is 0)
LAYOUT_PROBE = 0.1  # relative change that shows a value setting geometry (below a cell, a nudge moves nothing)
AFFINE_RTOL = 1e-9  # the second probe's change against twice the first's


@dataclass(frozen=True)
class Unknown:
    """One scene value and the Params entries it sets: leaf[index] = intercept + slope · value."""

    path: str  # scene key path
    nominal: float  # its value in the scene
    leaves: tuple[tuple[int, np.ndarray, np.ndarray, np.ndarray], ...]  # (leaf number, flat index, intercept, slope)


def locate(scene: Mapping, path: str) -> Unknown:
    """The Params entries scene value `path` (dotted keys into the scene mapping) sets."""
    nominal = _value_at(scene, path)
    h = NUDGE * abs(nominal) if nominal != 0 else NUDGE
    layouts, leaves = zip(*(_built(scene, path, nominal + k * h) for k in (0, 1, 2)))
    if not (layouts[0] == layouts[1] == layouts[2]):
        raise TwinInputError(
            f"scene.{path}",
            nominal,
            "changes the layout (geometry, grid or counts), not a parameter: it cannot be fitted",
        )
    found = []
    for n, (a, b, c) in enumerate(zip(*leaves)):
        step, step2 = b - a, c - a
        moved = np.flatnonzero(step != 0)
        if moved.size == 0:
            continue
        scale = np.maximum(np.abs(step2[moved]), np.abs(a[moved]) * 1e-12)
        if np.any(np.abs(step2[moved] - 2 * step[moved]) > AFFINE_RTOL * scale + 1e-300):
            raise TwinInputError(f"scene.{path}", nominal, "enters the twin non-linearly: it cannot be fitted as one")
        slope = step[moved] / h
        found.append((n, moved, a[moved] - slope * nominal, slope))
    if not found:
        far = _built(scene, path, nominal + LAYOUT_PROBE * max(abs(nominal), 1.0))[0]
        why = (
            "changes the layout (geometry, grid or counts), not a parameter"
            if far != layouts[0]
            else ("no parameter of the built twin depends on it")
        )
        raise TwinInputError(f"scene.{path}", nominal, f"{why}: it cannot be fitted")
    return Unknown(path, nominal, tuple(found))


def with_values(params: Params, unknowns: tuple[Unknown, ...], values) -> Params:
    """`params` with each unknown's entries set from `values` (k,), differentiably."""
    leaves, treedef = jax.tree.flatten(params)
    leaves = list(leaves)
    for u, value in zip(unknowns, values):
        for n, index, intercept, slope in u.leaves:
            leaf = leaves[n]
            flat = (
                leaf.reshape(-1)
                .at[jnp.asarray(index)]
                .set(jnp.asarray(intercept, leaf.dtype) + jnp.asarray(slope, leaf.dtype) * value)
            )
            leaves[n] = flat.reshape(leaf.shape)
    return jax.tree.unflatten(treedef, leaves)


def _value_at(scene: Mapping, path: str) -> float:
    """The number at `path`: written in the scene, or else the default the scene's schema gives it."""
    parts = path.split(".")
    try:
        node = _walk(scene, parts, _child)
    except TwinInputError as missing:  # the file's keys name what there is, if the schema has it neither
        try:
            node = _walk(scene_from_mapping(scene), parts, _field)
        except (KeyError, IndexError, ValueError):
            raise missing from None
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        raise TwinInputError(f"scene.{path}", node, "not a number in the scene: only numbers can be fitted")
    return float(node)


def _walk(node, parts: list[str], child):
    where = "scene"
    for part in parts:
        node, where = child(node, part, where, ".".join(parts)), f"{where}.{part}"
    return node


def _field(node, part: str, where: str, path: str):
    """node.part of the built scene's dataclasses (a default the file left out)."""
    if isinstance(node, Mapping):
        return node[part]
    if isinstance(node, (list, tuple)) and part.isdigit():
        return node[int(part)]
    if dataclasses.is_dataclass(node) and part in {f.name for f in dataclasses.fields(node)}:
        return getattr(node, part)
    raise KeyError(part)


def _child(node, part: str, where: str, path: str):
    """node[part]: a mapping's key, or a list's index (`payload.com.2`)."""
    if isinstance(node, Mapping) and part in node:
        return node[part]
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    allowed = (
        list(node)
        if isinstance(node, Mapping)
        else [str(i) for i in range(len(node))]
        if isinstance(node, list)
        else []
    )
    raise TwinInputError(
        f"scene.{path}", None, f"no such key in the scene at {where}: " + did_you_mean(part, allowed, "keys")
    )


def set_at(data: dict, path: str, value: float) -> None:
    """data at key path `path` = value, in place; sections missing on the way (left at their defaults in
    the file) are made."""
    node = data
    *parents, last = path.split(".")
    for part in parents:
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node.setdefault(part, {})
    node[int(last) if isinstance(node, list) else last] = value


def _built(scene: Mapping, path: str, value: float):
    data = copy.deepcopy(dict(scene))
    set_at(data, path, value)
    layout, params, _ = build(scene_from_mapping(data), jnp.float64)
    return layout, [np.asarray(x, np.float64).reshape(-1) for x in jax.tree.leaves(params)]
