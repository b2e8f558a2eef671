"""Fuzzing the scene reader: random mutations of the shipped scenes (keys dropped, renamed or added,
values replaced by hostile ones) give either a scene that passes every pre-run check, or one
TwinInputError of one line — never another exception, a traceback or a hang."""

from __future__ import annotations

import copy
import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import twin
from twin.scene.files import read_scene_mapping, shipped_scenes
from twin.simulate import check_plan

HOSTILE = [
    -1,
    0,
    1,
    -1e300,
    1e300,
    10**400,
    1e-300,
    math.inf,
    -math.inf,
    math.nan,
    True,
    None,
    "",
    "x" * 10_000,
    "${x}",
    [],
    {},
    [[]],
    [1, 2, 3],
    {"a": 1},
    [[0.0, 0.0], [1e9, 1e9]],
    2**63,
    -(2**63),
    0.5,
    "1e3",
]
SCENES = {name: read_scene_mapping(path) for name, path in sorted(shipped_scenes().items())}


def _paths(data, prefix=()):
    """Every (key path) to a value in nested mappings and lists."""
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, prefix + (i,))


def _mutate(data: dict, rng: random.Random, n: int) -> dict:
    data = copy.deepcopy(data)
    for _ in range(n):
        path = rng.choice([p for p in _paths(data) if p])
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        what = rng.random()
        if what < 0.2 and isinstance(parent, dict):
            del parent[path[-1]]
        elif what < 0.3 and isinstance(parent, dict):
            parent[f"{path[-1]}_typo"] = parent.pop(path[-1])
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(HOSTILE))
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scene=st.sampled_from(sorted(SCENES)), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 3))
def test_mutated_scenes_are_refused_in_one_line_or_pass_every_check(scene, seed, n):
    data = _mutate(SCENES[scene], random.Random(seed), n)
    try:
        parsed = twin.scene_from_mapping(data)
        check_plan(parsed, 60.0, twin.Solver(method="backward_euler"), "float32", 60.0, "cpu")
    except twin.TwinInputError as err:
        assert "\n" not in str(err) and str(err).startswith(("scene", "solver", "duration", "snapshot_every"))


@pytest.mark.parametrize("scene", sorted(SCENES))
def test_the_shipped_scenes_pass_unchanged(scene):
    check_plan(
        twin.scene_from_mapping(SCENES[scene]), 60.0, twin.Solver(method="backward_euler"), "float32", 60.0, "cpu"
    )
