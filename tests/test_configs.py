"""Every shipped config composes: each shipped scene × each solver file, through Hydra's compose API as
the CLI does, and the composed run keys and scene pass the same validation `twin simulate` applies.
docs/simulate.md names every key."""

from __future__ import annotations

import pathlib
import re
from importlib import resources

import pytest
import yaml
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

import twin
from twin import cli
from twin.run.config import SimulateConfig, check_run, simulate_config
from twin.scene.convert import scene_from_mapping
from twin.scene.files import shipped_scenes

SCENES = sorted(shipped_scenes())
SOLVERS = sorted(
    p.name.removesuffix(".yaml") for p in resources.files("twin.conf.solver").iterdir() if p.name.endswith(".yaml")
)
DOCS = pathlib.Path(__file__).parent.parent / "docs" / "simulate.md"


def _compose(overrides: list[str]) -> dict:
    """The composed `simulate` config as plain data, with the scenes registered as twin.cli does."""
    args = cli._register_scenes(overrides)
    with initialize_config_module("twin.conf", version_base=None):
        cfg = compose(config_name="simulate", overrides=args)
    return OmegaConf.to_container(cfg, resolve=True)


def test_there_is_something_to_compose():
    assert "gigafactory_cell" in SCENES
    assert SOLVERS == ["backward_euler", "crank_nicolson", "explicit", "steady"]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("scene", SCENES)
def test_every_scene_and_solver_composes_and_validates(scene, solver):
    data = _compose([f"scene={scene}", f"solver={solver}"])
    assert set(data) == {
        "scene",
        "solver",
        "duration",
        "precision",
        "device",
        "snapshot_every",
        "progress",
        "render",
        "overwrite",
        "checkpoint_every",
        "compile_cache",
        "limits",
    }
    run = simulate_config(data)
    assert isinstance(run, SimulateConfig)
    assert run.solver.method == solver  # the file name is the method it selects
    parsed = scene_from_mapping(data["scene"])
    assert isinstance(parsed, twin.Scene)
    assert parsed.name == scene


def test_defaults_are_the_default_scene_and_explicit_solver():
    data = _compose([])
    run = simulate_config(data)
    assert data["scene"]["name"] == "gigafactory_cell"
    assert run.solver == twin.Solver()  # conf/solver/explicit.yaml restates the dataclass defaults
    assert (run.duration, run.precision, run.device, run.snapshot_every, run.render) == (
        3600.0,
        "float32",
        "auto",
        300.0,
        True,
    )


def test_scene_yaml_by_path_composes(tmp_path):
    from fixtures import small_line

    path = tmp_path / "my_line.yaml"
    path.write_text(yaml.safe_dump(small_line()))
    data = _compose([f"scene={path}", "solver=crank_nicolson", "scene.heaters.h1.setpoint=70"])
    assert scene_from_mapping(data["scene"]).heaters["h1"].setpoint == 70.0
    assert simulate_config(data).solver.method == "crank_nicolson"


def _keys(mapping: dict, prefix: str = "") -> list[str]:
    return [f"{prefix}{k}" for k in mapping if k not in ("defaults", "hydra")]


def test_docs_name_every_run_and_solver_key():
    conf = resources.files("twin.conf")
    keys = _keys(yaml.safe_load(conf.joinpath("simulate.yaml").read_text()))
    for solver in SOLVERS:
        keys += _keys(yaml.safe_load(conf.joinpath("solver", f"{solver}.yaml").read_text()), "solver.")
    text = DOCS.read_text()
    missing = sorted({k for k in keys if f"`{k}`" not in text and f"`{k.split('.')[-1]}`" not in text})
    assert not missing, f"docs/simulate.md does not document: {missing}"


@pytest.mark.parametrize(
    "override, call, line",
    [
        ("solver.dt=-1", lambda: twin.Solver(dt=-1), "solver.dt: -1.0 — time step must be > 0 s"),
        (
            "solver.safety=1.5",
            lambda: twin.Solver(safety=1.5),
            "solver.safety: 1.5 — fraction of the stable step must be in (0, 1] "
            "(above 1 the explicit step is unstable)",
        ),
        ("limits.steps=0", lambda: twin.Limits(steps=0), "limits.steps: 0 — time-step limit must be ≥ 1"),
        (
            "duration=-60",
            lambda: check_run(-60, "float32", 300.0, "auto", twin.Solver()),
            "duration: -60.0 — simulated line time must be > 0 s",
        ),
    ],
)
def test_a_bad_run_value_reads_the_same_from_python_and_the_command_line(override, call, line):
    with pytest.raises(twin.TwinInputError) as from_python:
        call()
    with pytest.raises(twin.TwinInputError) as from_config:
        simulate_config(_compose([override]))
    assert str(from_python.value) == str(from_config.value) == line


def test_the_record_config_composes_with_the_recorders_defaults():
    """conf/record.yaml validates, and its record block says what twin.telemetry.record.Recording does."""
    from twin.run.config import record_config
    from twin.telemetry.record import Recording

    args = cli._register_scenes([])
    with initialize_config_module("twin.conf", version_base=None):
        data = OmegaConf.to_container(compose(config_name="record", overrides=args), resolve=True)
    assert record_config(data).record == Recording()


def test_the_calibrate_config_composes_and_its_unknowns_are_in_the_default_scene():
    """conf/calibrate.yaml with its default table validates (given a telemetry file); each unknown of
    conf/calibrate/gigafactory_cell.yaml is a fittable value of the default scene, within its bounds;
    docs/calibrate.md names every key."""
    import dataclasses

    from twin.calibrate.fit import Noise, Parameter
    from twin.calibrate.spec import Calibration
    from twin.calibrate.unknowns import locate
    from twin.run.config import CalibrateConfig, calibrate_config

    args = cli._register_scenes(["telemetry=line1.h5"])
    with initialize_config_module("twin.conf", version_base=None):
        data = OmegaConf.to_container(compose(config_name="calibrate", overrides=args), resolve=True)
    run = calibrate_config(data)
    defaults = Calibration(parameters=run.calibrate.parameters)
    assert dataclasses.replace(run.calibrate, parameters=defaults.parameters) == defaults
    for p in run.calibrate.unknowns():
        assert p.lower < locate(data["scene"], p.path).nominal < p.upper, p
    text = (DOCS.parent / "calibrate.md").read_text()
    for cls in (CalibrateConfig, Calibration, Parameter, Noise):
        for f in dataclasses.fields(cls):
            if f.name not in ("name", "limits", "solver", "calibrate"):
                assert re.search(rf"`([\w.]+\.)?{f.name}[`.]", text), (cls.__name__, f.name)
