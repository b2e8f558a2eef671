"""Belt segments: steady state, load-step recovery, current against load and wear, implicit substeps
(float64)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from twin.kernels import belt

# The PI integral removes the speed error; what is left after 60 s is round-off: speed, power and current
# measured ≤ 1.6e-15 relative (×12).
STEADY_RTOL = 2e-14
SETTLE_RTOL = 1e-9  # a light stiff belt after 20 s of 50 ms backward-Euler substeps; measured 1.2e-10 (×8)
DT = 0.02  # s, substep


def params(**kw) -> belt.BeltParams:
    base = dict(
        setpoint=0.2,
        belt_mass=200.0,
        rolling_resistance=0.03,
        viscous_drag=50.0,
        wear=0.0,
        wear_rate=0.0,
        max_force=2000.0,
        kp=5.0e3,
        ki=5.0e3,
        current_per_force=2e-3,
        no_load_current=1.0,
        resistance=2.0,
        fixed_loss=50.0,
    )
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
    (v, z), trace = jax.lax.scan(body, (v, jnp.zeros(1)), (jnp.arange(steps, dtype=jnp.float64), load))
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
    np.testing.assert_allclose(before, 0.2, rtol=STEADY_RTOL)
    assert after.min() < 0.2 * (1 - 1e-3)  # a visible dip: measured to 0.1726 m/s
    assert after[-1] == pytest.approx(0.2, rel=STEADY_RTOL)  # recovered
    assert np.argmin(after) < 100  # the dip comes right after the step


@pytest.mark.parametrize("load, wear", [(100.0, 0.0), (800.0, 0.0), (100.0, 0.5)])
def test_steady_current_is_no_load_current_plus_current_per_force_times_drag(load, wear):
    """At the setpoint the drive force is the drag, so I = I₀ + k_I·(1 + w)·(μ·g·(m_belt + m_load)·tanh(v/v_ε)
    + c·v): current rises with the load and with the wear."""
    p = params(wear=wear)
    v, z, _ = run(p, load, 3000)
    current, _, _ = belt.electrics(p, belt.motor_force(p, v, z)[0], v)
    drag = (1.0 + wear) * (0.03 * belt.GRAVITY * (200.0 + load) * np.tanh(0.2 / belt.SIGN_SPEED) + 50.0 * 0.2)
    assert float(current[0]) == pytest.approx(1.0 + 2e-3 * drag, rel=STEADY_RTOL)


def _explicit_euler(p, steps, dt):
    """Speeds over `steps` explicit-Euler substeps of the unloaded belt from rest."""

    def body(carry, _):
        v, z = carry
        force, rate = belt.motor_force(p, v, z)
        return (v + dt * (force - belt.drag_force(p, v, 0.0, 0.0)) / p.belt_mass, z + dt * rate), v[0]

    return np.asarray(jax.lax.scan(body, (jnp.zeros(1), jnp.zeros(1)), None, length=steps)[1])


def test_implicit_substep_is_stable_where_explicit_euler_is_not():
    """A light belt with stiff gains: m/kp = 4 ms. At 50 ms substeps (kp·dt/m = 12.5 > 2) explicit Euler
    swings between the force limits and never settles; backward Euler settles at the setpoint."""
    p = params(belt_mass=20.0, kp=5.0e3)
    v, _, trace = run(p, 0.0, 400, v0=0.0, dt=0.05)
    assert np.all(np.isfinite(np.asarray(trace)))
    assert float(v[0]) == pytest.approx(0.2, rel=SETTLE_RTOL)
    explicit = _explicit_euler(p, 400, 0.05)
    assert np.max(np.abs(explicit[-100:] - 0.2)) > 0.05  # measured 0.31 m/s off over the last 5 s
