"""Time-dependent inputs in the θ-scheme: faces, fluxes and sources that follow a schedule are taken at
both ends of the step, so Crank–Nicolson stays second order in time (held at the start of the step
they would make it first order) and backward Euler first.

Kernel level: a 1D bar whose face temperature, face flux or source varies as a sine, against the exact
solution of the semi-discrete system (matrix exponential plus the periodic particular solution), so what
is measured is the time-stepping error alone. Line level: a small scene with a scheduled wall, a
scheduled source and a thermostat, against a run with a much smaller step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from jax import lax

import twin
from twin.kernels import thermal as th

ORDER_TOL = 0.2  # fitted slope within ±0.2 of the design order (STYLE.md §7)
N, DX, K, RHO_C = 12, 0.01, 1.0, 1.0e5  # cells, m, W/(m·K), J/(m³·K): τ = ρc·L²/k ≈ 1440 s
OMEGA, AMPLITUDE, T_END = 2 * np.pi / 600.0, 40.0, 900.0  # rad/s, K (or W/m², W/m³ scaled), s
CG_TOL = 1e-13
ORDERS = {"crank_nicolson": (0.5, 2.0), "backward_euler": (1.0, 1.0)}
INPUT_SCALE = {"dirichlet": 1.0, "neumann": 500.0, "source": 5.0e4}  # per K of AMPLITUDE


def _inputs(kind: str, value):
    """(boundaries, source) with the varying input at `value`; the far face holds 20 °C (Robin)."""
    far = th.robin(30.0, 20.0, K, DX)
    near = {"dirichlet": th.dirichlet(20.0 + value, K, DX), "neumann": th.neumann(value, K, DX)}.get(kind)
    source = value if kind == "source" else 0.0
    return ((near, far),), source


def _semi_discrete(kind: str):
    """dT/dt = M·T + c + b·g(t) of the bar (numpy), g the varying input."""
    coeffs = th.Coefficients(1.0 / RHO_C, (K / DX**2,))
    zero = jnp.zeros((N,))

    def rate(T, value):
        bcs, source = _inputs(kind, value)
        return th.rhs(T, coeffs, bcs, source)

    c = np.asarray(rate(zero, 0.0))
    M = np.stack([np.asarray(rate(jnp.eye(N)[j], 0.0)) - c for j in range(N)], axis=1)
    b = np.asarray(rate(zero, 1.0)) - c
    return coeffs, M, c, b


def _exact(kind: str, T0: np.ndarray, t: float) -> np.ndarray:
    """g(t) = A·sin(ωt): T = T_c + Im(Z·e^{iωt}) + e^{Mt}(T0 − T_c − Im Z), M·T_c = −c, (iω − M)Z = A·b."""
    _, M, c, b = _semi_discrete(kind)
    amplitude = AMPLITUDE * INPUT_SCALE[kind]
    T_c = np.linalg.solve(M, -c)
    Z = np.linalg.solve(1j * OMEGA * np.eye(N) - M, amplitude * b)
    periodic = lambda s: T_c + np.imag(Z * np.exp(1j * OMEGA * s))  # noqa: E731
    return periodic(t) + scipy.linalg.expm(M * t) @ (T0 - periodic(0.0))


def _stepped(kind: str, theta: float, steps: int, T0) -> np.ndarray:
    coeffs, *_ = _semi_discrete(kind)
    amplitude = AMPLITUDE * INPUT_SCALE[kind]

    @jax.jit
    def run(T, steps):
        dt = T_END / steps

        def body(i, T):
            t0, t1 = i * dt, (i + 1) * dt
            bcs0, src0 = _inputs(kind, amplitude * jnp.sin(OMEGA * t0))
            bcs1, src1 = _inputs(kind, amplitude * jnp.sin(OMEGA * t1))
            return th.implicit_step(T, coeffs, bcs0, src0, dt, theta, tol=CG_TOL, boundaries_end=bcs1, source_end=src1)

        return lax.fori_loop(0, steps, body, T)

    return np.asarray(run(jnp.asarray(T0), steps))


@pytest.mark.parametrize("method", sorted(ORDERS))
@pytest.mark.parametrize("kind", ["dirichlet", "neumann", "source"])
def test_temporal_order_with_a_sinusoidal_input(kind, method):
    theta, order = ORDERS[method]
    T0 = np.full(N, 20.0)
    exact = _exact(kind, T0, T_END)
    steps = [15, 30, 60, 120]
    errors = [np.max(np.abs(_stepped(kind, theta, n, T0) - exact)) for n in steps]
    slope = np.polyfit(np.log(1.0 / np.array(steps)), np.log(errors), 1)[0]
    assert abs(slope - order) <= ORDER_TOL, (slope, errors)


# ------------------------------------------------------------------------------------------ line level


def _scene() -> dict:
    """A 6 m × 3 m room: a wall whose temperature ramps, a machine whose heat follows a ramp, a heater
    under its thermostat (never saturated), and a Robin face to the yard."""
    return {
        "name": "scheduled_room",
        "grid": {"size": [6.0, 3.0], "spacing": 0.5, "thickness": 3.0},
        "initial_temperature": 18.0,
        "background": {"k": 2.0, "rho_c": 1.2e4},
        "boundaries": {
            "x_min": {"type": "dirichlet", "schedule": {"time": [0.0, 4000.0], "value": [10.0, 30.0]}},
            "x_max": {"type": "robin", "h": 8.0, "temperature": 5.0},
        },
        "sources": {
            "press": {
                "box": [[2.0, 1.0], [3.0, 2.0]],
                "power": 3000.0,
                "schedule": {"time": [0.0, 4000.0], "value": [0.2, 1.0]},
            }
        },
        "heaters": {
            "h1": {
                "box": [[4.0, 1.0], [5.0, 2.0]],
                "power": 20000.0,
                "setpoint": 24.0,
                "sensor": [4.5, 1.75],
                "kp": 0.05,
                "ki": 2.0e-4,
            }
        },
        "sensors": {"air": {"kind": "air_temperature", "position": [3.0, 1.5], "period": 60.0}},
    }


def _final_field(method: str, dt: float) -> np.ndarray:
    scene = twin.scene_from_mapping(_scene())
    layout, params, state = twin.build(scene, jnp.float64)
    final, _ = twin.rollout(layout, params, state, twin.Solver(method=method, dt=dt, tol=CG_TOL), duration=1200.0)
    return np.asarray(final.T)


@pytest.mark.parametrize("method, order", [("crank_nicolson", 2.0), ("backward_euler", 1.0)])
def test_line_temporal_order_with_schedules_and_a_thermostat(method, order):
    """The coupled step: scheduled wall and source at both ends of the step, the thermostat's power and
    integral on the trapezoid for Crank–Nicolson."""
    reference = _final_field("crank_nicolson", 1200.0 / 480)
    steps = [15, 30, 60]
    errors = [np.max(np.abs(_final_field(method, 1200.0 / n) - reference)) for n in steps]
    slope = np.polyfit(np.log(1.0 / np.array(steps)), np.log(errors), 1)[0]
    assert abs(slope - order) <= ORDER_TOL, (slope, errors)
