"""Small scenes and shared helpers for the tests: scene specs as plain dicts (what YAML loading gives,
for tests to copy and mutate), built scenes shared across a session, and thermal time loops."""

from __future__ import annotations

import copy
import functools
from typing import Any

import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from tolerances import DTYPES

import twin
from twin.kernels import arm as arm_mod
from twin.kernels import thermal as th

# ----------------------------------------------------------------------------------------- scene specs


def scene_2d() -> dict[str, Any]:
    """A 36 m × 12 m floor plan touching every section of the schema."""
    return {
        "name": "test_cell",
        "description": "oven, cooling hvac, one line with two robots, a second line without",
        "grid": {"size": [36.0, 12.0], "spacing": 0.5, "thickness": 4.0},
        "initial_temperature": 18,  # an int is accepted where a number is expected
        "materials": {
            "concrete": {"k": 1.4, "rho_c": 2.0e6},
            "steel": {"k": 45.0, "rho_c": 3.6e6},
            "air": {"k": 0.026, "rho_c": 1200.0},
        },
        "background": {"material": "air"},
        "zones": {
            "oven_wall": {"material": "steel", "box": [[10.0, 2.0], [14.0, 2.5]]},
            "pillar": {"material": "concrete", "k": 1.8, "polygon": [[20, 5], [21, 5], [21, 6], [20, 6]]},
            "insulation": {"k": 0.04, "rho_c": 5.0e4, "box": [[0.0, 0.0], [36.0, 0.5]]},
        },
        "boundaries": {
            "x_min": {"type": "dirichlet", "schedule": {"time": [0, 3600, 7200], "value": [15.0, 20.0, 18.0]}},
            "x_max": {"type": "robin", "h": 10.0, "temperature": 12.0},
            "y_min": {"type": "neumann", "flux": -5.0},
            "y_max": {"type": "radiation", "emissivity": 0.9, "temperature": 5.0},
        },
        "ambient": {"temperature": 15.0, "h": 2.5},
        "heaters": {
            "oven_1": {
                "box": [[10.0, 3.0], [14.0, 6.0]],
                "power": 40000.0,
                "setpoint": 120.0,
                "sensor": [12.0, 4.5],
                "efficiency": 0.95,
            },
        },
        "hvac": {"ahu_1": {"box": [[30.0, 8.0], [32.0, 10.0]], "supply_temperature": 16.0, "airflow": 2.5}},
        "conveyors": {
            "main": {
                "path": [[2.0, 4.0], [30.0, 4.0], [30.0, 10.0]],
                "speed": 0.05,
                "parts": {
                    "spacing": 1.2,
                    "mass": 2.5,
                    "c_p": 900.0,
                    "area": 0.3,
                    "h": 15.0,
                    "cure": {"A": 1.0e5, "Ea": 6.0e4},
                },
                "segments": {  # path length 34 m: preheat 12 m, oven the remaining 22 m
                    "preheat": {
                        "length": 12,
                        "speed": 0.04,
                        "mass_per_length": 8.0,
                        "rolling_resistance": 0.02,
                        "wear": 0.1,
                        "wear_rate": 0.01,
                    },
                    "oven": {
                        "viscous_drag": 40.0,
                        "motor": {
                            "max_force": 3000.0,
                            "max_speed": 0.2,
                            "kp": 2000.0,
                            "ki": 1000.0,
                            "current_per_force": 1.5e-3,
                            "no_load_current": 0.8,
                            "resistance": 1.5,
                            "fixed_loss": 80.0,
                            "position": [30.5, 10.5],
                        },
                    },
                },
            },
            "packing": {
                "path": [[2.0, 11.0], [20.0, 11.0]],
                "speed": 0.1,
                "parts": {"spacing": 2.0, "mass": 1.0, "c_p": 500.0, "area": 0.1, "h": 10.0},
            },
        },
        "robots": {
            "r1": {"base": [20.0, 5.0], "conveyor": "main", "pick_at": 18.0},
            "r2": {"base": [24.0, 5.0], "conveyor": "main", "pick_at": 22.0},
        },
        "sensors": {
            "tc_1": {"kind": "air_temperature", "period": 10.0, "position": [12.0, 4.0]},
            "tc_2": {"kind": "air_temperature", "period": 10.0, "position": [30.0, 9.0], "unit": "K"},
            "part_r1": {"kind": "part_temperature", "period": 5.0, "target": "r1"},
            "cure_r2": {"kind": "cure", "period": 5.0, "target": "r2", "unit": "%"},
            "packing_out": {"kind": "part_temperature", "period": 5.0, "target": "packing"},
            "oven_power": {"kind": "heater_power", "period": 1.0, "target": "oven_1", "unit": "kW"},
            "preheat_speed": {"kind": "belt_speed", "period": 1.0, "target": "main.preheat"},
            "oven_current": {"kind": "motor_current", "period": 1.0, "target": "main.oven"},
            "packing_power": {"kind": "motor_power", "period": 1.0, "target": "packing", "unit": "kW"},
        },
    }


def scene_3d() -> dict[str, Any]:
    """A 20 m × 10 m × 6 m hall with per-axis spacing, z faces, an extruded polygon and a two-segment belt."""
    return {
        "name": "hall_3d",
        "grid": {"size": [20.0, 10.0, 6.0], "spacing": [1.0, 1.0, 0.5]},
        "background": {"k": 0.026, "rho_c": 1200.0},
        "zones": {
            "wall": {"k": 1.4, "rho_c": 2.0e6, "polygon": [[5, 0], [6, 0], [6, 10], [5, 10]], "z_range": [0, 4]},
            "slab": {"k": 1.4, "rho_c": 2.0e6, "box": [[0, 0, 0], [20, 10, 0.5]]},
        },
        "boundaries": {
            "z_min": {"type": "dirichlet", "temperature": 14.0},
            "z_max": {"type": "robin", "h": 5.0, "temperature": 0.0},
        },
        "heaters": {"h1": {"box": [[1, 1, 0.5], [2, 2, 2]], "power": 5000, "setpoint": 60, "sensor": [1.5, 1.5, 1.0]}},
        "conveyors": {
            "line": {
                "path": [[1, 5, 1], [19, 5, 1]],
                "speed": 0.2,
                "segments": {  # 18 m; the last gives its length too, so the two must add up
                    "infeed": {"length": 6.0, "motor": {"max_force": 800.0, "position": [7.0, 5.5, 0.5]}},
                    "outfeed": {"length": 12, "speed": 0.3, "motor": {"max_speed": 0.4}},
                },
            }
        },
        "sensors": {
            "air": {"kind": "air_temperature", "period": 60, "position": [10, 5, 3]},
            "outfeed_speed": {"kind": "belt_speed", "period": 2.0, "target": "line.outfeed", "unit": "m/min"},
            "infeed_current": {"kind": "motor_current", "period": 2.0, "target": "line.infeed", "unit": "A"},
            "outfeed_power": {"kind": "motor_power", "period": 2.0, "target": "line.outfeed"},
        },
    }


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
                "parts": {
                    "spacing": spacing,
                    "mass": 2.0,
                    "c_p": 500.0,
                    "area": 0.1,
                    "h": 10.0,
                    "initial_temperature": T0,
                },
            }
        },
    }


def one_station_line(spacing: float, service: float, belt: float) -> twin.Scene:
    """A 3.8 m belt at `belt` m/s, parts every `spacing` m (0.02 m long, queued 0.02 m apart) through one
    station 1 m in serving `service` s with a buffer of 5."""
    return twin.scene_from_mapping(
        {
            "name": "one_station",
            "grid": {"size": [4.0, 1.0], "spacing": 0.5},
            "background": {"k": 1.0, "rho_c": 1200.0},
            "conveyors": {
                "line": {
                    "path": [[0.1, 0.5], [3.9, 0.5]],
                    "speed": belt,
                    "segments": {"belt": {"motor": {"max_speed": 2.0}}},
                    "parts": {
                        "spacing": spacing,
                        "mass": 1.0,
                        "c_p": 500.0,
                        "area": 0.01,
                        "h": 5.0,
                        "length": 0.02,
                        "min_gap": 0.02,
                    },
                    "stations": {"press": {"at": 1.0, "service_time": service, "buffer": 5}},
                }
            },
        }
    )


def puma560(dtype, modified: bool = False) -> arm_mod.Arm:
    """The PUMA 560 as in Corke's Robotics Toolbox (standard DH, Armstrong, Khatib & Burdick 1986 masses
    and inertias, gear ratios made positive), with friction; `modified` gives the same arm in Craig's
    convention, its link frames moved to the joints and the inertial data with them."""
    dh = np.array(
        [
            [0.0, np.pi / 2, 0.0, 0.0],
            [0.4318, 0.0, 0.0, 0.0],
            [0.0203, -np.pi / 2, 0.15005, 0.0],
            [0.0, np.pi / 2, 0.4318, 0.0],
            [0.0, -np.pi / 2, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
        ]
    )
    mass = np.array([1.0, 17.4, 4.8, 0.82, 0.34, 0.09])  # link 1's mass does not enter; 1 kg tests it does no harm
    com = np.array(
        [[0, 0, 0], [-0.3638, 0.006, 0.2275], [-0.0203, -0.0141, 0.070], [0, 0.019, 0], [0, 0, 0], [0, 0, 0.032]]
    )
    moments = np.array(
        [
            [0, 0.35, 0],
            [0.13, 0.524, 0.539],
            [0.066, 0.086, 0.0125],
            [1.8e-3, 1.3e-3, 1.8e-3],
            [0.3e-3, 0.4e-3, 0.3e-3],
            [0.15e-3, 0.15e-3, 0.04e-3],
        ]
    )
    inertia = np.stack([np.diag(m) for m in moments])
    inertia[2, 0, 1] = inertia[2, 1, 0] = 0.004  # a product of inertia, so that full tensors are exercised
    gear = np.array([62.6111, 107.815, 53.7063, 76.0364, 71.923, 76.686])
    rotor = np.array([200e-6, 200e-6, 200e-6, 33e-6, 33e-6, 33e-6])
    viscous = np.array([1.48e-3, 0.817e-3, 1.38e-3, 71.2e-6, 82.6e-6, 36.7e-6]) * gear**2
    coulomb = np.array([0.395, 0.126, 0.132, 11.2e-3, 9.26e-3, 3.96e-3]) * gear
    if modified:
        dh, com, inertia = _to_modified(dh, com, inertia)
    return arm_mod.Arm(
        *(jnp.asarray(x, dtype) for x in (dh, mass, com, inertia, gear, rotor, viscous, coulomb)), modified=modified
    )


def _rot_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _to_modified(dh, com, inertia):
    """Craig's frame i is the standard frame i−1 turned by θᵢ and moved dᵢ: standard frame i is it
    followed by Tx(aᵢ)·Rx(αᵢ); rows take the previous row's a and α (the base's: 0)."""
    rows = np.column_stack([np.r_[0.0, dh[:-1, 0]], np.r_[0.0, dh[:-1, 1]], dh[:, 2], dh[:, 3]])
    R = np.stack([_rot_x(alpha) for alpha in dh[:, 1]])
    shift = np.column_stack([dh[:, 0], np.zeros(len(dh)), np.zeros(len(dh))])
    return rows, shift + np.einsum("nij,nj->ni", R, com), R @ inertia @ np.swapaxes(R, 1, 2)


def small_line() -> dict:
    """Every coupled piece on a coarse 2D grid: zones, all face types, heater, HVAC, parts, robots."""
    return copy.deepcopy(
        {
            "name": "small_line",
            "grid": {"size": [8.0, 4.0], "spacing": 0.5, "thickness": 2.0},
            "initial_temperature": 20.0,
            "materials": {"air": {"k": 1.5, "rho_c": 1200.0}, "panel": {"k": 0.2, "rho_c": 5.0e4}},
            "background": {"material": "air"},
            "zones": {
                "oven": {"material": "panel", "box": [[2.0, 1.0], [4.0, 3.0]]},
                "chamber": {"k": 3.0, "rho_c": 1200.0, "box": [[2.5, 1.5], [3.5, 2.5]]},
            },
            "ambient": {"temperature": 15.0, "h": 0.5},
            "boundaries": {
                "x_min": {"type": "robin", "h": 6.0, "temperature": 5.0},
                "x_max": {"type": "dirichlet", "schedule": {"time": [0.0, 100.0], "value": [18.0, 25.0]}},
                "y_min": {"type": "neumann", "flux": 20.0},
                "y_max": {"type": "radiation", "emissivity": 0.8, "temperature": 0.0},
            },
            "heaters": {
                "h1": {
                    "box": [[2.5, 1.5], [3.5, 2.5]],
                    "power": 3000.0,
                    "setpoint": 60.0,
                    "sensor": [3.0, 2.25],
                    "efficiency": 0.9,
                }
            },
            "hvac": {"cool": {"box": [[5.0, 0.5], [7.0, 3.5]], "supply_temperature": 12.0, "airflow": 0.05}},
            "conveyors": {
                "belt": {
                    "path": [[0.25, 2.0], [5.0, 2.0], [7.75, 3.0]],
                    "speed": 0.093,
                    "parts": {
                        "spacing": 1.0,
                        "mass": 1.5,
                        "c_p": 900.0,
                        "area": 0.2,
                        "h": 25.0,
                        "initial_temperature": 20.0,
                        "cure": {"A": 1.0e6, "Ea": 5.0e4, "n": 1.5},
                    },
                }
            },
            "robots": {
                "r1": {"base": [6.0, 3.5], "conveyor": "belt", "pick_at": 6.0},
                "r2": {"base": [7.0, 0.5], "conveyor": "belt", "pick_at": 7.0},
            },
            "sensors": {
                "tc": {"kind": "air_temperature", "position": [3.0, 2.0], "period": 5.0},
                "p1": {"kind": "part_temperature", "target": "r1", "period": 5.0},
                "c1": {"kind": "cure", "target": "r2", "period": 5.0, "unit": "%"},
                "w": {"kind": "heater_power", "target": "h1", "period": 5.0, "unit": "kW"},
            },
        }
    )


# ------------------------------------------------------------------------------ built scenes, shared


@pytest.fixture(scope="session")
def small_line_scene() -> twin.Scene:
    """small_line() as a checked scene, built once per session (scenes are immutable)."""
    return twin.scene_from_mapping(small_line())


@functools.cache
def built_small_line(precision: str):
    """(layout, params, state) of small_line() in 'float32' or 'float64', built once per session."""
    return twin.build(twin.scene_from_mapping(small_line()), DTYPES[precision])


# -------------------------------------------------------------------------------- thermal time loops


def march(step, T, n: int):
    """n steps of `step` inside one compiled loop."""
    return lax.fori_loop(0, n, lambda i, T: step(T), T)


def stepper(method: str, coeffs, bcs, source, dt, tol=1e-12):
    """One step T -> T of `method` ('explicit', 'backward_euler', 'crank_nicolson'); `tol` is CG's
    relative residual for the implicit ones."""
    if method == "explicit":
        return lambda T: th.explicit_step(T, coeffs, bcs, source, dt)
    theta = {"backward_euler": 1.0, "crank_nicolson": 0.5}[method]
    return lambda T: th.implicit_step(T, coeffs, bcs, source, dt, theta=theta, tol=tol)
