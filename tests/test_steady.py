"""`solver=steady`: exact steady solutions (a plate with uniform generation and convective edges, a wall
radiating from its face), second order in space, the same state a long transient reaches — with the
thermostats holding their setpoints, at any implicit step — and scenes it refuses.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import optimize
from tolerances import DTYPES, tol

import twin
from twin.kernels import thermal as th
from twin.time_step import time_step

ORDER_TOL = 0.2
SIZE, K, H, Q, T_AIR = (1.0, 0.6), 2.0, 15.0, 4.0e3, 10.0  # m, W/(m·K), W/(m²·K), W/m³, °C


def plate(n: int, precision: str = "float64") -> dict:
    """A plate generating Q everywhere, cooled by convection on all four edges; n cells across x."""
    return {
        "name": "generating_plate",
        "grid": {"size": list(SIZE), "spacing": SIZE[0] / n},
        "initial_temperature": T_AIR,
        "background": {"k": K, "rho_c": 1.0e6},
        "boundaries": {
            face: {"type": "robin", "h": H, "temperature": T_AIR} for face in ("x_min", "x_max", "y_min", "y_max")
        },
        "sources": {"generation": {"box": [[0.0, 0.0], list(SIZE)], "q": Q}},
    }


@functools.cache
def _eigenvalues(A: float, terms: int) -> np.ndarray:
    """λ with λ·tan(λA) = H/K, one in each (mπ/A, (m + ½)π/A)."""
    f = lambda lam: lam * np.sin(lam * A) - H / K * np.cos(lam * A)  # noqa: E731
    return np.array(
        [optimize.brentq(f, m * np.pi / A + 1e-12, (m + 0.5) * np.pi / A - 1e-12, xtol=1e-15) for m in range(terms)]
    )


def exact_plate(x: np.ndarray, y: np.ndarray, terms: int = 400) -> np.ndarray:
    """T(x, y) of the plate: the 1D profile across x plus a series in cos(λx)·cosh(λy) that meets the
    convective condition on the y edges (centred coordinates)."""
    A, B = SIZE[0] / 2, SIZE[1] / 2
    X, Y = x - A, y - B
    one_d = lambda s: Q * (A**2 - s**2) / (2 * K) + Q * A / H  # noqa: E731
    theta = one_d(X)
    for lam in _eigenvalues(A, terms):
        norm = A + np.sin(2 * lam * A) / (2 * lam)
        sin, cos = np.sin(lam * A), np.cos(lam * A)
        c0, c2 = Q * A**2 / (2 * K) + Q * A / H, Q / (2 * K)  # one_d(s) = c0 − c2·s²
        projection = c0 * 2 * sin / lam - c2 * 2 * (A**2 * sin / lam + 2 * A * cos / lam**2 - 2 * sin / lam**3)
        ratio = np.exp(lam * (np.abs(Y) - B)) * (1 + np.exp(-2 * lam * np.abs(Y))) / (1 + np.exp(-2 * lam * B))
        theta = theta - H * projection / norm / (K * lam * np.tanh(lam * B) + H) * np.cos(lam * X) * ratio
    return T_AIR + theta


def _plate_error(n: int, precision: str = "float64") -> float:
    result = twin.simulate(twin.scene_from_mapping(plate(n)), solver=twin.Solver(method="steady"), precision=precision)
    assert result.metrics["steady"]["converged"]
    ny, nx = result.layout.shape
    dx, dy = result.layout.spacing
    y, x = np.meshgrid((np.arange(ny) + 0.5) * dy, (np.arange(nx) + 0.5) * dx, indexing="ij")
    exact = exact_plate(x, y)
    return float(np.max(np.abs(result.snapshots[-1] - exact)) / (np.max(exact) - T_AIR))


def test_exact_series_is_right():
    """The series meets the heat equation's balance: generation = convection out of the four edges."""
    A, B = SIZE[0] / 2, SIZE[1] / 2
    s = np.linspace(0.0, SIZE[0], 2001)
    t = np.linspace(0.0, SIZE[1], 1201)
    out = H * (
        np.trapezoid(exact_plate(s, 0.0 * s) - T_AIR, s) * 2 + np.trapezoid(exact_plate(0.0 * t, t) - T_AIR, t) * 2
    )
    assert out == pytest.approx(Q * 4 * A * B, rel=1e-5)


def test_plate_matches_the_exact_series_and_is_second_order():
    ns = [10, 20, 40]
    errors = [_plate_error(n) for n in ns]
    slope = np.polyfit(np.log(1.0 / np.array(ns)), np.log(errors), 1)[0]
    assert abs(slope - 2.0) <= ORDER_TOL, (slope, errors)
    assert _plate_error(160) <= 1e-4  # at a fine grid; measured 5.4e-5 (8.4e-4 at 40 cells); ×2


def test_radiating_wall_in_1d_reads_its_face_temperature(precision):
    """A 1D wall held at 400 °C on one side, radiating from the other: the surface sensor on the
    radiating face reads the T_B of the exact balance k(T₀ − T_B)/L = εσ(T_B⁴ − T∞⁴)."""
    L, T_hot, eps, T_inf = 0.2, 400.0, 0.8, 20.0
    scene = twin.scene_from_mapping(
        {
            "name": "wall",
            "grid": {"size": [L], "spacing": L / 7},
            "initial_temperature": 20.0,
            "background": {"k": K, "rho_c": 1.0e6},
            "boundaries": {
                "x_min": {"type": "dirichlet", "temperature": T_hot},
                "x_max": {"type": "radiation", "emissivity": eps, "temperature": T_inf},
            },
            "sensors": {"face": {"kind": "surface_temperature", "position": [L], "period": 1.0}},
        }
    )
    result = twin.simulate(scene, solver=twin.Solver(method="steady"), precision=precision)
    T_B = float(result.sensors["face"][1][0])

    def radiated(T):
        return eps * th.SIGMA * ((T + th.KELVIN) ** 4 - (T_inf + th.KELVIN) ** 4)

    assert K * (T_hot - T_B) / L == pytest.approx(radiated(T_B), rel=tol("steady_radiation_balance", precision))


# ------------------------------------------------------------------------------------ thermostats


def room(ki: float = 2.0e-4) -> dict:
    """A 6 m × 3 m room cooled through a wall, to the yard and through its roof, with a thermostat."""
    return {
        "name": "heated_room",
        "grid": {"size": [6.0, 3.0], "spacing": 0.5, "thickness": 3.0},
        "initial_temperature": 18.0,
        "background": {"k": 2.0, "rho_c": 1200.0},
        "ambient": {"temperature": 12.0, "h": 5.0},
        "boundaries": {
            "x_min": {"type": "dirichlet", "temperature": 10.0},
            "x_max": {"type": "robin", "h": 8.0, "temperature": 5.0},
        },
        "sources": {"press": {"box": [[2.0, 1.0], [3.0, 2.0]], "power": 1500.0}},
        "heaters": {
            "h1": {
                "box": [[4.0, 1.0], [5.0, 2.0]],
                "power": 20000.0,
                "setpoint": 24.0,
                "sensor": [4.5, 1.75],
                "kp": 0.05,
                "ki": ki,
            }
        },
    }


@functools.cache
def _steady_room(precision: str, ki: float = 2.0e-4):
    result = twin.simulate(twin.scene_from_mapping(room(ki)), solver=twin.Solver(method="steady"), precision=precision)
    return np.asarray(result.state.T, float), float(result.state.heater_output[0])


def _transient_room(precision: str, method: str, dt: float, duration: float):
    layout, params, state = twin.build(twin.scene_from_mapping(room()), DTYPES[precision])
    final, readings = twin.rollout(layout, params, state, twin.Solver(method=method, dt=dt), duration=duration)
    assert int(final.status.nonfinite_what) == -1
    return np.asarray(final.T, float), np.asarray(final.heater_output, float)


def test_steady_holds_the_setpoint(precision):
    scene = twin.scene_from_mapping(room())
    result = twin.simulate(scene, solver=twin.Solver(method="steady"), precision=precision)
    layout = result.layout
    from twin.step import thermostat_readings

    assert float(thermostat_readings(layout, result.state.T)[0]) == pytest.approx(
        24.0, abs=tol("setpoint_K", precision)
    )
    assert 0.0 < float(result.state.heater_output[0]) < 1.0


@pytest.mark.parametrize("dt", [1.0, 600.0])
def test_implicit_runs_at_any_step_reach_the_steady_state(dt, precision):
    """Backward Euler at 1 s and at 600 s (ten times the anti-windup bleed's old limit of 2·30 s) end in
    the same steady state: the one `solver=steady` finds."""
    T, u = _transient_room(precision, "backward_euler", dt, 4 * 3600.0)
    T_steady, u_steady = _steady_room(precision)
    assert np.max(np.abs(T - T_steady)) <= tol("steady_state_K", precision)
    assert float(u[0]) == pytest.approx(u_steady, abs=1e-5)


@pytest.mark.parametrize("method", ["backward_euler", "crank_nicolson"])
@pytest.mark.parametrize("dt", [3600.0, 86400.0])
def test_controllers_stay_bounded_at_huge_steps(method, dt):
    """Thermostats solved with the field: outputs stay in [0, 1] and nothing blows up, at any step."""
    T, u = _transient_room("float64", method, dt, 12 * dt)
    assert np.all(np.isfinite(T)) and np.all((u >= 0.0) & (u <= 1.0))
    if method == "backward_euler":  # L-stable: a huge step is a Newton step of the steady problem
        assert np.max(np.abs(T - _steady_room("float64")[0])) <= tol("steady_state_K", "float64")


# ------------------------------------------------------------------------------------ refusals


def _small_line_with(change):
    from fixtures import small_line

    spec = small_line()
    change(spec)
    return spec


@pytest.mark.parametrize(
    "change, where",
    [
        (lambda s: None, "scene.conveyors.belt.parts"),
        (
            lambda s: (s.pop("conveyors"), s.pop("robots"), s["sensors"].pop("p1"), s["sensors"].pop("c1")),
            "scene.boundaries.x_max.schedule",
        ),
    ],
)
def test_steady_refuses_what_changes_in_time(change, where):
    from twin.steady import check_steady

    with pytest.raises(twin.SceneError) as info:
        check_steady(twin.scene_from_mapping(_small_line_with(change)))
    assert str(info.value).startswith(where + ":")


def test_steady_is_not_a_time_step():
    layout, params, _ = twin.build(twin.scene_from_mapping(room()))
    with pytest.raises(twin.TwinInputError, match="steady"):
        time_step(layout, params, twin.Solver(method="steady"))
