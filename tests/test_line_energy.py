"""Energy closes for the coupled line: air and solids, parts riding and leaving, heaters."""

from __future__ import annotations

import jax.numpy as jnp
import pytest

import twin
from line_scenes import small_line
from twin.kernels import thermal
from twin.step import fixed_terms

ENERGY_RTOL = 1e-9  # float64; the flux form telescopes and part exchange deposits exactly what parts lose


@pytest.mark.parametrize("method", ["explicit", "backward_euler"])
def test_insulated_line_energy_balance(method):
    spec = small_line()
    for key in ("boundaries", "ambient", "hvac"):
        spec.pop(key)
    layout, params, state = twin.build(twin.scene_from_mapping(spec), jnp.float64)
    final, _ = twin.rollout(layout, params, state, twin.Solver(method=method, tol=1e-13), dt=1.0, n_steps=500)

    coeffs = fixed_terms(layout, params).coeffs
    air = thermal.heat_content(final.T, coeffs, layout.cell_volume) - thermal.heat_content(state.T, coeffs,
                                                                                            layout.cell_volume)
    p, mc = final.parts, params.part_mass[0] * params.part_c_p[0]
    riding = mc * jnp.sum(jnp.where(p.alive[0], p.T[0], 0.0))
    left = mc * p.picked_T[0, 0]  # sum of the temperatures parts left with
    entered = mc * params.part_T0[0] * p.n_in[0]
    heater = jnp.sum(params.heater_efficiency * final.heater_energy)
    assert int(p.n_out[0]) > 0  # parts have carried heat out of the hall
    assert float(air + riding + left - entered) == pytest.approx(float(heater), rel=ENERGY_RTOL)
