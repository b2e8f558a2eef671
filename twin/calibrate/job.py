"""One `twin calibrate` in its run directory: the fit, journaled after every evaluation so that
`calibrate.resume=true` continues it, then its files (twin.calibrate.outputs, twin.calibrate.pictures).

The journal is keyed by what decides the fit — the scene, the telemetry file's bytes, the calibrate
keys (but `resume`), the solver and the precision — so a resume with anything else is refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from twin.calibrate import outputs
from twin.calibrate.fit import Evaluation, Fit, calibrate
from twin.precision import select_device
from twin.run.config import CalibrateConfig
from twin.telemetry import files as telemetry_files


def run(run_dir: Path, scene: dict, config: CalibrateConfig) -> tuple[Fit, list[Path]]:
    """Fit `config.calibrate`'s unknowns of `scene` (a mapping) to `config.telemetry`; write the files
    into `run_dir`; (the fit, the files written)."""
    telemetry = telemetry_files.read(Path(config.telemetry))
    spec = config.calibrate
    parameters = spec.unknowns()
    names = tuple(p.label for p in parameters)
    journal = run_dir / outputs.JOURNAL
    key = journal_key(scene, config)
    replay = outputs.read_journal(journal, key) if spec.resume else []
    history: list[Evaluation] = []

    def on_evaluation(e: Evaluation) -> None:
        history.append(e)
        outputs.write_journal(journal, key, history, names)

    with jax.default_device(select_device(config.device)):
        fit = calibrate(
            scene,
            telemetry,
            parameters,
            noise=spec.noise,
            solver=config.solver,
            precision=config.precision,
            duration=spec.duration,
            where=config.telemetry,
            spec="calibrate.",
            max_iterations=spec.max_iterations,
            profile=spec.profile,
            replay=replay,
            on_evaluation=on_evaluation,
            on_iteration=_progress(names, parameters, len(replay)) if config.progress else None,
        )
    written = _write(run_dir, scene, fit, telemetry, config)
    journal.unlink(missing_ok=True)
    return fit, written


def journal_key(scene: dict, config: CalibrateConfig) -> dict:
    """What an interrupted calibration must share with its resume (JSON-normalised, as read back)."""
    digest = hashlib.sha256(Path(config.telemetry).read_bytes()).hexdigest()
    spec = dataclasses.asdict(dataclasses.replace(config.calibrate, resume=False))
    key = {
        "scene": scene,
        "telemetry_sha256": digest,
        "calibrate": spec,
        "solver": dataclasses.asdict(config.solver),
        "precision": config.precision,
    }
    return json.loads(json.dumps(key))


def _write(run_dir: Path, scene: dict, fit: Fit, telemetry, config: CalibrateConfig) -> list[Path]:
    parameters = config.calibrate.unknowns()
    paths = [run_dir / "scene.yaml", run_dir / "calibration.json", run_dir / "calibration.h5"]
    outputs.write_scene(paths[0], outputs.calibrated_scene(scene, fit, tuple(p.path for p in parameters)))
    outputs.write_summary(paths[1], outputs.summary(fit, telemetry, parameters, config.telemetry))
    outputs.write_h5(paths[2], fit, telemetry)
    if config.render:
        from twin.calibrate.pictures import write_pictures

        paths += write_pictures(run_dir, fit, telemetry)
    return paths


def _progress(names, parameters, replayed: int) -> Callable[[int, Evaluation], None]:
    """A line per iteration on stderr: its number, the best loss, |gradient| and values so far."""
    started = time.monotonic()
    said = f"resuming: {replayed} evaluations from the journal; " if replayed else ""
    print(f"twin calibrate: {said}compiling the gradient of the run (once)", file=sys.stderr, flush=True)

    def show(iteration: int, best: Evaluation) -> None:
        values = [np.exp(z) if p.scale == "log" else z for p, z in zip(parameters, best.z)]
        said = ", ".join(f"{n}={v:.5g}" for n, v in zip(names, values))
        print(
            f"twin calibrate: iteration {iteration}: loss {best.loss:.8g}, |gradient| "
            f"{np.linalg.norm(best.gradient):.3g} ({time.monotonic() - started:.0f} s): {said}",
            file=sys.stderr,
            flush=True,
        )

    return show


__all__ = ["journal_key", "run"]
