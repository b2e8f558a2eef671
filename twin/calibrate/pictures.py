"""The pictures of a calibration (docs/calibrate.md, "Files"), drawn off screen with matplotlib:

- `loss.png`      the loss and the gradient norm at the end of every iteration;
- `sensors.png`   every sensor's recorded samples and the fitted series with its ±2σ prediction band;
- `residuals.png` every sensor's residuals (fitted − recorded) over time, against ±2 noise σ.

Times in hours from the recording's start, values in each sensor's recorded unit.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # off screen: no display on the machines that calibrate
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from twin import units  # noqa: E402
from twin.calibrate.fit import Fit  # noqa: E402
from twin.run.atomic_files import atomic_path  # noqa: E402
from twin.telemetry.files import Telemetry  # noqa: E402

COLUMNS = 4
PANEL = (4.0, 2.4)  # inches per sensor panel
DPI = 110


def write_pictures(run_dir: Path, fit: Fit, telemetry: Telemetry) -> list[Path]:
    """loss.png, sensors.png and residuals.png in `run_dir`, each whole or not at all."""
    written = []
    for name, draw in (("loss.png", _loss), ("sensors.png", _sensors), ("residuals.png", _residuals)):
        figure = draw(fit, telemetry)
        path = run_dir / name
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format="png", dpi=DPI)
        plt.close(figure)
        written.append(path)
    return written


def _loss(fit: Fit, telemetry: Telemetry):
    ends = [fit.history[0], *(fit.history[n - 1] for n in fit.iterations)]  # the start, then each iteration
    figure, axes = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    steps = np.arange(len(ends))
    axes.plot(steps, [e.loss for e in ends], "o-", color="tab:blue")
    axes.set_xlabel("iteration")
    axes.set_ylabel("loss (negative log-likelihood)", color="tab:blue")
    norm = axes.twinx()
    norm.semilogy(steps, [max(float(np.linalg.norm(e.gradient)), 1e-300) for e in ends], "s--", color="tab:red")
    norm.set_ylabel("|gradient|", color="tab:red")
    axes.set_title(f"calibration: {len(fit.iterations)} iterations, {len(fit.history)} evaluations")
    return figure


def _series(fit: Fit, telemetry: Telemetry, name: str):
    """(t h, recorded, fitted, band σ, noise σ) of one sensor in its recorded unit."""
    unit = units.canonical(telemetry.sensors[name].unit)
    scale = units.UNITS[unit].scale
    mask = fit.observations.of(name)
    return (
        fit.observations.t[mask] / 3600.0,
        units.from_twin(fit.observations.value[mask], unit),
        units.from_twin(fit.prediction[mask], unit),
        fit.prediction_sd[mask] / scale,
        fit.noise_sd[name] / scale,
    )


def _panels(count: int):
    rows = max(1, math.ceil(count / COLUMNS))
    columns = min(COLUMNS, max(count, 1))
    figure, axes = plt.subplots(
        rows, columns, figsize=(PANEL[0] * columns, PANEL[1] * rows), squeeze=False, layout="constrained"
    )
    for extra in axes.flat[count:]:
        extra.set_visible(False)
    return figure, axes.flat


def _sensors(fit: Fit, telemetry: Telemetry):
    names = fit.observations.names
    figure, axes = _panels(len(names))
    for ax, name in zip(axes, names):
        t, recorded, fitted, band, _ = _series(fit, telemetry, name)
        order = np.argsort(t)
        ax.fill_between(t[order], (fitted - 2 * band)[order], (fitted + 2 * band)[order], color="tab:orange", alpha=0.3)
        ax.plot(t, recorded, ".", markersize=2, color="0.3", label="recorded")
        ax.plot(t[order], fitted[order], "-", color="tab:orange", linewidth=1.2, label="fitted ±2σ")
        ax.set_title(f"{name} [{units.symbol(telemetry.sensors[name].unit)}]", fontsize=9)
        ax.tick_params(labelsize=7)
    if names:
        axes[0].legend(fontsize=7)
    figure.supxlabel("time from the recording's start (h)")
    return figure


def _residuals(fit: Fit, telemetry: Telemetry):
    names = fit.observations.names
    figure, axes = _panels(len(names))
    for ax, name in zip(axes, names):
        t, recorded, fitted, _, noise = _series(fit, telemetry, name)
        ax.axhspan(-2 * noise, 2 * noise, color="tab:green", alpha=0.15)
        ax.axhline(0.0, color="0.5", linewidth=0.8)
        ax.plot(t, fitted - recorded, ".", markersize=2, color="tab:purple")
        ax.set_title(f"{name} [{units.symbol(telemetry.sensors[name].unit)}]", fontsize=9)
        ax.tick_params(labelsize=7)
    figure.supxlabel("time from the recording's start (h)")
    figure.supylabel("fitted − recorded (band: ±2 noise σ)")
    return figure


__all__ = ["write_pictures"]
