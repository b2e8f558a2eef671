"""One time step of the coupled line: thermostats → parts ↔ air → belts → thermal field → parts move →
sensors.

`make_step(layout, solver, dt)` returns a pure `step(params, state, fixed) -> (state, readings)`, where
`fixed = fixed_terms(layout, params)` holds what does not change in time; the layout and numerical
choices are closed over, so the step jits, differentiates and vmaps over params and state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from twin import belts, conveyor_flow
from twin.kernels import control, sampling, thermal
from twin.model import RHO_C_AIR, Layout, Params, State


@dataclass(frozen=True)
class Solver:
    """Thermal time stepping.

    method: explicit (forward Euler), backward_euler or crank_nicolson (matrix-free CG).
    dt: time step, s; None picks it: the stable explicit step times `safety`, capped at `max_dt`.
    mechanics_dt: longest belt-mechanics substep, s (linearly implicit, so accuracy, not stability, sets it).
    tol, maxiter: CG relative residual and iteration cap for the implicit methods; None takes the
        kernel's defaults (tol 1e-10 in float64, 1e-5 in float32).
    """

    method: Literal["explicit", "backward_euler", "crank_nicolson"] = "explicit"
    dt: float | None = None
    max_dt: float = 2.0
    safety: float = 0.9
    mechanics_dt: float = 0.1
    tol: float | None = None
    maxiter: int | None = None


@dataclass(frozen=True)
class Fixed:
    """Per-rollout thermal quantities that do not change in time (derived from Params)."""

    coeffs: thermal.Coefficients
    k_cell: Float[Array, "*grid"]
    steady_source: Float[Array, "*grid"] | float  # W/m³: HVAC supply and ambient


jax.tree_util.register_dataclass(Fixed, data_fields=["coeffs", "k_cell", "steady_source"], meta_fields=[])


def fixed_terms(layout: Layout, params: Params) -> Fixed:
    """Cell properties, face conductances and the steady exchange terms."""
    zone = jnp.asarray(layout.zone_index)
    k_cell = params.zone_k[zone]
    g_hvac = RHO_C_AIR * params.hvac_airflow
    sink = jnp.tensordot(g_hvac, jnp.asarray(layout.hvac_shape, k_cell.dtype), 1)
    source = jnp.tensordot(g_hvac * params.hvac_supply_T, jnp.asarray(layout.hvac_shape, k_cell.dtype), 1)
    if layout.ambient:
        g_amb = params.ambient_h * layout.spacing[0] * layout.spacing[1] / layout.cell_volume  # h / thickness
        sink, source = sink + g_amb, source + g_amb * params.ambient_T
    coeffs = thermal.Coefficients(
        inv_capacity=1.0 / params.zone_rho_c[zone],
        conductance=thermal.face_conductance(k_cell, layout.spacing_by_axis),
        sink=sink,
    )
    return Fixed(coeffs, k_cell, source)


def boundaries(layout: Layout, params: Params, k_cell, t) -> thermal.Boundaries:
    """The faces' conditions at time t (scheduled Dirichlet temperatures interpolated)."""
    faces = [[None, None] for _ in range(layout.ndim)]
    for face, p in zip(layout.faces, params.faces):
        n = layout.shape[face.axis]
        k_edge = jax.lax.slice_in_dim(k_cell, (n - 1) * face.side, (n - 1) * face.side + 1, axis=face.axis)
        dx = layout.spacing_by_axis[face.axis]
        if face.kind == "dirichlet":
            T_wall = p.temperature
            if face.schedule_time is not None:
                T_wall = jnp.interp(t, jnp.asarray(face.schedule_time, p.schedule.dtype), p.schedule)
            faces[face.axis][face.side] = thermal.dirichlet(T_wall, k_edge, dx)
        elif face.kind == "robin":
            faces[face.axis][face.side] = thermal.robin(p.h, p.temperature, k_edge, dx)
        elif face.kind == "neumann":
            faces[face.axis][face.side] = thermal.neumann(p.flux, dx)
        else:
            faces[face.axis][face.side] = thermal.radiation(p.emissivity, p.temperature, dx)
    return tuple(tuple(f) for f in faces)


def heater_control(layout: Layout, params: Params, state: State, dt: float):
    """Thermostat reading → PI → (output fraction, next integral)."""
    weights = jnp.asarray(layout.thermostat_w, state.T.dtype)
    measured = sampling.gather(state.T, jnp.asarray(layout.thermostat_idx), weights)
    return control.pi_step(params.heater_setpoint - measured, state.heater_integral, params.heater_kp,
                           params.heater_ki, dt)


def thermal_update(layout, solver: Solver, fixed: Fixed, params, T, t, source, dt):
    """The field after dt, and whether the step's linear solve converged (always, for explicit)."""
    bcs = boundaries(layout, params, fixed.k_cell, t)
    if solver.method == "explicit":
        return thermal.explicit_step(T, fixed.coeffs, bcs, source, dt), jnp.asarray(True)
    theta = 1.0 if solver.method == "backward_euler" else 0.5
    T, info = thermal.implicit_step_with_info(T, fixed.coeffs, bcs, source, dt, theta=theta, tol=solver.tol,
                                              maxiter=solver.maxiter)
    return T, info.converged


def readings(layout: Layout, params: Params, state: State) -> Float[Array, " s"]:
    """Every sensor's value in SI (°C, W, cure fraction, m/s, A), in layout order."""
    current, motor_power = belts.instruments(params, state.belts)
    segment = {"belt_speed": state.belts.v, "motor_current": current, "motor_power": motor_power}
    values = []
    for s in layout.sensors:
        if s.kind == "air_temperature":
            values.append(sampling.gather(state.T, jnp.asarray(s.idx), jnp.asarray(s.w, state.T.dtype))[0])
        elif s.kind == "heater_power":
            (i,) = s.target
            values.append(state.heater_output[i] * params.heater_power[i])
        elif s.kind in segment:
            values.append(segment[s.kind][s.target[0]])
        elif s.kind == "part_temperature":
            values.append(state.parts.last_T[s.target])
        else:
            values.append(state.parts.last_alpha[s.target])
    return jnp.stack(values) if values else jnp.zeros((0,), state.T.dtype)


def make_step(layout: Layout, solver: Solver, dt: float):
    """A pure step(params, state, fixed) -> (state, readings) for this layout and solver."""
    heater_shape = jnp.asarray(layout.heater_shape)
    n_sub = max(1, math.ceil(dt / solver.mechanics_dt - 1e-9))

    def step(params: Params, state: State, fixed: Fixed):
        output, integral = heater_control(layout, params, state, dt)
        power = output * params.heater_power
        parts, q_parts = conveyor_flow.exchange_heat(layout, params, state.parts, state.T, dt)
        load = belts.segment_loads(layout, params, state.parts, state.T.dtype)
        belt_state, travel, q_belts = belts.advance(layout, params, state.belts, load, state.t, dt, n_sub)
        source = fixed.steady_source + jnp.tensordot(power * params.heater_efficiency,
                                                     heater_shape.astype(power.dtype), 1) + q_parts + q_belts
        T, converged = thermal_update(layout, solver, fixed, params, state.T, state.t, source, dt)
        parts = conveyor_flow.advance(layout, params, parts, travel, state.t, dt)
        new = State(t=state.t + dt, T=T, heater_integral=integral, heater_output=output,
                    heater_energy=state.heater_energy + power * dt, parts=parts, belts=belt_state,
                    unconverged_steps=state.unconverged_steps + (~converged).astype(jnp.int32))
        return new, readings(layout, params, new)

    return step
