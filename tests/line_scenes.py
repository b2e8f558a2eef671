"""Small scenes for tests, as plain mappings (what a YAML file would hold)."""

from __future__ import annotations

import copy


def belt_in_still_air(T_air=20.0, T0=80.0, speed=0.1, spacing=100.0) -> dict:
    """A 20 m belt through air of enormous heat capacity (it stays at T_air): one part at a time."""
    return {
        "name": "belt_in_still_air",
        "grid": {"size": [20.0, 2.0], "spacing": 0.5, "thickness": 1.0},
        "initial_temperature": T_air,
        "background": {"k": 1.0e-3, "rho_c": 1.0e15},
        "conveyors": {
            "belt": {
                "path": [[0.25, 1.0], [19.75, 1.0]],
                "speed": speed,
                "parts": {"spacing": spacing, "mass": 2.0, "c_p": 500.0, "area": 0.1, "h": 10.0,
                          "initial_temperature": T0},
            }
        },
    }


def small_line() -> dict:
    """Every coupled piece on a coarse 2D grid: zones, all face types, heater, HVAC, parts, robots."""
    return copy.deepcopy({
        "name": "small_line",
        "grid": {"size": [8.0, 4.0], "spacing": 0.5, "thickness": 2.0},
        "initial_temperature": 20.0,
        "materials": {"air": {"k": 1.5, "rho_c": 1200.0}, "panel": {"k": 0.2, "rho_c": 5.0e4}},
        "background": {"material": "air"},
        "zones": {"oven": {"material": "panel", "box": [[2.0, 1.0], [4.0, 3.0]]},
                  "chamber": {"k": 3.0, "rho_c": 1200.0, "box": [[2.5, 1.5], [3.5, 2.5]]}},
        "ambient": {"temperature": 15.0, "h": 0.5},
        "boundaries": {
            "x_min": {"type": "robin", "h": 6.0, "temperature": 5.0},
            "x_max": {"type": "dirichlet", "schedule": {"time": [0.0, 100.0], "value": [18.0, 25.0]}},
            "y_min": {"type": "neumann", "flux": 20.0},
            "y_max": {"type": "radiation", "emissivity": 0.8, "temperature": 0.0},
        },
        "heaters": {"h1": {"box": [[2.5, 1.5], [3.5, 2.5]], "power": 3000.0, "setpoint": 60.0,
                           "sensor": [3.0, 2.25], "efficiency": 0.9}},
        "hvac": {"cool": {"box": [[5.0, 0.5], [7.0, 3.5]], "supply_temperature": 12.0, "airflow": 0.05}},
        "conveyors": {"belt": {"path": [[0.25, 2.0], [5.0, 2.0], [7.75, 3.0]], "speed": 0.093,
                               "parts": {"spacing": 1.0, "mass": 1.5, "c_p": 900.0, "area": 0.2, "h": 25.0,
                                         "initial_temperature": 20.0, "cure": {"A": 1.0e6, "Ea": 5.0e4, "n": 1.5}}}},
        "robots": {"r1": {"base": [6.0, 3.5], "conveyor": "belt", "pick_at": 6.0},
                   "r2": {"base": [7.0, 0.5], "conveyor": "belt", "pick_at": 7.0}},
        "sensors": {"tc": {"kind": "air_temperature", "position": [3.0, 2.0], "period": 5.0},
                    "p1": {"kind": "part_temperature", "target": "r1", "period": 5.0},
                    "c1": {"kind": "cure", "target": "r2", "period": 5.0, "unit": "%"},
                    "w": {"kind": "heater_power", "target": "h1", "period": 5.0, "unit": "kW"}},
    })
