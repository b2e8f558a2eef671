"""Belt segments: steady state, load-step recovery, current against load and wear, implicit substeps."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from twin.kernels import belt

STEADY_RTOL = 1e-6  # the PI integral removes the speed error; only the settling tail is left
DT = 0.02  # s, substep


def params(**kw) -> belt.BeltParams:
    base = dict(setpoint=0.2, belt_mass=200.0, rolling_resistance=0.03, viscous_drag=50.0, wear=0.0, wear_rate=0.0,
                max_force=2000.0, kp=5.0e3, ki=5.0e3, current_per_force=2e-3, no_load_current=1.0, resistance=2.0,
                fixed_loss=50.0)
    base.update(kw)
    return belt.BeltParams(**{k: jnp.atleast_1d(jnp.asarray(v, jnp.float64)) for k, v in base.items()})


def run(p, load, steps, v0=None, dt=DT):
    """Speeds over `steps` substeps; load: kg per step (array) or constant."""
    load = jnp.broadcast_to(jnp.asarray(load, jnp.float64), (steps,))

    def body(carry, inputs):
        v, z = carry
        i, m = inputs
        v, z = belt.substep(p, v, z, m[None], i * dt, dt)
        return (v, z), v[0]

    v = p.setpoint if v0 is None else jnp.asarray([v0])
    (v, z), trace = jax.lax.scan(body, (v, jnp.zeros(1)), (jnp.arange(steps), load))
    return v, z, trace


def test_steady_state_mechanical_power_is_drag_times_speed():
    p = params()
    v, z, _ = run(p, 300.0, 3000)
    force, _ = belt.motor_force(p, v, z)
    drag = belt.drag_force(p, v, jnp.asarray([300.0]), 0.0)
    assert float(v[0]) == pytest.approx(0.2, rel=STEADY_RTOL)
    assert float(force[0] * v[0]) == pytest.approx(float(drag[0] * v[0]), rel=STEADY_RTOL)
    expected = 0.03 * belt.GRAVITY * 500.0 * np.tanh(0.2 / belt.SIGN_SPEED) + 50.0 * 0.2
    assert float(drag[0]) == pytest.approx(expected, rel=1e-12)


def test_load_step_dips_speed_and_controller_recovers():
    p = params()
    load = jnp.where(jnp.arange(4000) < 2000, 0.0, 600.0)  # 600 kg of parts land at t = 40 s
    _, _, v = run(p, load, 4000)
    before, after = np.asarray(v[1900:2000]), np.asarray(v[2000:])
    assert np.allclose(before, 0.2, rtol=1e-6)
    assert after.min() < 0.2 * (1 - 1e-3)  # a visible dip
    assert abs(after[-1] - 0.2) < 1e-6 * 0.2  # recovered
    assert np.argmin(after) < 100  # the dip comes right after the step


@pytest.mark.parametrize("change", [{"load": 800.0}, {"wear": 0.5}])
def test_current_rises_with_load_and_wear(change):
    base_v, base_z, _ = run(params(), 100.0, 3000)
    p = params(wear=change.get("wear", 0.0))
    v, z, _ = run(p, change.get("load", 100.0), 3000)
    i0, _, _ = belt.electrics(params(), belt.motor_force(params(), base_v, base_z)[0], base_v)
    i1, _, _ = belt.electrics(p, belt.motor_force(p, v, z)[0], v)
    assert float(i1[0]) > float(i0[0])


def test_implicit_substep_is_stable_where_explicit_euler_is_not():
    """A light belt with stiff gains: m/kp = 4 ms; 50 ms substeps still settle at the setpoint."""
    p = params(belt_mass=20.0, kp=5.0e3)
    v, _, trace = run(p, 0.0, 400, v0=0.0, dt=0.05)
    assert np.all(np.isfinite(np.asarray(trace)))
    assert float(v[0]) == pytest.approx(0.2, rel=1e-6)
