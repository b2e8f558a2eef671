"""AD through the whole coupled line, in float64 and float32, matches float64 central differences.

One objective with two rows (a weighted sum of the field and the parts' temperatures, and the motors'
electrical energy), differentiated by one reverse-mode Jacobian: one compile per method and precision.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fixtures import small_line
from tolerances import DTYPES, tol

import twin

FD_REL_STEP = 1e-6  # central differences with a 1e-6 relative step are good to ~1e-9 here
N_STEPS = 60  # long enough for heaters, parts and faces to act; short of any pick (stations at 6 m)
FIELD, ENERGY = 0, 1  # the objective's rows


def _belt_setter(name: str):
    return (
        lambda p: getattr(p.belts, name)[0],
        lambda p, v: p.replace(belts=p.belts.replace(**{name: getattr(p.belts, name).at[0].set(v)})),
    )


def _leaf_setters(params: twin.Params, layout: twin.Layout):
    """(get, set) per parameter, and the rows it must reach: a conductivity, heat-transfer coefficients
    (a face's and the parts'), the belt's speed and its drag coefficients."""
    robin = [i for i, f in enumerate(layout.faces) if f.kind == "robin"][0]
    return {
        "zone_k[oven]": ((lambda p: p.zone_k[1], lambda p, v: p.replace(zone_k=p.zone_k.at[1].set(v))), (FIELD,)),
        "face h (robin)": (
            (
                lambda p: p.faces[robin].h,
                lambda p, v: p.replace(faces=tuple(f.replace(h=v) if i == robin else f for i, f in enumerate(p.faces))),
            ),
            (FIELD,),
        ),
        "part h": ((lambda p: p.part_h[0], lambda p, v: p.replace(part_h=p.part_h.at[0].set(v))), (FIELD,)),
        "belt speed": (_belt_setter("setpoint"), (FIELD, ENERGY)),
        "rolling_resistance": (_belt_setter("rolling_resistance"), (ENERGY,)),
        "viscous_drag": (_belt_setter("viscous_drag"), (ENERGY,)),
    }


def _objective(method: str, precision: str):
    """(objective(params) → [field, motor energy], params, leaf setters) after N_STEPS of small_line."""
    layout, params, state = twin.build(twin.scene_from_mapping(small_line()), DTYPES[precision])
    solver = twin.Solver(method=method, dt=1.0, tol=1e-13 if precision == "float64" else None)
    weights = jnp.asarray(np.random.default_rng(0).uniform(0.0, 1.0, layout.shape), DTYPES[precision])

    def objective(p):
        final, _ = twin.rollout(layout, p, state, solver, n_steps=N_STEPS)
        field = jnp.sum(weights * final.T) + jnp.sum(jnp.where(final.parts.alive, final.parts.T, 0.0))
        return jnp.stack([field, jnp.sum(final.belts.energy)])

    return objective, params, _leaf_setters(params, layout)


@functools.cache
def _central_differences(method: str) -> dict[str, np.ndarray]:
    """float64 central differences of both rows, per parameter."""
    objective, params, setters = _objective(method, "float64")
    objective = jax.jit(objective)
    out = {}
    for name, ((get, put), _) in setters.items():
        value = float(get(params))
        eps = FD_REL_STEP * abs(value)
        out[name] = np.asarray((objective(put(params, value + eps)) - objective(put(params, value - eps))) / (2 * eps))
    return out


@pytest.mark.parametrize(
    "method, precision",
    [
        ("explicit", "float64"),
        ("explicit", "float32"),
        pytest.param("crank_nicolson", "float64", marks=pytest.mark.slow),  # 57 s; the implicit adjoint is also
    ],
)  # checked in the default run by tests/test_thermal_balance.py::test_gradient_matches_central_differences
def test_jacobian_of_field_and_motor_energy_matches_central_differences(method, precision):
    objective, params, setters = _objective(method, precision)
    jacobian = jax.jit(jax.jacrev(objective))(params)
    rows = [jax.tree.map(lambda leaf, i=i: leaf[i], jacobian) for i in (FIELD, ENERGY)]
    row_tolerance = {FIELD: tol("line_gradient", precision), ENERGY: tol("motor_energy_gradient", precision)}
    for name, ((get, _), reached) in setters.items():
        fd = _central_differences(method)[name]
        for row in reached:
            ad = float(get(rows[row]))
            assert ad == pytest.approx(float(fd[row]), rel=row_tolerance[row]), (name, row)
            assert abs(ad) > 0.0, f"{name}: zero gradient means the parameter does not reach row {row}"
    energy_rows = [
        float(get(rows[ENERGY]))
        for name, ((get, _), _) in setters.items()
        if name in ("rolling_resistance", "viscous_drag")
    ]
    assert min(energy_rows) > 0.0  # more drag, more energy
