"""Energy closes for the coupled line: air and solids, parts riding and leaving, heaters."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from fixtures import small_line
from tolerances import DTYPES, tol

import twin
from twin.step import fixed_terms


def _f64(x) -> np.ndarray:
    """The test's own sums in float64, whatever precision the run used."""
    return np.asarray(x, np.float64)


@pytest.mark.parametrize("method", ["explicit", "backward_euler"])
def test_insulated_line_energy_balance(method, precision):
    spec = small_line()
    for key in ("boundaries", "ambient", "hvac"):
        spec.pop(key)
    layout, params, state = twin.build(twin.scene_from_mapping(spec), DTYPES[precision])
    tol_cg = 1e-13 if precision == "float64" else None  # float32: CG's default, 1e-5
    final, _ = twin.rollout(layout, params, state, twin.Solver(method=method, dt=1.0, tol=tol_cg), n_steps=500)

    rho_c = _f64(1.0 / fixed_terms(layout, params).coeffs.inv_capacity)
    air = float(np.sum(rho_c * (_f64(final.T) - _f64(state.T)))) * layout.cell_volume
    p, mc = final, float(params.part_mass[0] * params.part_c_p[0])
    riding = mc * float(np.sum(np.where(p.parts.alive[0], _f64(p.parts.T[0]), 0.0)))
    left = mc * float(p.tallies.picked_T[0, 0])  # sum of the temperatures parts left with
    entered = mc * float(params.part_T0[0]) * int(p.tallies.n_in[0])
    heater = float(np.sum(_f64(params.heater_efficiency) * _f64(final.heater_energy)))
    motors = float(np.sum(_f64(final.belts.heat)))  # motor losses at the motors, drag work along the belts
    assert int(p.tallies.n_out[0]) > 0  # parts have carried heat out of the hall
    assert motors > 0.0
    assert air + riding + left - entered == pytest.approx(heater + motors, rel=tol("line_energy", precision))


def test_motor_energy_is_heat_plus_kinetic_energy(precision):
    """Electrical energy = losses + drag work (heat) + the belt's kinetic-energy change."""
    spec = small_line()
    spec["conveyors"]["belt"]["speed"] = 0.3
    layout, params, state = twin.build(twin.scene_from_mapping(spec), DTYPES[precision])
    final, _ = twin.rollout(layout, params, state, twin.Solver(dt=1.0), n_steps=300)
    b = final.belts
    mass = params.belts.belt_mass  # kinetic energy of the belts; the parts on them add a negligible share
    kinetic = 0.5 * mass * (b.v**2 - state.belts.v**2)
    assert float(jnp.sum(b.energy)) == pytest.approx(
        float(jnp.sum(b.heat + kinetic)), rel=tol("motor_energy", precision)
    )
