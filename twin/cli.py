"""The `twin` command: `twin simulate|record|calibrate [overrides]` (Hydra). The only module that sees a DictConfig.

Bad input ends with one line on stderr naming the key path and exit status 2, no traceback, and no
run directory left behind.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import re
import sys
import warnings
from pathlib import Path

import hydra
import numpy as np
from hydra import compose, initialize_config_module
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from twin import compile_cache, values
from twin.errors import DeprecatedKeyWarning, TwinInputError
from twin.run import atomic_files, checkpoint, interrupt
from twin.run import dirs as run_dirs
from twin.scene.plausibility import PlausibilityWarning
from twin.telemetry.observations import TelemetryWarning
from twin.telemetry.record import RecordingWarning

USAGE = """usage: twin COMMAND [key=value ...] [-m]

commands:
  simulate   run a scene and write results.h5, metrics.json and final_field.png into the run directory
  record     run a scene and write what its sensors would have recorded: telemetry.h5 (noise, jitter,
             historian deadband, dropouts, bad samples, clock offset as configured)
  calibrate  fit the scene's uncertain values (conf/calibrate/*.yaml) to recorded telemetry by gradients
             through the run: scene.yaml (calibrated), calibration.json/.h5, loss/sensors/residuals.png
  telemetry  `twin telemetry import FILE.csv tags=TAGS.yaml [out=telemetry.h5]`: a historian's CSV
             export (wide, tall, InfluxDB) as a telemetry file, by a YAML tag map (no Hydra)

examples:
  twin simulate                                       # the default scene, one hour of line time
  twin simulate scene=gigafactory_cell duration=28800 scene.heaters.oven_1.setpoint=130
  twin simulate scene=path/to/my_line.yaml solver=crank_nicolson
  twin simulate -m scene.conveyors.main.speed=0.015,0.02,0.025
  twin simulate resume=outputs/simulate/DATE/TIME     # continue a run from its last checkpoint
  twin simulate --cfg job                             # print the composed config and exit
  twin record duration=7200 record.noise=0.02 record.deadband=1 record.start=2026-03-02T06:00:00Z
  twin telemetry import line1.csv tags=line1_tags.yaml out=line1.h5 time_zone=Europe/Berlin
  twin calibrate telemetry=outputs/record/DATE/TIME/telemetry.h5 calibrate.max_iterations=50
  twin calibrate telemetry=line1.h5 calibrate.resume=true hydra.run.dir=outputs/calibrate/DATE/TIME
Reference: docs/scenes.md (scene keys), docs/simulate.md (run keys), docs/results.md (output files),
docs/telemetry.md (telemetry files, twin record, twin telemetry import), docs/calibrate.md."""


INPUT_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR)  # the user's folder


def _fail(command: str, error: Exception) -> None:
    print(f"twin {command}: error: {error}", file=sys.stderr)
    sys.exit(2)


def _warnings_on_one_line(command: str) -> None:
    """Plausibility warnings as `twin COMMAND: warning: ...` on stderr, each once (others as Python shows them)."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, (PlausibilityWarning, DeprecatedKeyWarning, RecordingWarning, TelemetryWarning)):
            print(f"twin {command}: warning: {message}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    warnings.simplefilter("once", PlausibilityWarning)
    warnings.simplefilter("once", DeprecatedKeyWarning)


def _register_scenes(args: list[str]) -> list[str]:
    """Put every shipped scene, and a `scene=FILE.yaml` given by path, in the Hydra group `scene`; a
    `calibrate=FILE.yaml` given by path in the group `calibrate`."""
    from twin.scene import files as scene_files

    store = ConfigStore.instance()
    for name, path in scene_files.shipped_scenes().items():
        store.store(group="scene", name=name, node=OmegaConf.create(scene_files.read_scene_mapping(path)))
    out = []
    for arg in args:
        key, _, value = arg.partition("=")
        group = key.lstrip("+")
        if group == "scene" and value:
            path = scene_files.scene_file(value)
            if path.suffix in (".yaml", ".yml"):
                arg = _store(store, group, path, scene_files.read_scene_mapping(path))
        elif group == "calibrate" and value.endswith((".yaml", ".yml")):
            arg = _store(store, group, Path(value), _read_calibration_file(Path(value)))
        out.append(arg)
    return out


def _store(store: ConfigStore, group: str, path: Path, data: dict) -> str:
    """Register `data` (read from `path`) in `group`; the override that picks it."""
    name = path.stem if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", path.stem) else f"{group}_file"
    store.store(group=group, name=name, node=OmegaConf.create(data))
    return f"{group}={name}"  # a name Hydra's override grammar reads as one word (not 123 or a,b)


def _read_calibration_file(path: Path) -> dict:
    from twin.scene.files import check_plain_data, parse_yaml

    if not path.is_file():
        raise TwinInputError("calibrate", str(path), "no such calibration file")
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as err:
        raise TwinInputError(str(path), None, f"cannot read the calibration file: {err}") from None
    if not isinstance(data, dict):
        raise TwinInputError(str(path), type(data).__name__, "a calibration file must hold a mapping of keys")
    check_plain_data(data, "calibrate", f"{path}: ")
    return _with_spec_defaults(data)


def _with_spec_defaults(data: dict) -> dict:
    """A calibration file's keys, and the defaults of those it leaves out, so that `calibrate.resume=true`
    overrides a file without the key as it does the shipped ones."""
    from twin.calibrate.spec import Calibration

    defaults = {}
    for f in dataclasses.fields(Calibration):
        if f.default is not dataclasses.MISSING:
            defaults[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            defaults[f.name] = f.default_factory()
    return defaults | data


def _precheck(command: str, overrides: list[str]) -> None:
    """Compose and validate the config before Hydra runs: a mistake is one line, exit 2, no directory.

    In a sweep (-m) every swept value is checked, the other keys at their first value. Hydra's own
    flags (--cfg, --help, ...) are left to Hydra.
    """
    parsed = _split_flags(overrides)
    if parsed is None:
        return
    plain, sweep = parsed
    try:
        probes = _sweep_probes(plain) if sweep else [plain]
        for probe in probes:
            with initialize_config_module("twin.conf", version_base=None):
                data = OmegaConf.to_container(compose(config_name=command, overrides=probe), resolve=True)
            VALIDATE[command](data)
    except (HydraException, OmegaConfBaseException) as err:
        _fail(command, _one_line(err))
    except TwinInputError as err:
        _fail(command, err)


def _one_line(err: Exception) -> str:
    """A Hydra or OmegaConf error on one line, without its advice on stack traces and search paths."""
    noise = ("HYDRA_FULL_ERROR", "Config search path", "provider=")
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip() and not ln.strip().startswith(noise)]
    return "; ".join(lines).replace(":;", ":")


def _split_flags(overrides: list[str]) -> tuple[list[str], bool] | None:
    """(the key=value overrides, whether it is a sweep), or None when Hydra's own flags (--cfg, --help,
    ...) are given: those are left to Hydra, which runs no job for them."""
    flags = [a for a in overrides if a.startswith("-")]
    if any(flag not in ("-m", "--multirun") for flag in flags):
        return None
    return [a for a in overrides if not a.startswith("-")], bool(flags)


def _sweep_probes(overrides: list[str]) -> list[list[str]]:
    """One override list per swept value (other keys at their first value), to check each value once."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    choices = [
        [f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()] if o.is_sweep_override() else [o.input_line]
        for o in parsed
    ]
    first = [c[0] for c in choices]
    probes = [first]
    for i, options in enumerate(choices):
        probes += [first[:i] + [v] + first[i + 1 :] for v in options[1:]]
    return probes


def _validate_simulate(data: dict) -> None:
    from twin.run.config import simulate_config
    from twin.scene.convert import scene_from_mapping
    from twin.simulate import check_plan

    run = simulate_config(data)
    check_plan(
        scene_from_mapping(data["scene"]),
        run.duration,
        run.solver,
        run.precision,
        run.snapshot_every,
        run.device,
        run.limits,
    )


def _validate_record(data: dict) -> None:
    from twin.run.config import record_config
    from twin.scene.convert import scene_from_mapping
    from twin.simulate import check_plan
    from twin.telemetry.record import check

    run = record_config(data)
    scene = scene_from_mapping(data["scene"])
    check(run.record, scene)
    check_plan(scene, run.duration, run.solver, run.precision, RECORD_CHUNK_S, run.device, run.limits)


def _validate_calibrate(data: dict) -> None:
    """The run keys, the scene, the telemetry file and the parameter table; what needs the scene built
    (the key paths, the sensors matched) is checked as the fit starts, before it writes anything."""
    from twin.calibrate.fit import check_parameters
    from twin.run.config import calibrate_config
    from twin.scene.convert import scene_from_mapping
    from twin.simulate import check_plan
    from twin.telemetry import files as telemetry_files

    run = calibrate_config(data)
    scene = scene_from_mapping(data["scene"])
    check_parameters(run.calibrate.unknowns(), "calibrate.")
    telemetry = telemetry_files.read(Path(run.telemetry))
    end = run.calibrate.duration or max(float(s.t[-1]) for s in telemetry.sensors.values())
    check_plan(scene, end, run.solver, run.precision, end, run.device, run.limits)


VALIDATE = {"simulate": _validate_simulate, "record": _validate_record, "calibrate": _validate_calibrate}
RECORD_CHUNK_S = 300.0  # s of line time per compiled chunk (and progress update) of a recorded run


def _look_before(command: str, overrides: list[str]) -> None:
    """Ahead of Hydra: refuse a run directory that holds another run (unless overwrite=true), and record
    what exists along its path, so that a refused run removes only what it made (twin.run.dirs)."""
    global _BEFORE
    parsed = _split_flags(overrides)
    if parsed is None:
        return
    plain, sweep = parsed
    with initialize_config_module("twin.conf", version_base=None):
        cfg = compose(config_name=command, overrides=_sweep_probes(plain)[0], return_hydra_config=True)
    path = Path(cfg.hydra.sweep.dir if sweep else cfg.hydra.run.dir)
    run_dirs.refuse_unwritable(path, "hydra.sweep.dir" if sweep else "hydra.run.dir")
    if command == "calibrate" and OmegaConf.select(cfg, "calibrate.resume", default=False) is True:
        _refuse_nothing_to_resume(path, sweep)
    elif not cfg.overwrite:
        if sweep:
            for job in sorted(path.iterdir()) if path.is_dir() else ():
                run_dirs.refuse_taken(job, "hydra.sweep.dir")
        else:
            run_dirs.refuse_taken(path, "hydra.run.dir")
    _BEFORE = run_dirs.Before.look(path)


def _refuse_nothing_to_resume(path: Path, sweep: bool) -> None:
    """calibrate.resume=true continues the calibration journaled in the run directory named."""
    from twin.calibrate.outputs import JOURNAL

    if sweep:
        raise TwinInputError("calibrate.resume", True, "resume one calibration at a time, not a sweep (-m)")
    if not (path / JOURNAL).is_file():
        done = " (it holds a finished calibration: calibration.json)" if (path / "calibration.json").exists() else ""
        raise TwinInputError(
            "calibrate.resume",
            True,
            f"{path} holds no {JOURNAL} to continue from{done}; name the interrupted run's directory with "
            "hydra.run.dir=DIR",
        )


_BEFORE: run_dirs.Before | None = None  # what existed before this command's run directory was made
_RUN_DIR: Path | None = None  # the run directory of the job running now (Hydra's output_dir)


def _discard_run_dir() -> None:
    """For a run not kept (refused, failed): remove what this invocation made for it, nothing else
    (nothing if unknown)."""
    if _BEFORE is not None:
        _BEFORE.discard(_RUN_DIR or _BEFORE.path)


def _keep_checkpoint(command: str = "simulate") -> str | None:
    """For a run stopped before its end (interrupted, or a write failed): remove what this invocation
    made but a checkpoint (a calibration's journal) and what Hydra wrote beside it (.hydra/, the log);
    say how to resume, or None if there is nothing to resume from."""
    from twin.calibrate.outputs import JOURNAL

    kept = JOURNAL if command == "calibrate" else checkpoint.FILE_NAME
    run_dir = _RUN_DIR or (_BEFORE.path if _BEFORE else None)
    if run_dir is None or not (run_dir / kept).is_file():
        _discard_run_dir()
        return None
    if _BEFORE is not None:
        log = f"{HydraConfig.get().job.name}.log" if HydraConfig.initialized() else ""
        _BEFORE.discard(run_dir, keep=(kept, ".hydra", log))
    if command == "calibrate":
        return (
            f"its evaluations so far are kept: continue with `twin calibrate ... calibrate.resume=true "
            f"hydra.run.dir={run_dir}` (the same keys)"
        )
    return f"its last checkpoint is kept: continue with `twin simulate resume={run_dir}`"


@hydra.main(version_base=None, config_path="pkg://twin.conf", config_name="simulate")
def _simulate(cfg: DictConfig) -> None:
    from twin.run.config import simulate_config
    from twin.scene.convert import scene_from_mapping
    from twin.simulate import Checkpoints, simulate

    global _RUN_DIR
    _RUN_DIR = Path(HydraConfig.get().runtime.output_dir)
    logging.getLogger("jax").setLevel(logging.WARNING)  # Hydra sets the root logger to INFO
    data = OmegaConf.to_container(cfg, resolve=True)
    try:
        run = simulate_config(data)
        compile_cache.use(run.compile_cache)
        scene = scene_from_mapping(data["scene"])
        checkpoints = None
        if run.checkpoint_every is not None and run.solver.method != "steady":
            checkpoints = Checkpoints(_RUN_DIR / checkpoint.FILE_NAME, run.checkpoint_every, data)
        result = simulate(
            scene,
            run.duration,
            run.solver,
            run.precision,
            run.snapshot_every,
            run.progress,
            run.device,
            run.limits,
            checkpoints,
        )
    except TwinInputError as err:
        _discard_run_dir()
        _fail("simulate", err)
    except OSError as err:
        _cannot_write("its checkpoint", _RUN_DIR, err)
    _finish(result, _RUN_DIR, data, run.render)


@hydra.main(version_base=None, config_path="pkg://twin.conf", config_name="record")
def _record(cfg: DictConfig) -> None:
    from twin.run.config import record_config
    from twin.scene.convert import scene_from_mapping
    from twin.simulate import simulate
    from twin.telemetry import files as telemetry_files
    from twin.telemetry.record import record

    global _RUN_DIR
    _RUN_DIR = Path(HydraConfig.get().runtime.output_dir)
    logging.getLogger("jax").setLevel(logging.WARNING)
    data = OmegaConf.to_container(cfg, resolve=True)
    try:
        run = record_config(data)
        compile_cache.use(run.compile_cache)
        scene = scene_from_mapping(data["scene"])
        chunk = min(RECORD_CHUNK_S, run.duration)
        result = simulate(scene, run.duration, run.solver, run.precision, chunk, run.progress, run.device, run.limits)
        telemetry = record(result, run.record)
    except TwinInputError as err:
        _discard_run_dir()
        _fail("record", err)
    path = _RUN_DIR / "telemetry.h5"
    try:
        telemetry_files.write(path, telemetry)
    except OSError as err:
        _cannot_write("telemetry.h5", _RUN_DIR, err, "record")
    samples = sum(s.t.size for s in telemetry.sensors.values())
    print(
        f"twin record: {scene.name}, {run.duration / 3600:.2f} h of line time: {len(telemetry.sensors)} sensors, "
        f"{samples} samples from {telemetry.start.isoformat()}\n  wrote {path}"
    )


def _finish(result, run_dir: Path, config: dict, render: bool) -> None:
    """Write the run files (the checkpoint, superseded, goes) and say what the run did."""
    from twin.run.files import write_run

    try:
        write_run(result, run_dir, config, render=render)
    except OSError as err:
        _cannot_write("the run files", run_dir, err)
    (run_dir / checkpoint.FILE_NAME).unlink(missing_ok=True)
    _report(result, run_dir)


def _cannot_write(what: str, run_dir: Path, err: OSError, command: str = "simulate") -> None:
    """A write failed: remove what this command made but a checkpoint written before (to resume once
    there is room), one line, exit 1 (a full or failing disk is a fault, not bad input) or 2 (a folder
    the user cannot write)."""
    kept = _keep_checkpoint(command)
    reason = " ".join(str(err.strerror or err).split())
    print(
        f"twin {command}: error: cannot write {what} in {run_dir}: {reason}" + (f"; {kept}" if kept else ""),
        file=sys.stderr,
    )
    sys.exit(2 if err.errno in INPUT_ERRNOS else 1)


RESUME_KEYS = ("progress", "render", "compile_cache")  # what a resumed run may change: not its results


def _resume(args: list[str]) -> None:
    """`twin simulate resume=DIR [progress=..] [render=..]`: continue the run whose checkpoint is in DIR,
    in DIR, to the end it was configured for."""
    from twin.scene.files import parse_yaml
    from twin.simulate import resume

    global _BEFORE, _RUN_DIR
    settings = {"progress": True, "render": True, "compile_cache": True}
    for arg in args:
        key, sep, value = arg.partition("=")
        if key == "resume" and "resume" not in settings:
            settings["resume"] = value
        elif not sep or key not in RESUME_KEYS:
            raise TwinInputError(
                key,
                value or None,
                "a resumed run continues as it was configured; with resume= "
                f"only {', '.join(RESUME_KEYS)} may be given",
            )
        else:
            settings[key] = values.flag(parse_yaml(value, key), key)
    run_dir = _resume_dir(settings["resume"])
    _BEFORE, _RUN_DIR = run_dirs.Before.look(run_dir), run_dir
    atomic_files.remove_strays(run_dir, run_dirs.RUN_FILES)
    compile_cache.use(settings["compile_cache"])
    try:
        result = resume(run_dir / checkpoint.FILE_NAME, progress=settings["progress"])
    except OSError as err:
        _cannot_write("its checkpoint", run_dir, err)
    config = checkpoint.read_config(run_dir / checkpoint.FILE_NAME) or {}
    _finish(result, run_dir, config, settings["render"])


def _resume_dir(value: str) -> Path:
    """The run directory `resume=` names, refused unless it holds a checkpoint."""
    if not value:
        raise TwinInputError("resume", value, "give the run directory of the run to continue: resume=DIR")
    run_dir = Path(value).absolute()
    if not run_dir.is_dir():
        raise TwinInputError("resume", value, "no such run directory")
    if not (run_dir / checkpoint.FILE_NAME).is_file():
        done = " (it holds a finished run: results.h5)" if (run_dir / "results.h5").exists() else ""
        raise TwinInputError("resume", value, f"holds no {checkpoint.FILE_NAME} to continue from{done}")
    run_dirs.refuse_unwritable(run_dir, "resume")
    return run_dir


def _report(result, run_dir: Path) -> None:
    m = result.metrics
    picture = ", final_field.png" if (run_dir / "final_field.png").exists() else ""
    if result.plan is None:
        _report_steady(result, m)
        print(f"  wrote {run_dir}/results.h5, metrics.json{picture}")
        return
    pick = m["part_temperature_at_pick_degC"]
    print(
        f"twin simulate: {result.scene.name}, {m['duration_h']:.2f} h of line time in {result.plan.steps} steps "
        f"of {result.plan.dt:.3g} s"
    )
    said = _said(
        result,
        " at the end",
        conveyors=f"throughput {m['throughput_parts_per_h']:.1f} parts/h",
        heaters=f"heater energy {m['heater_energy_kWh']:.2f} kWh",
    )
    if pick:
        said += f", part at pick {pick['mean']:.1f} °C (min {pick['min']:.1f}, max {pick['max']:.1f})"
    print("  " + said)
    if m["unconverged_steps"]:
        print(
            f"  warning: {m['unconverged_steps']} steps stopped before their linear (CG) or thermostat solve "
            "converged; raise solver.maxiter or lower solver.dt",
            file=sys.stderr,
        )
    print(f"  wrote {run_dir}/results.h5, metrics.json{picture}")


def _said(result, when: str, **by_part: str) -> str:
    """The field's range `when`, then each text whose part of the scene ('heaters', 'conveyors') exists."""
    final = result.snapshots[-1]
    return ", ".join(
        [
            f"field {np.min(final):.1f} to {np.max(final):.1f} °C{when}",
            *[text for part, text in by_part.items() if getattr(result.scene, part)],
        ]
    )


def _report_steady(result, m: dict) -> None:
    info = m["steady"]
    state = "reached" if info["converged"] else "NOT reached"
    print(
        f"twin simulate: {result.scene.name}, steady state {state} in {info['iterations']} iterations: residual "
        f"{info['residual_K']:.2g} K (tolerance {info['tolerance_K']:.2g} K), net imbalance "
        f"{info['imbalance_W']:.3g} W"
    )
    said = _said(
        result,
        "",
        heaters=f"heater power {m['heater_power_W'] / 1e3:.3g} kW",
        conveyors=f"conveyor power {m['conveyor_power_W'] / 1e3:.3g} kW",
    )
    faces = ", ".join(f"{name} {heat:+.4g} W" for name, heat in info["face_heat_W"].items())
    print("  " + said + (f"; heat in through the faces: {faces}" if faces else ""))
    if not info["converged"]:
        print(
            "  warning: the steady solve stopped at its iteration cap; the field is not yet steady — check the "
            "scene (an insulated domain has no unique steady state) or use a transient solver",
            file=sys.stderr,
        )


@hydra.main(version_base=None, config_path="pkg://twin.conf", config_name="calibrate")
def _calibrate(cfg: DictConfig) -> None:
    from twin.calibrate import job
    from twin.run.config import calibrate_config

    global _RUN_DIR
    _RUN_DIR = Path(HydraConfig.get().runtime.output_dir)
    for name in ("jax", "matplotlib"):
        logging.getLogger(name).setLevel(logging.WARNING)
    data = OmegaConf.to_container(cfg, resolve=True)
    try:
        run = calibrate_config(data)
        compile_cache.use(run.compile_cache)
        fit, written = job.run(_RUN_DIR, data["scene"], run)
    except TwinInputError as err:  # a journal this run made goes too: resuming would meet the same error
        _discard_run_dir()
        _fail("calibrate", err)
    except OSError as err:
        _cannot_write("its files", _RUN_DIR, err, "calibrate")
    _report_calibration(fit, written)


def _report_calibration(fit, written: list[Path]) -> None:
    state = "converged" if fit.converged else f"stopped: {fit.message}"
    print(f"twin calibrate: {len(fit.iterations)} iterations, {len(fit.history)} evaluations, {state}")
    width = max(len(n) for n in fit.names)
    for name, value, sd in zip(fit.names, fit.estimate, fit.sd):
        print(f"  {name:<{width}}  {value:.6g} ± {sd:.2g}  ({100 * sd / abs(value) if value else float('inf'):.2g} %)")
    if fit.at_bound:
        print(
            f"twin calibrate: warning: at a bound: {', '.join(fit.at_bound)}: the data push past it, and its σ "
            "describes the bound, not the value; widen the bounds or check the scene and the sensors",
            file=sys.stderr,
        )
    if fit.unidentifiable:
        print(
            f"twin calibrate: warning: not identifiable from these sensors: {', '.join(fit.unidentifiable)} "
            "(|correlation| > 0.99 or a flat direction of the loss): fix all but one, give priors, or record "
            "a sensor that separates them",
            file=sys.stderr,
        )
    folder = written[0].parent
    print(f"  wrote {folder}/" + ", ".join(p.name for p in written))


COMMANDS = {"simulate": _simulate, "record": _record, "calibrate": _calibrate}


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return
    command, rest = args[0], args[1:]
    if command == "telemetry":  # a plain command: no scene, no Hydra, no run directory
        _telemetry(rest)
        return
    if command not in COMMANDS:
        known = ", ".join([*COMMANDS, "telemetry"])
        print(f"twin: error: unknown command {command!r}; commands: {known}", file=sys.stderr)
        sys.exit(2)
    interrupt.exit_promptly_on_interrupt(command)
    _warnings_on_one_line(command)
    interrupt.on_interrupt(lambda: _keep_checkpoint(command))
    if command == "simulate" and any(a.startswith("resume=") for a in rest):
        try:
            _resume(rest)
        except TwinInputError as err:
            _fail(command, err)
        return
    try:
        rest = _register_scenes(rest)
    except TwinInputError as err:
        _fail(command, err)
    _precheck(command, rest)
    try:
        _look_before(command, rest)
    except TwinInputError as err:
        _fail(command, err)
    except (HydraException, OmegaConfBaseException) as err:  # in the hydra.* keys, which the precheck leaves
        _fail(command, _one_line(err))
    sys.argv = [f"twin {command}", *rest]
    _run_hydra(command)


def _run_hydra(command: str) -> None:
    """Run the command's Hydra main with Hydra's own failures raised to us (HYDRA_FULL_ERROR), so that
    Hydra failing to write its files (.hydra/, the log: a full disk) is one line too, not a traceback."""
    os.environ["HYDRA_FULL_ERROR"] = "1"
    logging.raiseExceptions = False  # a log that cannot be written is not worth a traceback per line
    try:
        COMMANDS[command]()
    except OSError as err:
        _cannot_write("Hydra's files (.hydra/, the log)", _RUN_DIR or (_BEFORE.path if _BEFORE else Path.cwd()), err)
    except (HydraException, OmegaConfBaseException) as err:
        _discard_run_dir()
        _fail(command, _one_line(err))


TELEMETRY_USAGE = """usage: twin telemetry import FILE.csv tags=TAGS.yaml [out=telemetry.h5] [overwrite=true]
                             [KEY=VALUE ...]

Reads a historian's CSV export (wide, tall or InfluxDB annotated CSV) by the tag map TAGS.yaml and writes
a telemetry file (default telemetry.h5; an existing one only with overwrite=true). KEY=VALUE sets a
top-level key of the tag map: format, time_zone, time_format, quality, start, duplicates, delimiter,
influx_tag, scene. Reference: docs/telemetry.md."""


def _telemetry(args: list[str]) -> None:
    """`twin telemetry import FILE.csv tags=TAGS.yaml [out=..] [overwrite=..] [KEY=VALUE ..]`: a historian's
    CSV export as a telemetry file (twin.telemetry.historian), written whole or not at all."""
    from twin.telemetry import files as telemetry_files
    from twin.telemetry import historian

    if not args or args[0] in ("-h", "--help", "help"):
        print(TELEMETRY_USAGE)
        return
    command = "telemetry import"
    interrupt.exit_promptly_on_interrupt(command)
    try:
        source, out, settings = _import_arguments(args)
        with warnings.catch_warnings(record=True) as caught:  # shown after a success: an error is one line
            warnings.simplefilter("always", historian.HistorianWarning)
            tag_map = historian.read_tag_map(settings.pop("tags"), settings)
            telemetry = historian.read(source, tag_map)
    except TwinInputError as err:
        _fail(command, err)
    for warning in caught:
        print(f"twin {command}: warning: {warning.message}", file=sys.stderr)
    try:
        telemetry_files.write(out, telemetry)
    except OSError as err:
        reason = " ".join(str(err.strerror or err).split())
        print(f"twin {command}: error: cannot write {out}: {reason}", file=sys.stderr)
        sys.exit(2 if err.errno in INPUT_ERRNOS else 1)
    series = telemetry.sensors.values()
    span = max(float(s.t[-1]) for s in series) - min(float(s.t[0]) for s in series)
    n, samples = len(series), sum(s.t.size for s in series)
    print(
        f"twin {command}: {n} sensor{'s' * (n != 1)}, {samples} sample{'s' * (samples != 1)} over "
        f"{f'{span / 3600:.2f} h' if span >= 3600 else f'{span:.3g} s'} from {telemetry.start.isoformat()}: wrote {out}"
    )


def _import_arguments(args: list[str]) -> tuple[Path, Path, dict[str, str]]:
    """(the export, the output file, the tag-map settings with `tags`) of `import FILE key=value ...`; an
    existing output file is refused unless overwrite=true."""
    from twin.errors import MISSING
    from twin.scene.files import parse_yaml

    usage = "twin telemetry import FILE.csv tags=TAGS.yaml [out=telemetry.h5]"
    if args[0] != "import":
        raise TwinInputError("twin telemetry", args[0], f"unknown subcommand; {usage}")
    sources = [a for a in args[1:] if "=" not in a]
    settings = dict(a.split("=", 1) for a in args[1:] if "=" in a)
    if len(sources) != 1:
        raise TwinInputError("twin telemetry import", sources, f"give one historian export: {usage}")
    if "tags" not in settings:
        raise TwinInputError("tags", MISSING, f"required: the tag map (docs/telemetry.md): {usage}")
    out = Path(settings.pop("out", "telemetry.h5"))
    overwrite = values.flag(parse_yaml(settings.pop("overwrite", "false"), "overwrite"), "overwrite")
    if out.is_dir() or not out.parent.is_dir():
        raise TwinInputError("out", str(out), "give a file in an existing folder")
    if out.exists() and not overwrite:
        raise TwinInputError("out", str(out), "exists: give another out= or overwrite=true")
    return Path(sources[0]), out, settings


if __name__ == "__main__":
    main()
