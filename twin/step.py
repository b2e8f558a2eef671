"""One time step of the coupled line: belts → parts move → parts ↔ air → thermal field with its
thermostats → sensors.

`make_step(layout, solver, dt)` returns a pure `step(params, state, fixed, t_end) -> (state, readings,
exits)`, where `fixed = fixed_terms(layout, params)` holds what does not change in time and `t_end` is
the time the step ends at (the loop computes it as start + k·dt, so time does not drift by rounding);
the layout and numerical choices are closed over, so the step jits, differentiates and vmaps over
params and state.

Time-dependent inputs (scheduled faces and sources) are evaluated at both ends of the step and weighted
by the scheme's θ; the thermostats are solved together with the field they measure (implicit in the
plant), so the controllers are stable at any step the thermal solver takes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from twin import status
from twin.kernels import control, sampling, thermal
from twin.line import belts, part_flow, robots, sensors
from twin.model import RHO_C_AIR, Layout, Params, State
from twin.scene.convert import check_fields
from twin.scene.schema import key, number

THETA = {"explicit": 0.0, "backward_euler": 1.0, "crank_nicolson": 0.5, "steady": 1.0}


@dataclass(frozen=True)
class Solver:
    """Thermal time stepping.

    method: explicit (forward Euler), backward_euler or crank_nicolson (matrix-free CG), or steady (the
        steady state, solved directly: twin.steady).
    dt: time step, s; None picks it: the stable explicit step times `safety`, capped at `max_dt`.
    mechanics_dt: longest belt-mechanics substep, s (backward Euler, solved exactly: accuracy, not stability, sets it).
    tol, maxiter: CG relative residual and iteration cap for the implicit methods; None takes the
        kernel's defaults (tol 1e-10 in float64, 1e-5 in float32). For steady, tol is also the relative
        energy residual at which the solve stops.
    """

    method: Literal["explicit", "backward_euler", "crank_nicolson", "steady"] = key(
        "thermal time stepping", default="explicit"
    )
    dt: float | None = number("time step", "s", gt=0, default=None)
    max_dt: float = number("cap on the automatic time step", "s", gt=0, default=2.0)
    safety: float = number(
        "fraction of the stable step", gt=0, le=1, why="above 1 the explicit step is unstable", default=0.9
    )
    mechanics_dt: float = number("longest belt-mechanics substep", "s", gt=0, default=0.1)
    tol: float | None = number("CG relative residual", gt=0, default=None)
    maxiter: int | None = number("CG iteration cap", ge=1, default=None)

    def __post_init__(self):  # the checks `solver.dt=-1` on the command line gets, at the same key paths
        check_fields(self, "solver")

    @property
    def theta(self) -> float:
        """Implicit weight of the field update (0 explicit, 1 backward Euler, ½ Crank–Nicolson)."""
        return THETA[self.method]

    @property
    def control_theta(self) -> float:
        """Weight of the end-of-step heater output: 1 except for Crank–Nicolson (the trapezoid, ½)."""
        return 0.5 if self.method == "crank_nicolson" else 1.0


@dataclass(frozen=True)
class Fixed:
    """Per-rollout quantities that do not change in time (derived from Params)."""

    coeffs: thermal.Coefficients
    k_cell: Float[Array, "*grid"]
    steady_source: Float[Array, "*grid"] | float  # W/m³: HVAC supply, ambient, unscheduled sources
    # W/m³ each heater puts into its cells at full output (the shape string is jaxtyping's, not Python)
    heater_loads: Float[Array, "h *grid"]  # noqa: F821
    robots: tuple[robots.Duty, ...]  # each arm robot's cycle at the line's pace (twin.line.robots)
    pick_time: Float[Array, "c r"]  # s, params.pick_time with the arm robots' cycle times


jax.tree_util.register_dataclass(
    Fixed, data_fields=["coeffs", "k_cell", "steady_source", "heater_loads", "robots", "pick_time"], meta_fields=[]
)


def _exchange(layout: Layout, params: Params):
    """(HVAC W/(m³·K) per unit, ambient W/(m³·K) or None): the air's exchange with supply air and ambient."""
    if not layout.ambient:  # (2D only: the layer's roof and floor)
        return RHO_C_AIR * params.hvac_airflow, None
    g_amb = params.ambient_h * layout.spacing[0] * layout.spacing[1] / layout.cell_volume  # h / thickness
    return RHO_C_AIR * params.hvac_airflow, g_amb


def cell_terms(layout: Layout, params: Params) -> tuple[Float[Array, "*grid"], thermal.Coefficients]:
    """(k per cell, the field's coefficients): what the stable step needs, without the robots' duties."""
    zone = jnp.asarray(layout.zone_index)
    k_cell = params.zone_k[zone]
    g_hvac, g_amb = _exchange(layout, params)
    sink = jnp.tensordot(g_hvac, jnp.asarray(layout.hvac_shape, k_cell.dtype), 1)
    if g_amb is not None:
        sink = sink + g_amb
    coeffs = thermal.Coefficients(
        inv_capacity=1.0 / params.zone_rho_c[zone],
        conductance=thermal.face_conductance(k_cell, layout.spacing_by_axis),
        sink=sink,
    )
    return k_cell, coeffs


def fixed_terms(layout: Layout, params: Params) -> Fixed:
    """Cell properties, face conductances, the steady exchange terms (with the robots' heat), the
    heaters' loads and the arm robots' duties."""
    k_cell, coeffs = cell_terms(layout, params)
    dtype = k_cell.dtype
    g_hvac, g_amb = _exchange(layout, params)
    source = jnp.tensordot(g_hvac * params.hvac_supply_T, jnp.asarray(layout.hvac_shape, dtype), 1)
    if g_amb is not None:
        source = source + g_amb * params.ambient_T
    constant = [w for w, times in enumerate(layout.source_schedule_time) if times is None]
    if constant:
        shapes = jnp.asarray(layout.source_shape[constant], dtype)
        source = source + jnp.tensordot(params.source_power[jnp.asarray(constant)], shapes, 1)
    duties = robots.duties(layout, params)
    source = source + robots.heat_source(layout, duties, dtype)
    full = (params.heater_power * params.heater_efficiency).reshape(-1, *(1,) * layout.ndim)
    heater_loads = full * jnp.asarray(layout.heater_shape, dtype)
    return Fixed(coeffs, k_cell, source, heater_loads, duties, robots.pick_times(layout, params, duties))


# One compiled program per layout for every caller outside a trace: the arm robots' duties (inverse
# dynamics, rainflow) are most of a default-scene program's compile time, so they compile once here and
# enter the rollout programs as inputs.
fixed_terms_program = jax.jit(fixed_terms, static_argnums=0)


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
            faces[face.axis][face.side] = thermal.neumann(p.flux, k_edge, dx)
        else:
            faces[face.axis][face.side] = thermal.radiation(p.emissivity, p.temperature, k_edge, dx)
    return tuple(tuple(f) for f in faces)


def scheduled_sources(layout: Layout, params: Params, t, dtype):
    """W/m³ of the sources that follow a schedule, at time t (0.0 when there are none)."""
    total = 0.0
    for w, times in enumerate(layout.source_schedule_time):
        if times is not None:
            factor = jnp.interp(t, jnp.asarray(times, dtype), params.source_schedule[w])
            total = total + params.source_power[w] * factor * jnp.asarray(layout.source_shape[w], dtype)
    return total


def thermostat_readings(layout: Layout, field):
    """Thermostat readings (h,) of a field, °C."""
    weights = jnp.asarray(layout.thermostat_w, field.dtype)
    return sampling.gather(field, jnp.asarray(layout.thermostat_idx), weights)


def thermal_update(
    layout: Layout, solver: Solver, fixed: Fixed, params: Params, state: State, source, t, t_end, dt: float
):
    """The field after dt with the thermostats solved together with it.

    `source` (W/m³) is what acts uniformly over the step (parts, belts, steady terms); schedules are
    taken at t and t_end. Returns (T, heater output, heater integral, heater energy this step (J),
    whether the linear solve converged, boundaries at t_end).
    """
    bcs0, bcs1 = boundaries(layout, params, fixed.k_cell, t), boundaries(layout, params, fixed.k_cell, t_end)
    src0 = source + scheduled_sources(layout, params, t, state.T.dtype)
    src1 = source + scheduled_sources(layout, params, t_end, state.T.dtype)
    n_heaters, u0 = len(layout.heater_names), state.heater_output
    theta_c = solver.control_theta
    if n_heaters and theta_c < 1.0:  # the trapezoid's start-of-step half of the heaters' power
        src0 = src0 + jnp.tensordot(u0, fixed.heater_loads, 1)
    if solver.method == "explicit":
        delta = dt * thermal.rhs(state.T, fixed.coeffs, bcs0, src0)
        inv_capacity = fixed.coeffs.inv_capacity
        responses = dt * (inv_capacity[None] if jnp.ndim(inv_capacity) else inv_capacity) * fixed.heater_loads
        converged = jnp.asarray(True)
    else:
        delta, responses, info = thermal.implicit_increments(
            state.T,
            fixed.coeffs,
            bcs0,
            src0,
            dt,
            solver.theta,
            boundaries_end=bcs1,
            source_end=src1,
            loads=theta_c * fixed.heater_loads if n_heaters else None,
            tol=solver.tol,
            maxiter=solver.maxiter,
        )
        converged = info.converged
    T = state.T + delta
    if not n_heaters:
        return T, u0, state.heater_integral, jnp.zeros_like(u0), converged, bcs1
    error_start = params.heater_setpoint - thermostat_readings(layout, state.T)
    response = jax.vmap(lambda field: thermostat_readings(layout, field))(responses).T  # [thermostat, heater]
    output, integral, settled = control.pi_implicit(
        params.heater_setpoint - thermostat_readings(layout, T),
        response,
        state.heater_integral,
        u0,
        params.heater_ki * error_start,
        params.heater_kp,
        params.heater_ki,
        dt,
        theta_c,
    )
    T = T + jnp.tensordot(output, responses, 1)
    energy = dt * params.heater_power * (theta_c * output + (1.0 - theta_c) * u0)
    return T, output, integral, energy, converged & settled, bcs1


def make_step(layout: Layout, solver: Solver, dt: float):
    """A pure step(params, state, fixed, t_end) -> (state, readings, exits) for this layout and solver."""
    n_sub = max(1, math.ceil(dt / solver.mechanics_dt - 1e-9))

    def step(params: Params, state: State, fixed: Fixed, t_end):
        t = state.t
        # ≥ 0: the unload of a part picked last step never makes a segment lighter than empty
        load = jnp.maximum(
            belts.segment_loads(layout, params, state.parts, state.T.dtype) + state.belts.pending_load, 0.0
        )
        belt_state, travel, q_belts = belts.advance(layout, params, state.belts, load, state.T, t, dt, n_sub)
        paced = params.replace(pick_time=fixed.pick_time)  # arm robots pick at their cycle's pace
        parts, tallies, moves = part_flow.advance(layout, paced, state.parts, state.tallies, travel, t, dt)
        pending = belts.presence_correction(layout, params, state.parts.alive, parts, moves, dt)
        belt_state = belt_state.replace(pending_load=pending)
        parts, tallies, q_parts, exits = part_flow.exchange_heat(layout, params, parts, tallies, moves, state.T, dt)
        source = fixed.steady_source + q_parts + q_belts
        T, output, integral, energy, converged, bcs = thermal_update(
            layout, solver, fixed, params, state, source, t, t_end, dt
        )
        tallies = robots.accrue(layout, params, fixed.robots, state.tallies, tallies, T)
        new = State(
            t=t_end,
            T=T,
            heater_integral=integral,
            heater_output=output,
            heater_energy=state.heater_energy + energy,
            parts=parts,
            tallies=tallies,
            belts=belt_state,
            status=state.status,
        )
        new = new.replace(status=status.update(state.status, new, converged))
        return new, sensors.readings(layout, params, new, bcs, fixed.robots), exits

    return step
