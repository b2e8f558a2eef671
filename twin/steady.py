"""`solver=steady`: the steady state of a scene whose inputs do not change in time, solved directly.

Pseudo-transient continuation: backward-Euler steps of the field with the thermostats solved together
with it (`step.thermal_update`), the step growing tenfold while the residual falls, up to `DT_MAX`, where
a step is a Newton step of the steady problem (radiation by its tangent; a thermostat holds its setpoint
unless its heater saturates). Belts without parts run at their setpoints and heat the air with their
constant losses.

The residual test: the largest cell power imbalance |P| (W/m³) divided by that cell's conductance to
its neighbours, faces and sinks (W/(m³·K)) — the temperature error of the worst cell, in K. The solve
stops when it is ≤ `solver.tol` (default `STEADY_TOL_K`); the run reports it with the net energy
imbalance of the whole domain.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from twin import metrics as metrics_mod
from twin import status
from twin import step as step_mod
from twin.build import build
from twin.errors import SceneError
from twin.kernels import thermal
from twin.line import belts
from twin.model import Layout, Params, State
from twin.scene.schema import Scene

STEADY_TOL_K = {"float32": 1e-4, "float64": 1e-9}  # K; float32 rounding of T (≈1e-5 K at 150 °C) sits below
DT_START = 100.0  # s, the first pseudo-time step
DT_MAX = 1.0e15  # s: at this step the capacity term is far below any conductance (a Newton step)
GROWTH = 10.0
MAX_ITERATIONS = 80


def check_steady(scene: Scene, where: str = "scene") -> None:
    """Refuse, at its key path, anything in the scene that changes in time."""
    for name, conveyor in scene.conveyors.items():
        if conveyor.parts is not None:
            raise SceneError(
                f"{where}.conveyors.{name}.parts",
                "parts",
                "parts move along the belt; a steady "
                "solve needs inputs that do not change in time: use a transient solver "
                "(solver=backward_euler) or remove the parts",
            )
        for seg_name, segment in conveyor.segments.items():
            if segment.wear_rate > 0:
                raise SceneError(
                    f"{where}.conveyors.{name}.segments.{seg_name}.wear_rate",
                    segment.wear_rate,
                    "drag that drifts in time has no steady state; set it to 0 or use a transient solver",
                )
    for face, boundary in scene.boundaries.items():
        if boundary.schedule is not None:
            raise SceneError(
                f"{where}.boundaries.{face}.schedule",
                boundary.schedule.value,
                "a scheduled face has no steady state; give a constant temperature or use a transient solver",
            )
    for name, source in scene.sources.items():
        if source.schedule is not None:
            raise SceneError(
                f"{where}.sources.{name}.schedule",
                source.schedule.value,
                "a scheduled source has no steady state; remove the schedule or use a transient solver",
            )


def steady_source(layout: Layout, params: Params, fixed: step_mod.Fixed, belt_state) -> jnp.ndarray:
    """W/m³ acting on the steady field: HVAC, ambient, constant sources and the belts' losses."""
    force, _ = belts.belt_physics.motor_force(params.belts, belt_state.v, belt_state.integral)
    _, _, losses = belts.belt_physics.electrics(params.belts, force, belt_state.v)
    drag = belts.belt_physics.drag_force(
        belts.worn(params, belt_state.bearing_use), belt_state.v, jnp.zeros_like(belt_state.v), 0.0
    )
    return fixed.steady_source + belts.heat_source(layout, losses, drag * belt_state.v, 1.0)


def _iterate(layout: Layout, solver: step_mod.Solver, params: Params, state: State, fixed, source, dt):
    """One pseudo-time step: (state, residual K, net imbalance W, CG converged)."""
    T, output, integral, _, converged, bcs = step_mod.thermal_update(
        layout, solver, fixed, params, state, source, state.t, state.t, dt
    )
    state = state.replace(T=T, heater_output=output, heater_integral=integral)
    power = thermal.power_density(T, fixed.coeffs, bcs, source + jnp.tensordot(output, fixed.heater_loads, 1))
    conduction, local = thermal._loss_rates(fixed.coeffs, thermal.linearised(bcs, T), T.shape)
    residual = jnp.max(jnp.abs(power) / (conduction + local))
    return state, residual, jnp.sum(power) * layout.cell_volume, converged


def steady_state(layout: Layout, params: Params, state: State, solver: step_mod.Solver):
    """The steady state from `state` and how the solve went: (state, info dict)."""
    backward = step_mod.Solver(method="backward_euler", maxiter=solver.maxiter)
    dtype = state.T.dtype
    tol = solver.tol if solver.tol is not None else STEADY_TOL_K[jnp.dtype(dtype).name]
    fixed = step_mod.fixed_terms_program(layout, params)
    source = jax.jit(steady_source, static_argnums=0)(layout, params, fixed, state.belts)
    iterate = jax.jit(functools.partial(_iterate, layout, backward))
    dt, previous, unconverged = DT_START, np.inf, 0
    for iteration in range(1, MAX_ITERATIONS + 1):  # noqa: B007 (reported after the loop)
        state, residual, imbalance, converged = iterate(params, state, fixed, source, jnp.asarray(dt, dtype))
        residual, unconverged = float(residual), unconverged + (not bool(converged))
        status.check(
            layout,
            state.replace(status=status.update(state.status, state, converged)),
            hint="the steady solve diverged; check the scene's values, or use a transient solver",
        )
        if residual <= tol:  # the residual is that of the steady equations, whatever the pseudo-step
            break
        dt = min(DT_MAX, dt * GROWTH) if residual < previous else max(DT_START, dt / GROWTH)
        previous = residual
    info = {
        "iterations": iteration,
        "residual_K": residual,
        "tolerance_K": tol,
        "converged": residual <= tol,
        "imbalance_W": abs(float(imbalance)),
        "unconverged_linear_solves": unconverged,
        "face_heat_W": face_heat(layout, params, state, fixed),
    }
    return state, info


def face_heat(layout: Layout, params: Params, state: State, fixed: step_mod.Fixed) -> dict[str, float]:
    """W into the domain through each non-adiabatic face (negative: heat lost), at the state's time."""
    bcs = step_mod.boundaries(layout, params, fixed.k_cell, state.t)
    out = {}
    for face in layout.faces:
        one = tuple(
            tuple(f if (axis, side) == (face.axis, face.side) else None for side, f in enumerate(pair))
            for axis, pair in enumerate(bcs)
        )
        out[face.name] = float(thermal.boundary_heat_rate(state.T, fixed.coeffs, one, layout.cell_volume))
    return out


def simulate_steady(scene: Scene, solver: step_mod.Solver, dtype):
    """`twin.simulate` for `solver=steady`: a Result with one sample per sensor and one field."""
    from twin.simulate import Result, _readings_now

    check_steady(scene)
    layout, params, state = build(scene, dtype)
    state, info = steady_state(layout, params, state, solver)
    fixed = step_mod.fixed_terms_program(layout, params)
    values = np.asarray(jax.jit(_readings_now, static_argnums=0)(layout, params, state, fixed))
    sensors = {
        s.name: (np.zeros(1), metrics_mod.to_unit(values[j : j + 1], s.unit)) for j, s in enumerate(layout.sensors)
    }
    for s in layout.sensors:
        if s.kind == "throughput":
            sensors[s.name] = (np.zeros(1), np.zeros(1))
    result = Result(
        scene=scene,
        layout=layout,
        params=params,
        state=state,
        plan=None,
        sensors=sensors,
        snapshot_times=np.zeros(1),
        snapshots=np.asarray(state.T)[None],
    )
    result.metrics = metrics_mod.summarise_steady(layout, params, state, info)
    return result
