"""Energy closes for the coupled line: air and solids, parts riding and leaving, heaters."""

from __future__ import annotations

import jax.numpy as jnp
import pytest

import twin
from line_scenes import small_line
from twin.kernels import thermal
from twin.step import fixed_terms

ENERGY_RTOL = 1e-9  # float64; the flux form telescopes and part exchange deposits exactly what parts lose
MOTOR_ENERGY_RTOL = 1e-3  # the belt's implicit substeps conserve kinetic energy only to their truncation error


@pytest.mark.parametrize("method", ["explicit", "backward_euler"])
def test_insulated_line_energy_balance(method):
    spec = small_line()
    for key in ("boundaries", "ambient", "hvac"):
        spec.pop(key)
    layout, params, state = twin.build(twin.scene_from_mapping(spec), jnp.float64)
    final, _ = twin.rollout(layout, params, state, twin.Solver(method=method, dt=1.0, tol=1e-13), n_steps=500)

    coeffs = fixed_terms(layout, params).coeffs
    air = thermal.heat_content(final.T, coeffs, layout.cell_volume) - thermal.heat_content(state.T, coeffs,
                                                                                            layout.cell_volume)
    p, mc = final.parts, params.part_mass[0] * params.part_c_p[0]
    riding = mc * jnp.sum(jnp.where(p.alive[0], p.T[0], 0.0))
    left = mc * p.picked_T[0, 0]  # sum of the temperatures parts left with
    entered = mc * params.part_T0[0] * p.n_in[0]
    heater = jnp.sum(params.heater_efficiency * final.heater_energy)
    motors = jnp.sum(final.belts.heat)  # motor losses at the motors, drag work along the belts
    assert int(p.n_out[0]) > 0  # parts have carried heat out of the hall
    assert float(motors) > 0.0
    assert float(air + riding + left - entered) == pytest.approx(float(heater + motors), rel=ENERGY_RTOL)


def test_motor_energy_is_heat_plus_kinetic_energy():
    """Electrical energy = losses + drag work (heat) + the belt's kinetic-energy change."""
    spec = small_line()
    spec["conveyors"]["belt"]["speed"] = 0.3
    layout, params, state = twin.build(twin.scene_from_mapping(spec), jnp.float64)
    final, _ = twin.rollout(layout, params, state, twin.Solver(dt=1.0), n_steps=300)
    b = final.belts
    mass = params.belts.belt_mass  # kinetic energy of the belts; the parts on them add a negligible share
    kinetic = 0.5 * mass * (b.v**2 - state.belts.v**2)
    assert float(jnp.sum(b.energy)) == pytest.approx(float(jnp.sum(b.heat + kinetic)), rel=MOTOR_ENERGY_RTOL)
