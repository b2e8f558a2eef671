"""Finite-volume heat conduction on a cell-centred grid, 2D `(ny, nx)` or 3D `(nz, ny, nx)`, same code.

    ρc ∂T/∂t = ∇·(k∇T) + S − D·T            T in °C, t in s

Every term is a power density in W/m³ until the last multiplication by 1/(ρc). Interior fluxes are
written once per face and enter the two cells with opposite signs, so the total heat changes only by the
sources, the sink and the boundary faces (to round-off): `heat_content`, `boundary_heat_rate` and
`source_heat_rate` make that balance checkable.

Conventions
-----------
* Axes are array axes, axis 0 first; spacing, conductance and boundaries are given per array axis.
* `Coefficients.conductance[a]` is k_face/dx_a² (W/(m³·K)) on the faces normal to axis a: a scalar for
  uniform k, or an array of the field shape with one more entry along a (the two outer faces are ignored:
  boundary faces are described by `Face`).
* The sink is D·T with T in °C, so an exchange D·(T − T_ref) is written as sink D plus source D·T_ref.
* Scalars stay scalars: with uniform coefficients the step reads nothing but T. Entries that are a
  literal Python 0.0 (the defaults: no sink, no flux, no radiation) are skipped at trace time; that holds
  when the coefficients are built or closed over inside the jitted function, not when they are passed
  in as jit arguments (then they are traced scalars and cost a few flops per cell).

Stencil form, chosen by measurement on CPU (benchmarks/README.md): each neighbour is a one-cell slice of
T zero-padded back to T's shape (XLA fuses these; padding T once and slicing the copy materialised the
copy and ran at half the speed), boundary neighbours and face terms go in with `where` on an iota, all
in one fusion.
Face terms are evaluated with the whole field and masked: indexing an edge slice of T inside the
fusion measured 35 % slower. Edge/reflect padding and `roll` (2–3×) and `.at[].add` or edge updates
(30–60 %) are slower still.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, ArrayLike, Float

from . import linear_solve

SIGMA = 5.670374419e-8  # Stefan–Boltzmann constant, W/(m²·K⁴)
KELVIN = 273.15  # °C → K offset

Field = Float[Array, "*grid"]
FieldLike = Float[ArrayLike, "*grid"]  # a field-shaped array or a scalar
SlabLike = Float[ArrayLike, "*slab"]  # broadcastable to the face's edge slab (field shape, 1 along the axis)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Coefficients:
    """Material terms of the heat equation; a pytree, so every entry can be differentiated.

    inv_capacity: 1/(ρc) per cell, m³·K/J; field shape or scalar.
    conductance: per array axis (axis 0 first) k_face/dx² in W/(m³·K); scalar, or an array of the field
        shape with +1 along that axis (faces; the two boundary faces are ignored but must be finite).
    sink: D in W/(m³·K), volumetric exchange (HVAC, ambient) as −D·T; field shape or scalar.
    """

    inv_capacity: FieldLike
    conductance: tuple[FieldLike, ...]
    sink: FieldLike = 0.0


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Face:
    """One boundary face of the domain; entries are scalars or broadcastable to its edge slab.

    The power density added to the edge cell, in W/m³, is
        flux + conductance·(temperature − T_edge) + radiation·((temperature+273.15)⁴ − (T_edge+273.15)⁴)

    conductance: A, W/(m³·K) (Dirichlet, Robin); temperature: °C, reference of A and of radiation;
    flux: Q, W/m³ (Neumann q/dx); radiation: E = ε·σ/dx, W/(m³·K⁴).
    """

    conductance: SlabLike = 0.0
    temperature: SlabLike = 0.0
    flux: SlabLike = 0.0
    radiation: SlabLike = 0.0


# Per array axis: (low side, high side); None is adiabatic.
Boundaries = tuple[tuple[Optional[Face], Optional[Face]], ...]


# ---------------------------------------------------------------------------------------------- builders


@jax.jit  # one program per shape rather than a dozen eager ops; spacing may be traced
def face_conductance(k_cell: Field, spacing: tuple[float, ...]) -> tuple[Field, ...]:
    """Harmonic-mean face conductivity / dx² per array axis, W/(m³·K), from a per-cell k (W/(m·K)).

    The harmonic mean makes the flux through two half cells in series exact (layered walls). Returns one
    array per axis, shape of `k_cell` with +1 along that axis; the boundary faces are 0.
    """
    if len(spacing) != k_cell.ndim:
        raise ValueError(f"face_conductance: got {len(spacing)} spacings for a {k_cell.ndim}-D k field; "
                         "give one spacing per array axis, axis 0 first")
    out = []
    for axis, dx in enumerate(spacing):
        n = k_cell.shape[axis]
        lo = lax.slice_in_dim(k_cell, 0, n - 1, axis=axis)
        hi = lax.slice_in_dim(k_cell, 1, n, axis=axis)
        total = lo + hi
        # Double where: zero conductivity on both sides gives 0, with a finite gradient.
        safe = jnp.where(total > 0, total, 1.0)
        k_face = jnp.where(total > 0, 2.0 * lo * hi / safe, 0.0)
        pad = [(0, 0)] * k_cell.ndim
        pad[axis] = (1, 1)
        out.append(jnp.pad(k_face / dx**2, pad))
    return tuple(out)


def dirichlet(T_wall: SlabLike, k_edge: SlabLike, dx: float) -> Face:
    """Wall held at T_wall (°C) on the face, half a cell from the edge cell centre: A = 2k/dx²."""
    return Face(conductance=2.0 * k_edge / dx**2, temperature=T_wall)


def robin(h: SlabLike, T_fluid: SlabLike, k_edge: SlabLike, dx: float) -> Face:
    """Convection, h in W/(m²·K), to a fluid at T_fluid (°C): film and half cell in series.

    A = 1/(dx·(1/h + dx/(2k))), written without 1/h so h = 0 (and its gradient) is fine.
    """
    return Face(conductance=2.0 * h * k_edge / (dx * (2.0 * k_edge + h * dx)), temperature=T_fluid)


def neumann(q: SlabLike, dx: float) -> Face:
    """Prescribed heat flux q in W/m² into the domain: Q = q/dx."""
    return Face(flux=q / dx)


def radiation(emissivity: SlabLike, T_surr: SlabLike, dx: float) -> Face:
    """Grey-body radiation exchange with surroundings at T_surr (°C): E = ε·σ/dx."""
    return Face(temperature=T_surr, radiation=emissivity * SIGMA / dx)


# ---------------------------------------------------------------------------------------------- stencil


def _slab(x, shape: tuple[int, ...], axis: int):
    """Face entry ready to broadcast against the edge slab; scalars stay scalars (cheap uniform case)."""
    if np.ndim(x) == 0:
        return x
    slab = shape[:axis] + (1,) + shape[axis + 1:]
    return jnp.broadcast_to(x, slab)


def _edge(T: Field, axis: int, side: int) -> Field:
    n = T.shape[axis]
    i = 0 if side == 0 else n - 1
    return lax.slice_in_dim(T, i, i + 1, axis=axis)


def _radiative_difference(T_ref, T_edge):
    """(T_ref+273.15)⁴ − (T_edge+273.15)⁴ factored, so small differences keep their digits."""
    a, b = T_ref + KELVIN, T_edge + KELVIN
    return (a - b) * (a + b) * (a * a + b * b)


def _static_zero(x) -> bool:
    """True for a literal Python/NumPy zero: the term is skipped at trace time (no per-cell work)."""
    return isinstance(x, (int, float, np.number)) and x == 0


def _face_power(T_at: Field, face: Face, shape: tuple[int, ...], axis: int, linear_only: bool):
    """Power density (W/m³) a face puts into the cells whose temperatures are `T_at`; None if no terms.

    `T_at` is either the edge slab or the whole field (the stencil masks it with `where` afterwards:
    evaluating the few flops on every cell vectorises, while indexing an edge slice inside the stencil
    fusion was measured 35 % slower). Statically-zero entries are skipped. `linear_only` keeps just
    −A·T, the part the implicit solve treats implicitly.
    """
    A, T_ref = _slab(face.conductance, shape, axis), _slab(face.temperature, shape, axis)
    terms = []
    if not _static_zero(face.conductance):
        terms.append(-A * T_at if linear_only or _static_zero(face.temperature) else A * (T_ref - T_at))
    if not linear_only and not _static_zero(face.flux):
        terms.append(_slab(face.flux, shape, axis))
    if not linear_only and not _static_zero(face.radiation):
        terms.append(_slab(face.radiation, shape, axis) * _radiative_difference(T_ref, T_at))
    return sum(terms[1:], terms[0]) if terms else None


def _check_conductance(G, shape: tuple[int, ...], axis: int) -> None:
    if np.ndim(G) == 0:
        return
    want = shape[:axis] + (shape[axis] + 1,) + shape[axis + 1:]
    if tuple(G.shape) != want:
        raise ValueError(f"conductance[{axis}] has shape {tuple(G.shape)}; for a field of shape {shape} it "
                         f"must be a scalar or have shape {want} (one entry per face along axis {axis})")


def _neighbours(T: Field, axis: int) -> tuple[Field, Field]:
    """(lower, upper) neighbour of every cell along `axis`: each a slice of T shifted by one cell and
    zero-padded back to T's shape, which XLA fuses into the consumer (no padded copy of T is made)."""
    n = T.shape[axis]
    low, high = [(0, 0)] * T.ndim, [(0, 0)] * T.ndim
    low[axis], high[axis] = (1, 0), (0, 1)
    down = jnp.pad(lax.slice_in_dim(T, 0, n - 1, axis=axis), low)
    up = jnp.pad(lax.slice_in_dim(T, 1, n, axis=axis), high)
    return down, up


def _axis_power(T: Field, G, faces, axis: int, linear_only: bool) -> Field:
    """Conduction along one axis plus that axis' two boundary faces, W/m³."""
    _check_conductance(G, T.shape, axis)
    n = T.shape[axis]
    iota = lax.broadcasted_iota(jnp.int32, T.shape, axis)
    down, up = _neighbours(T, axis)
    # Ghost = own value at the domain edge: zero interior flux through boundary faces.
    down = jnp.where(iota == 0, T, down)
    up = jnp.where(iota == n - 1, T, up)
    if np.ndim(G) == 0:
        total = G * (down + up - 2.0 * T)
    else:
        G_lo = lax.slice_in_dim(G, 0, n, axis=axis)
        G_hi = lax.slice_in_dim(G, 1, n + 1, axis=axis)
        total = G_lo * (down - T) + G_hi * (up - T)
    for side, face in enumerate(faces):
        term = None if face is None else _face_power(T, face, T.shape, axis, linear_only)
        if term is not None:
            total = total + jnp.where(iota == (0 if side == 0 else n - 1), term, 0.0)
    return total


def _power(T: Field, coeffs: Coefficients, boundaries: Boundaries, source, linear_only: bool) -> Field:
    """Net power density into each cell, W/m³ (`linear_only`: the homogeneous linear part L·T)."""
    if len(coeffs.conductance) != T.ndim or len(boundaries) != T.ndim:
        raise ValueError(f"a {T.ndim}-D field needs {T.ndim} conductances and {T.ndim} boundary pairs; got "
                         f"{len(coeffs.conductance)} and {len(boundaries)}")
    terms = [_axis_power(T, G, boundaries[axis], axis, linear_only) for axis, G in enumerate(coeffs.conductance)]
    if not _static_zero(coeffs.sink):
        terms.append(-coeffs.sink * T)
    if not (linear_only or _static_zero(source)):
        terms.append(source)
    total = sum(terms[1:], terms[0])  # no `0.0 +` start: XLA keeps float adds of zero
    return total


def power_density(T: Field, coeffs: Coefficients, boundaries: Boundaries, source: FieldLike) -> Field:
    """ρc·dT/dt: net power density into each cell, W/m³ (conduction + source − sink + boundary faces)."""
    return _power(T, coeffs, boundaries, source, linear_only=False)


def rhs(T: Field, coeffs: Coefficients, boundaries: Boundaries, source: FieldLike) -> Field:
    """dT/dt in K/s for temperatures T (°C) and a source S in W/m³ (field shape or scalar)."""
    return coeffs.inv_capacity * power_density(T, coeffs, boundaries, source)


def explicit_step(T: Field, coeffs: Coefficients, boundaries: Boundaries, source: FieldLike, dt) -> Field:
    """One forward-Euler step of dt seconds. Stable for dt ≤ `stable_dt(...)`; check with `check_dt`."""
    return T + dt * rhs(T, coeffs, boundaries, source)


# ---------------------------------------------------------------------------------------------- stability


def _infer_shape(coeffs: Coefficients) -> tuple[int, ...] | None:
    """The field shape, if any coefficient is an array (scalar-only coefficients carry no shape)."""
    for axis, G in enumerate(coeffs.conductance):
        if np.ndim(G) > 0:
            return tuple(s - (a == axis) for a, s in enumerate(np.shape(G)))
    for x in (coeffs.inv_capacity, coeffs.sink):
        if np.ndim(x) == len(coeffs.conductance):
            return tuple(np.shape(x))
    return None


def _loss_rates(coeffs: Coefficients, boundaries: Boundaries, shape: tuple[int, ...], T_max=None,
                reduce_faces: bool = False):
    """Per cell, W/(m³·K): (Σ conductances of its interior faces, sink + boundary-face conductances).

    These are the off-diagonal row sum and the extra diagonal of −L (the linear operator of
    `power_density`). With `T_max` (°C) radiation adds its linearisation 4E(T_max+273.15)³. With
    `reduce_faces`, face entries are replaced by their maximum (for a representative small grid).
    """
    conduction, local = 0.0, coeffs.sink
    for axis, G in enumerate(coeffs.conductance):
        n = shape[axis]
        iota = lax.broadcasted_iota(jnp.int32, shape, axis)
        G_lo = G if np.ndim(G) == 0 else lax.slice_in_dim(G, 0, n, axis=axis)
        G_hi = G if np.ndim(G) == 0 else lax.slice_in_dim(G, 1, n + 1, axis=axis)
        conduction = conduction + jnp.where(iota > 0, G_lo, 0.0) + jnp.where(iota < n - 1, G_hi, 0.0)
        for side, face in enumerate(boundaries[axis]):
            if face is None:
                continue
            entry = jnp.max if reduce_faces else (lambda x: _slab(x, shape, axis))
            rate = entry(face.conductance)
            if T_max is not None:
                rate = rate + 4.0 * entry(face.radiation) * (T_max + KELVIN) ** 3
            local = local + jnp.where(iota == (0 if side == 0 else n - 1), rate, 0.0)
    return conduction, local


@functools.partial(jax.jit, static_argnames=("shape",))  # one small program instead of many eager ops
def stable_dt(coeffs: Coefficients, boundaries: Boundaries, T_max: float = 1000.0, safety: float = 0.9,
              shape: tuple[int, ...] | None = None):
    """Largest stable forward-Euler dt in s, times `safety`: 2/λ_max of the linearised operator.

    λ_max is bounded by Gershgorin on the rows of (1/ρc)·L: (1/ρc)·(2·Σ face conductances + D + Σ A +
    4E(T_max+273.15)³), the radiation linearised at the hottest expected temperature `T_max` (°C). For
    uniform interiors the bound is sharp (the checkerboard mode), so dt well above it blows up. At
    `safety` ≤ 0.5 the update is also monotone (no over/undershoot), not only stable.

    `shape` is the field shape; it is inferred from array coefficients, and with scalar-only
    coefficients a representative 3-per-axis grid gives the same bound as any grid with ≥ 3 cells per axis.
    """
    shape = shape if shape is not None else _infer_shape(coeffs)
    reduce_faces = shape is None
    if shape is None:
        shape = (3,) * len(coeffs.conductance)
    conduction, local = _loss_rates(coeffs, boundaries, tuple(shape), T_max, reduce_faces)
    row = coeffs.inv_capacity * (2.0 * conduction + local)
    return safety * 2.0 / jnp.max(row)


def check_dt(dt: float, coeffs: Coefficients, boundaries: Boundaries, T_max: float = 1000.0,
             shape: tuple[int, ...] | None = None) -> None:
    """Raise ValueError if an explicit dt (s) is above the stability limit. Eager code only (not in jit)."""
    limit = float(stable_dt(coeffs, boundaries, T_max=T_max, safety=1.0, shape=shape))
    if dt > limit:
        raise ValueError(f"explicit thermal dt = {dt:g} s is above the stability limit {limit:g} s (for "
                         f"temperatures up to {T_max:g} °C); take dt ≤ {0.9 * limit:g} s or an implicit method")


# ---------------------------------------------------------------------------------------------- implicit


def implicit_step_with_info(T: Field, coeffs: Coefficients, boundaries: Boundaries, source: FieldLike, dt,
                            theta: float = 1.0, tol: float | None = None, maxiter: int | None = None):
    """`implicit_step`, also returning the CG status (`linear_solve.CGInfo`) — check `info.converged`."""
    if maxiter is None:
        maxiter = 1000 + 10 * max(T.shape)
    # Solve for the increment δ = T¹ − T⁰:  (ρc/dt − θ·L) δ = L·T⁰ + b = power_density(T⁰).
    # Its right-hand side vanishes at steady state, so the relative CG tolerance tracks the change,
    # and dt = inf (ρc/dt = 0) with θ = 1 is a steady-state solve.
    power0 = power_density(T, coeffs, boundaries, source)
    capacity_rate = 1.0 / (coeffs.inv_capacity * dt)  # W/(m³·K)

    def matvec(v):
        return capacity_rate * v - theta * _power(v, coeffs, boundaries, 0.0, linear_only=True)

    conduction, local = _loss_rates(coeffs, boundaries, T.shape)
    diag = capacity_rate + theta * (conduction + local)
    delta, info = linear_solve.solve_spd(matvec, power0, diag, rtol=tol, maxiter=maxiter)
    return T + delta, info


def implicit_step(T: Field, coeffs: Coefficients, boundaries: Boundaries, source: FieldLike, dt,
                  theta: float = 1.0, tol: float | None = None, maxiter: int | None = None) -> Field:
    """One θ-step of dt seconds: θ = 1 backward Euler, θ = 0.5 Crank–Nicolson.

    Conduction, sink and face conductances are implicit (matrix-free Jacobi-CG inside
    `lax.custom_linear_solve`, so gradients reach T, source and every coefficient); radiation and the
    other face terms are taken at the old T (lagged). `tol` is CG's relative residual (default 1e-10 in
    float64, 1e-5 in float32), `maxiter` its iteration cap (default 1000 + 10·max(shape)).
    """
    return implicit_step_with_info(T, coeffs, boundaries, source, dt, theta, tol, maxiter)[0]


def steady_state(T_guess: Field, coeffs: Coefficients, boundaries: Boundaries, source: FieldLike,
                 tol: float | None = None, maxiter: int | None = None) -> Field:
    """Steady temperature field (°C) with radiation lagged at `T_guess`. Needs some fixed-temperature
    path (a face conductance or sink); an insulated domain has no unique steady state."""
    return implicit_step(T_guess, coeffs, boundaries, source, jnp.inf, 1.0, tol, maxiter)


# ---------------------------------------------------------------------------------------------- balance


def heat_content(T: Field, coeffs: Coefficients, cell_volume: float):
    """Σ ρc·T·V over the cells, J (relative to 0 °C)."""
    return jnp.sum(T / coeffs.inv_capacity) * cell_volume


def boundary_heat_rate(T: Field, coeffs: Coefficients, boundaries: Boundaries, cell_volume: float):
    """Heat flowing into the domain through its boundary faces, W (all face terms at this T)."""
    del coeffs  # the face terms carry their own conductances; kept for a uniform signature
    total = 0.0
    for axis, pair in enumerate(boundaries):
        for side, face in enumerate(pair):
            term = None if face is None else _face_power(_edge(T, axis, side), face, T.shape, axis, False)
            if term is not None:
                total = total + jnp.sum(jnp.broadcast_to(term, _edge(T, axis, side).shape))
    return total * cell_volume


def source_heat_rate(T: Field, coeffs: Coefficients, source: FieldLike, cell_volume: float):
    """Heat added by the volumetric terms, Σ (S − D·T)·V, W."""
    return jnp.sum(source - coeffs.sink * T) * cell_volume
