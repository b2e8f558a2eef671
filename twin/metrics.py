"""Scalar metrics of a run (throughput, energy, parts at pick) and sensor unit conversion."""

from __future__ import annotations

import datetime

import numpy as np

from twin import units
from twin.line import belts, robots
from twin.line.picking import steady_throughput
from twin.model import Layout, Params, State

JOULES_PER_KWH = 3.6e6


def to_unit(values: np.ndarray, unit: str) -> np.ndarray:
    """Values in the twin's units (°C, W, fraction, m/s, A; parts, parts/h; h of life) in the sensor's
    configured unit (twin.units)."""
    return units.from_twin(values, unit)


def summarise(layout: Layout, params: Params, state: State, duration: float, robot_duties: tuple = ()) -> dict:
    """metrics.json content: every number with its unit in the key name; `robot_duties` the arm robots'
    (twin.step.Fixed.robots)."""
    tallies = state.tallies
    n_in, n_out = int(np.sum(tallies.n_in)), int(np.sum(tallies.n_out))
    on_belt = int(np.sum(state.parts.alive))
    if n_in != n_out + on_belt:  # slots make this impossible; a failure here is a bug, not bad input
        raise AssertionError(f"parts not conserved: in {n_in} != out {n_out} + on belt {on_belt}")
    hours = duration / 3600.0
    energy = np.asarray(state.heater_energy, float) / JOULES_PER_KWH
    metrics = {
        "duration_h": hours,
        "unconverged_steps": int(state.status.unconverged_steps),
        "parts_in": n_in,
        "parts_out": n_out,
        "parts_on_belt": on_belt,
        "throughput_parts_per_h": n_out / hours,
        "steady_throughput_parts_per_h": _line_steady_throughput(tallies),
        "heater_energy_kWh": float(energy.sum()),
        "heater_energy_per_part_kWh": float(energy.sum()) / n_out if n_out else None,
        "heater_energy_by_heater_kWh": dict(zip(layout.heater_names, map(float, energy))),
        "conveyor_energy_kWh": float(np.sum(state.belts.energy)) / JOULES_PER_KWH,
        "conveyor_energy_per_part_kWh": float(np.sum(state.belts.energy)) / JOULES_PER_KWH / n_out if n_out else None,
        "by_segment": {
            s.name: {
                "energy_kWh": float(state.belts.energy[g]) / JOULES_PER_KWH,
                "mean_power_W": float(state.belts.energy[g]) / duration,
                "mean_current_A": float(state.belts.charge[g]) / duration,
                "final_speed_m_per_s": float(state.belts.v[g]),
            }
            for g, s in enumerate(layout.segments)
        },
        "part_temperature_at_pick_degC": _stats(np.asarray(tallies.picked_T, float), n_out),
        "cure_at_pick": _stats(np.asarray(tallies.picked_alpha, float), n_out),
        "by_conveyor": {c.name: _conveyor(tallies, i, duration) for i, c in enumerate(layout.conveyors)},
        "by_station": {
            f"{c.name}.{name}": {
                "blocked_s": float(tallies.blocked[i, k]),
                "starved_s": float(tallies.starved[i, k]),
                "blocked_fraction": float(tallies.blocked[i, k]) / duration,
                "starved_fraction": float(tallies.starved[i, k]) / duration,
            }
            for i, c in enumerate(layout.conveyors)
            for k, name in enumerate(c.station_names)
        },
    }
    now = datetime.datetime.now(datetime.UTC)
    if layout.segments:
        metrics["bearings"] = _bearings(layout, params, state, duration, now)
    if layout.robot_arms:
        metrics["robots"] = robots.report(layout, params, robot_duties, tallies, state.T, now)
    return metrics


def _bearings(layout: Layout, params: Params, state: State, duration: float, now: datetime.datetime) -> dict:
    """Per segment: its roller bearings' life at the run's mean duty (ISO 281 Lnm), the life used before
    and after the run, what is left at that duty and when it runs out, and the drag factor it leaves."""
    this_run = np.asarray(state.belts.bearing_use, float)
    used = np.asarray(belts.bearing_use(params, state.belts), float)
    drag = np.asarray(1.0 + belts.worn(params, state.belts.bearing_use).wear + params.belts.wear_rate * duration, float)
    air = np.asarray(belts.segment_air(layout, state.T), float)
    out = {}
    for g, s in enumerate(layout.segments):
        rate = this_run[g] / (duration / 3600.0)  # life per hour
        life = 1.0 / rate if rate > 0 else float("inf")
        remaining = max(1.0 - used[g], 0.0) * life
        out[s.name] = {
            "life_h": life,
            "used_before": float(params.bearings.used_before[g]),
            "used_this_run": float(this_run[g]),
            "used": float(used[g]),
            "remaining_life_h": remaining,
            "limit_date": robots.date_after(now, remaining) if np.isfinite(remaining) else None,
            "drag_factor": float(drag[g]),
            "air_temperature_degC": float(air[g]),
        }
    return out


def summarise_steady(layout: Layout, params: Params, state: State, info: dict) -> dict:
    """metrics.json of a steady solve: how it converged, and the steady powers."""
    from twin.line.belts import instruments

    heater = np.asarray(state.heater_output * params.heater_power, float)
    current, power = (np.asarray(x, float) for x in instruments(params, state.belts))
    return {
        "solver": "steady",
        "steady": info,
        "heater_power_W": float(heater.sum()),
        "heater_power_by_heater_W": dict(zip(layout.heater_names, map(float, heater))),
        "heater_output_by_heater": dict(zip(layout.heater_names, map(float, np.asarray(state.heater_output)))),
        "conveyor_power_W": float(power.sum()),
        "by_segment": {
            s.name: {
                "power_W": float(power[g]),
                "current_A": float(current[g]),
                "speed_m_per_s": float(state.belts.v[g]),
            }
            for g, s in enumerate(layout.segments)
        },
    }


def _conveyor(tallies, i: int, duration: float) -> dict:
    """Per-conveyor flow: parts out, throughput over the run and between first and last exit, WIP."""
    n_out = int(tallies.n_out[i])
    first = float(tallies.exit_times[i, 0])
    steady = float(steady_throughput(tallies)[i]) * 3600.0
    return {
        "parts_out": n_out,
        "throughput_parts_per_h": n_out / (duration / 3600.0),
        "steady_throughput_parts_per_h": None if np.isnan(steady) else steady,
        "first_exit_s": first if n_out else None,
        "mean_work_in_progress": float(tallies.wip[i]) / duration,
    }


def _line_steady_throughput(tallies) -> float | None:
    """Σ over conveyors of the parts/h between first and last exit; None until each has two exits."""
    rates = np.asarray(steady_throughput(tallies), float) * 3600.0
    return None if np.any(np.isnan(rates)) else float(rates.sum())


def _stats(acc: np.ndarray, n_out: int) -> dict | None:
    """mean/min/max over all conveyors from per-conveyor (sum, min, max) accumulators."""
    if n_out == 0:
        return None
    return {"mean": float(acc[:, 0].sum() / n_out), "min": float(acc[:, 1].min()), "max": float(acc[:, 2].max())}
