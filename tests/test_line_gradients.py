"""jax.grad through the whole coupled line matches float64 central differences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import twin
from line_scenes import small_line

GRAD_RTOL = 1e-5  # the bound; central differences with a 1e-6 relative step are good to ~1e-9 here
FD_REL_STEP = 1e-6
N_STEPS = 60  # long enough for heaters, parts and faces to act; short of any pick (stations at 6 m)


def _leaf_setters(params: twin.Params, layout: twin.Layout):
    """(name, get, set) for a conductivity, a heat-transfer coefficient (a face's and the parts') and belt speed."""
    robin = [i for i, f in enumerate(layout.faces) if f.kind == "robin"][0]
    return {
        "zone_k[oven]": (lambda p: p.zone_k[1], lambda p, v: p.replace(zone_k=p.zone_k.at[1].set(v))),
        "face h (robin)": (
            lambda p: p.faces[robin].h,
            lambda p, v: p.replace(faces=tuple(f.replace(h=v) if i == robin else f for i, f in enumerate(p.faces))),
        ),
        "part h": (lambda p: p.part_h[0], lambda p, v: p.replace(part_h=p.part_h.at[0].set(v))),
        "belt speed": (lambda p: p.belts.setpoint[0],
                       lambda p, v: p.replace(belts=p.belts.replace(setpoint=p.belts.setpoint.at[0].set(v)))),
    }


@pytest.mark.parametrize("method", ["explicit", "crank_nicolson"])
def test_grad_of_final_field_matches_central_differences(method):
    layout, params, state = twin.build(twin.scene_from_mapping(small_line()), jnp.float64)
    solver = twin.Solver(method=method, dt=1.0, tol=1e-13)
    weights = jnp.asarray(np.random.default_rng(0).uniform(0.0, 1.0, layout.shape))

    def objective(p):
        final, _ = twin.rollout(layout, p, state, solver, n_steps=N_STEPS)
        return jnp.sum(weights * final.T) + jnp.sum(jnp.where(final.parts.alive, final.parts.T, 0.0))

    grads = jax.grad(objective)(params)
    objective = jax.jit(objective)
    for name, (get, put) in _leaf_setters(params, layout).items():
        value = float(get(params))
        eps = FD_REL_STEP * abs(value)
        fd = (objective(put(params, value + eps)) - objective(put(params, value - eps))) / (2 * eps)
        ad = float(get(grads))
        assert ad == pytest.approx(float(fd), rel=GRAD_RTOL), name
        assert abs(ad) > 0.0, f"{name}: zero gradient means the parameter does not reach the objective"


@pytest.mark.parametrize("coefficient", ["rolling_resistance", "viscous_drag"])
def test_grad_of_motor_energy_wrt_drag_matches_central_differences(coefficient):
    layout, params, state = twin.build(twin.scene_from_mapping(small_line()), jnp.float64)

    def energy(c):
        p = params.replace(belts=params.belts.replace(**{coefficient: c}))
        final, _ = twin.rollout(layout, p, state, twin.Solver(dt=1.0), n_steps=N_STEPS)
        return jnp.sum(final.belts.energy)

    c0 = getattr(params.belts, coefficient)
    ad = jax.grad(energy)(c0)
    eps = FD_REL_STEP * c0
    fd = (jax.jit(energy)(c0 + eps) - jax.jit(energy)(c0 - eps)) / (2 * eps)
    assert float(ad[0]) == pytest.approx(float(fd[0]), rel=GRAD_RTOL)
    assert float(ad[0]) > 0.0  # more drag, more energy
