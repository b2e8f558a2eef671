"""Tolerances of the line tests, named once and keyed by precision (as jax-md's test_util does).

Each entry is set at the error measured on this suite's cases times a margin, written beside it, so
that a regression well below any looser acceptance bound still fails.
"""

from __future__ import annotations

import jax.numpy as jnp

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}

F32, F64 = "float32", "float64"

TOLERANCES: dict[str, dict[str, float]] = {
    # Relative errors of line laws (tests/test_stations.py). float32 carries times of ~1e4 s at an ulp of
    # ~1e-3 s, so its cycle times are good to ~1e-5.
    "bottleneck_throughput": {F32: 1e-5, F64: 5e-9},  # vs 1/(t_max + close-up time); measured 2.5e-6, 1.1e-9
    "first_exit_time": {F32: 2e-6, F64: 2e-7},  # measured 3.7e-7, 4.9e-8
    # busy + blocked + starved = run time, per station, relative to the run: float32 sums 36,000 step
    # increments of ~0.2 s into ~7,000 s; measured 8e-5, 2.5e-13.
    "station_time_balance": {F32: 3e-4, F64: 1e-11},
    "infeed_throughput": {F32: 5e-5, F64: 5e-8},  # measured 6.9e-6, 8.1e-9
    # Blocked and starved seconds against their event-by-event values, relative to the run (5,400 s):
    # blocked upstream of the bottleneck, measured 2.2e-5 (0.12 s), 4.4e-14; starved on the infeed-bound
    # line, measured 9.3e-5 (0.50 s), 1.6e-8 (the parts enter 8.4e-5 s late: the belt dips as each lands).
    "blocked_time": {F32: 2e-4, F64: 5e-13},
    "starved_time": {F32: 5e-4, F64: 2e-7},
    # Exit, blocked and starved times at dt and 4·dt, relative to the run: measured 7.4e-5 (float32
    # sums of 27,000 and 6,750 step increments), 5.6e-14.
    "dt_independence": {F32: 4e-4, F64: 5e-13},
    "pick_throughput": {F32: 1e-4, F64: 1e-4},  # measured 2.5e-5, 3.1e-5: the belt's speed dips under load
    # AD vs float64 central differences of throughput in belt speed: the differences cross part-entry
    # events (they move between 9e-5 and 3e-4 with the step); measured 9.8e-5 (float32 AD), 9.1e-5.
    "throughput_gradient": {F32: 2e-4, F64: 2e-4},
    # The same gradient against d(v/180 m)/dv: measured 3.6e-5, 3.1e-5 (the belt dips as each part lands).
    "infeed_speed_law": {F32: 1e-4, F64: 1e-4},
    # The smooth throughput as an objective (tests/test_throughput_objective.py): its value against the
    # flow law, relative: measured 1.5e-6, 8e-10. Its elasticities (d ln rate / d ln parameter), absolute,
    # against the law: measured 1.3e-5 both (service time on the station-bound line: the law is of
    # continuous time, the run interpolates each event within its 0.8 s step); against float64 secants
    # over 0.1 % and 1 %, beyond the secant's own curvature (change², see the test): measured 2.7e-5, 2.6e-5.
    "throughput_objective": {F32: 1e-5, F64: 5e-9},
    "throughput_elasticity_law": {F32: 5e-5, F64: 5e-5},
    "throughput_elasticity_secant": {F32: 1e-4, F64: 1e-4},
    # Arm inverse dynamics (tests/test_arm_dynamics.py), max over joints and random states relative to
    # the largest torque: the two-link arm against its closed form, measured 5.9e-7, 5.3e-16; the PUMA
    # 560 against Lagrange's equations from its energies (also: gravity against the static moments, the
    # flange of both conventions, absolute m), measured 1.7e-7, 3.4e-16; standard against modified DH,
    # measured 4.4e-7, 4.3e-16.
    "two_link_torque": {F32: 3e-6, F64: 5e-15},
    "six_axis_torque": {F32: 1e-6, F64: 3e-15},
    "dh_conventions": {F32: 2e-6, F64: 4e-15},
    # The Warp recursion (moments summed about the base origin) against the JAX one (about each joint),
    # PUMA 560 with a payload, standard and modified DH (tests/test_arm_warp.py): measured 1.4e-7,
    # 3.8e-16 (modified; standard 1.1e-7, 2.1e-16).
    "arm_backends": {F32: 1e-6, F64: 3e-15},
    # Reducer life formulas (tests/test_reducer_life.py) against the same formula in float64 NumPy and
    # the exact scaling laws, relative: measured 4.8e-7, 1.1e-15.
    "reducer_formula": {F32: 3e-6, F64: 1e-14},
    # Parts on a belt through still air (tests/test_parts_on_belt.py), relative. The law holds up to the
    # belt's speed dip as the part lands (the exit is 1.5 ms late of L/v).
    "belt_law": {F32: 1e-5, F64: 3e-6},  # measured 2.9e-6, 1.06e-6
    "pick_temperature_halving_dt": {F32: 5e-6, F64: 1e-12},  # measured 1.1e-6, 3e-15
    "cure_at_pick": {F32: 1e-5, F64: 5e-6},  # vs an adaptive ODE solve; measured 1.4e-6, 1.7e-6
    # m a part lags v·t behind while the belt dips as it lands (1.4866e-4 m in float64), off that lag:
    # measured 3.0e-6 m, 1.0e-9 m.
    "landing_lag_m": {F32: 3e-5, F64: 1e-8},
    # Gaps between parts carried from a fast segment onto one four times slower, relative to a quarter of
    # the spacing: measured 1.2e-4, 2.9e-4 (float32 since a part spanning the transfer loads both belts
    # by its share of length on each: the gaps alternate ±1.5e-5 m as the two belts dip in turn).
    "slowed_spacing": {F32: 5e-4, F64: 1e-3},
    # Material flow read back from the files (tests/test_material_flow.py), relative: Little's law,
    # measured 1.7e-7, 3.3e-16; the mean pick temperature of the per-part table against the metric,
    # measured 1.2e-7, 0.
    "littles_law": {F32: 2e-6, F64: 5e-15},
    "pick_temperature_mean": {F32: 1e-6, F64: 1e-14},
    # The thermal stencil's hand-written adjoint against JAX's transpose of the same stencil
    # (tests/test_thermal_adjoint.py), max over cotangents relative to each one's largest entry: measured
    # 3.2e-16, 2.2e-7 (round-off of the two summation orders); through a θ-step's CG solve at tol 1e-14:
    # measured 5.6e-16 (float64 only).
    "thermal_adjoint": {F32: 1e-6, F64: 2e-15},
    "thermal_adjoint_implicit": {F32: 1e-6, F64: 5e-15},
    # twin.value_and_grad on the default scene vs float64 central differences (tests/test_gradient_api.py),
    # per parameter along a random direction: measured ≤ 7.9e-6 (belts.setpoint; the rest ≤ 4.9e-6, most
    # ≤ 1e-7), bounded by the differences' own error (see the test); conveyor energy in spacing and
    # service time 5e-8, 2e-7. float64 only.
    "api_gradient": {F64: 1e-5},
    # Steady states (tests/test_steady.py).
    "steady_radiation_balance": {F32: 1e-6, F64: 1e-12},  # relative; measured 9.4e-8, 8.1e-14
    "setpoint_K": {F32: 1e-4, F64: 1e-10},  # K off the setpoint at the thermostat; measured 2.3e-5, 7e-13
    # K between a transient run's end and the steady solve. float32 stalls where a step's change drops
    # below half an ulp of T: within ≈ τ·ulp(T)/(2·dt) of the steady state (τ = 12 min, dt = 1 s:
    # 1.15e-3 K measured; 4.4e-5 at dt = 600 s). float64: 4.7e-8 measured at 600 s.
    "steady_state_K": {F32: 3e-3, F64: 1e-6},
    # Heat a source gives the field over a run, relative (tests/test_sources.py); measured 5.7e-6, 1.2e-13.
    "source_energy": {F32: 3e-5, F64: 1e-11},
    # The coupled line's energy balance (tests/test_line_energy.py), relative; measured 1.6e-4 (float32,
    # backward Euler: CG stops at a 1e-5 relative residual and the net heat is a difference of heater
    # input and losses; explicit 2.4e-7), 6.1e-14.
    "line_energy": {F32: 5e-4, F64: 1e-12},
    # Motor energy = heat + kinetic energy (backward-Euler belt substeps dissipate kinetic energy to their
    # truncation error, and the parts' kinetic energy, left out, changes as they land and leave);
    # measured 1.8e-6, 1.2e-7.
    "motor_energy": {F32: 1e-5, F64: 5e-7},
    # AD through the whole coupled line vs float64 central differences (tests/test_line_gradients.py):
    # field objective, measured 1.25e-5 (float32 explicit), 3.1e-7 (float64, CN; explicit 1.1e-7).
    "line_gradient": {F32: 5e-5, F64: 1e-6},
    # Motor energy w.r.t. belt speed and drag coefficients; measured 7.4e-7 (float32, speed; drag 1.0e-7),
    # 4.0e-8.
    "motor_energy_gradient": {F32: 3e-6, F64: 2e-7},
    # K beyond the range of the initial field and the walls (tests/test_properties.py), explicit and
    # backward Euler: measured 0 in 60 draws each (no overshoot at all); allowed a few ulp of 150 °C.
    "maximum_principle_K": {F32: 1e-4, F64: 1e-11},
}


def tol(name: str, precision: str) -> float:
    """The tolerance `name` for 'float32' or 'float64'."""
    return TOLERANCES[name][precision]
