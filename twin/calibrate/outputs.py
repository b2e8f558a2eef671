"""What a calibration leaves in its run directory (docs/calibrate.md, "Files"):

- `scene.yaml`        the scene with the estimates in place, for `twin simulate scene=PATH`;
- `calibration.json`  estimates, σ, 95 % intervals, correlations, identifiability, fit quality per sensor;
- `calibration.h5`    every evaluation (values, loss, gradient), the Hessian and covariance at the
                      optimum, the profiles asked for, and per sensor the recorded, fitted and band series;
- `calibration_journal.json` while it runs: every evaluation so far and the best values, written
                      atomically after each; read back by `calibrate.resume=true`, removed at the end.

Sensor values and statistics are in each sensor's recorded unit.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np

from twin import units
from twin.calibrate.fit import Evaluation, Fit
from twin.calibrate.unknowns import set_at
from twin.errors import TwinInputError
from twin.run.atomic_files import atomic_h5, atomic_path
from twin.scene.files import dump_yaml
from twin.telemetry.files import Telemetry

JOURNAL = "calibration_journal.json"
Z95 = 1.959963984540054  # two-sided 95 % of the standard normal


def write_journal(path: Path, key: dict, history: list[Evaluation], names: tuple[str, ...]) -> None:
    """The evaluations so far and the best values (by name), whole or not at all."""
    best = min(history, key=lambda e: e.loss)
    data = {
        "key": key,
        "evaluations": [{"z": e.z.tolist(), "loss": e.loss, "gradient": e.gradient.tolist()} for e in history],
        "best": {"loss": best.loss, "z": dict(zip(names, best.z.tolist()))},
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data) + "\n")  # floats as repr: each read back exactly


def read_journal(path: Path, key: dict) -> list[Evaluation]:
    """The evaluations of the interrupted calibration in `path`, refused if it fitted something else."""
    try:
        data = json.loads(path.read_text())
        evaluations = [
            Evaluation(np.asarray(e["z"]), float(e["loss"]), np.asarray(e["gradient"])) for e in data["evaluations"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise TwinInputError(str(path), None, f"cannot be read as a calibration journal: {err}") from None
    if data.get("key") != key:
        raise TwinInputError(
            "calibrate.resume",
            True,
            f"{path} is another calibration's (its scene, telemetry or calibrate keys differ): resume it with "
            "its own config, or start afresh in a new run directory",
        )
    return evaluations


def calibrated_scene(scene: dict, fit: Fit, paths: tuple[str, ...]) -> dict:
    """The scene mapping with every estimate at its key path."""
    out = copy.deepcopy(scene)
    for path, value in zip(paths, fit.estimate):
        set_at(out, path, float(value))
    return out


def write_scene(path: Path, scene: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text("# calibrated by twin calibrate (calibration.json beside it)\n" + dump_yaml(scene))


def summary(fit: Fit, telemetry: Telemetry, parameters, telemetry_path: str) -> dict:
    """What calibration.json holds."""
    params = {}
    for p, estimate, sd, z_sd in zip(parameters, fit.estimate, fit.sd, np.sqrt(np.diag(fit.covariance))):
        if p.scale == "log":
            low, high = estimate * math.exp(-Z95 * z_sd), estimate * math.exp(Z95 * z_sd)
        else:
            low, high = estimate - Z95 * sd, estimate + Z95 * sd
        params[p.label] = {
            "path": p.path,
            "estimate": float(estimate),
            "sd": float(sd),
            "interval_95": [float(low), float(high)],
            "scale": p.scale,
            "bounds": [p.lower, p.upper],
            "at_bound": p.label in fit.at_bound,
        }
        if p.label in fit.profiles:
            params[p.label]["profile_interval_95"] = list(fit.profiles[p.label].interval_95)
    return _finite(
        {
            "telemetry": telemetry_path,
            "loss": fit.loss,
            "converged": fit.converged,
            "message": fit.message,
            "iterations": len(fit.iterations),
            "evaluations": len(fit.history),
            "parameters": params,
            "correlation": {"names": list(fit.names), "matrix": fit.correlation.tolist()},
            "unidentifiable": list(fit.unidentifiable),
            "sensors": {name: _quality(fit, telemetry, name) for name in fit.observations.names},
        }
    )


def _quality(fit: Fit, telemetry: Telemetry, name: str) -> dict:
    """RMSE, bias (fitted − recorded) and R² of one sensor, in its recorded unit."""
    unit = telemetry.sensors[name].unit
    scale = units.UNITS[units.canonical(unit)].scale
    mask = fit.observations.of(name)
    recorded, fitted = fit.observations.value[mask], fit.prediction[mask]
    residual = (fitted - recorded) / scale
    spread = np.sum((recorded - recorded.mean()) ** 2) / scale**2
    return {
        "unit": unit,
        "samples": int(mask.sum()),
        "noise_sd": fit.noise_sd[name] / scale,
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "bias": float(np.mean(residual)),
        "r2": float(1.0 - np.sum(residual**2) / spread) if spread > 0 else None,
    }


def write_summary(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")


def write_h5(path: Path, fit: Fit, telemetry: Telemetry) -> None:
    """calibration.h5: the evaluations, the optimum, and the series behind the pictures."""
    with atomic_h5(path) as f:
        f.attrs["names"] = list(fit.names)
        g = f.create_group("evaluations")
        g.create_dataset("z", data=np.asarray([e.z for e in fit.history]))
        g.create_dataset("loss", data=np.asarray([e.loss for e in fit.history]))
        g.create_dataset("gradient", data=np.asarray([e.gradient for e in fit.history]))
        g.create_dataset("iteration_end", data=np.asarray(fit.iterations, np.int64))
        g.attrs["z"] = "the optimiser's scale: ln(value) for log-scaled parameters, the value for lin"
        o = f.create_group("optimum")
        for name in ("estimate", "sd", "hessian", "covariance", "correlation"):
            o.create_dataset(name, data=np.asarray(getattr(fit, name), np.float64))
        o.attrs["hessian"] = "of the loss in the optimiser's scale; covariance = its inverse"
        for name, profile in fit.profiles.items():
            one = f.create_group(f"profiles/{name}")
            one.create_dataset("value", data=profile.values)
            one.create_dataset("loss", data=profile.loss)
            one.attrs["interval_95"] = [np.nan if x is None else x for x in profile.interval_95]
        s = f.create_group("sensors")
        for name in fit.observations.names:
            unit = telemetry.sensors[name].unit
            scale = units.UNITS[units.canonical(unit)].scale
            mask = fit.observations.of(name)
            one = s.create_group(name)
            one.attrs["unit"] = unit
            one.create_dataset("t", data=fit.observations.t[mask])
            one.create_dataset("recorded", data=units.from_twin(fit.observations.value[mask], units.canonical(unit)))
            one.create_dataset("fitted", data=units.from_twin(fit.prediction[mask], units.canonical(unit)))
            one.create_dataset("band_sd", data=fit.prediction_sd[mask] / scale)


def _finite(value):
    """JSON-safe: non-finite numbers (a correlation of a parameter the data do not see) as null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
