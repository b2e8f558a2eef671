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
        flux + conductance·(temperature − T_edge) + contact·(T_face − T_edge)   (the last for radiation)

    where for a radiating face the face temperature T_face solves the half-cell balance
        contact·(T_face − T_edge) = radiation·((temperature+273.15)⁴ − (T_face+273.15)⁴),
    so radiation leaves from the face, half a cell beyond the edge cell centre, as the Dirichlet and
    Robin conductances already account for (second order in space).

    conductance: A, W/(m³·K) (Dirichlet, Robin); temperature: °C, reference of A and of radiation;
    flux: Q, W/m³ (Neumann q/dx); radiation: E = ε·σ/dx, W/(m³·K⁴); contact: the half cell between the
    edge cell centre and the face, 2k/dx², W/(m³·K) — it turns face power into face temperature
    (`face_temperature`) and is required with radiation.
    """

    conductance: SlabLike = 0.0
    temperature: SlabLike = 0.0
    flux: SlabLike = 0.0
    radiation: SlabLike = 0.0
    contact: SlabLike = 0.0


# Per array axis: (low side, high side); None is adiabatic.
Boundaries = tuple[tuple[Face | None, Face | None], ...]


# ---------------------------------------------------------------------------------------------- builders


@jax.jit  # one program per shape rather than a dozen eager ops; spacing may be traced
def face_conductance(k_cell: Field, spacing: tuple[float, ...]) -> tuple[Field, ...]:
    """Harmonic-mean face conductivity / dx² per array axis, W/(m³·K), from a per-cell k (W/(m·K)).

    The harmonic mean makes the flux through two half cells in series exact (layered walls). Returns one
    array per axis, shape of `k_cell` with +1 along that axis; the boundary faces are 0.
    """
    if len(spacing) != k_cell.ndim:
        raise ValueError(
            f"face_conductance: got {len(spacing)} spacings for a {k_cell.ndim}-D k field; "
            "give one spacing per array axis, axis 0 first"
        )
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
    contact = 2.0 * k_edge / dx**2
    return Face(conductance=contact, temperature=T_wall, contact=contact)


def robin(h: SlabLike, T_fluid: SlabLike, k_edge: SlabLike, dx: float) -> Face:
    """Convection, h in W/(m²·K), to a fluid at T_fluid (°C): film and half cell in series.

    A = 1/(dx·(1/h + dx/(2k))), written without 1/h so h = 0 (and its gradient) is fine.
    """
    return Face(
        conductance=2.0 * h * k_edge / (dx * (2.0 * k_edge + h * dx)), temperature=T_fluid, contact=2.0 * k_edge / dx**2
    )


def neumann(q: SlabLike, k_edge: SlabLike, dx: float) -> Face:
    """Prescribed heat flux q in W/m² into the domain: Q = q/dx."""
    return Face(flux=q / dx, contact=2.0 * k_edge / dx**2)


def radiation(emissivity: SlabLike, T_surr: SlabLike, k_edge: SlabLike, dx: float) -> Face:
    """Grey-body radiation from the face to surroundings at T_surr (°C): E = ε·σ/dx, through the half
    cell 2k/dx² between the edge cell centre and the face."""
    return Face(temperature=T_surr, radiation=emissivity * SIGMA / dx, contact=2.0 * k_edge / dx**2)


# ---------------------------------------------------------------------------------------------- stencil


def _slab(x, shape: tuple[int, ...], axis: int):
    """Face entry ready to broadcast against the edge slab; scalars stay scalars (cheap uniform case)."""
    if np.ndim(x) == 0:
        return x
    slab = shape[:axis] + (1,) + shape[axis + 1 :]
    return jnp.broadcast_to(x, slab)


def _edge(T: Field, axis: int, side: int) -> Field:
    n = T.shape[axis]
    i = 0 if side == 0 else n - 1
    return lax.slice_in_dim(T, i, i + 1, axis=axis)


RADIATION_NEWTON_STEPS = 12  # measured: ≤ 1e-13 relative over 10 decades of E·T³/G, −50…1500 °C (tests)


def _radiating_face(T_edge, G, E, T_surr):
    """(face temperature °C, its derivative with respect to T_edge) for G·(T_f − T_edge) = E·(T_s⁴ − T_f⁴).

    In kelvin, f(x) = G·(x − a) + E·(x⁴ − s⁴) is convex and increasing for x > 0. It lies above its
    tangent-at-s bound G·(x − a) + 4E·s³·(x − s), whose root x₀ (a weighted mean of a and s) is
    therefore at or above the root, so Newton from x₀ descends monotonically onto it (quadratically
    once close); a fixed number of steps keeps it traceable. The derivative is G/(G + 4E·x³).

    Gradients do not go through the iterations (12 unrolled steps, differentiated and transposed, were
    most of a radiating scene's compile): one last Newton step from the converged root, with the root
    and f′ held constant, gives exactly the implicit-function derivative −(∂f/∂p)/f′ for every input p.
    """
    a, s = T_edge + KELVIN, T_surr + KELVIN
    a0, s0, G0, E0 = (lax.stop_gradient(v) for v in (a, s, G, E))
    tangent = 4.0 * E0 * s0**3
    x = (G0 * a0 + tangent * s0) / (G0 + tangent)
    for _ in range(RADIATION_NEWTON_STEPS - 1):
        x = x - (G0 * (x - a0) + E0 * (x - s0) * (x + s0) * (x * x + s0 * s0)) / (G0 + 4.0 * E0 * x**3)
    x = lax.stop_gradient(x)
    x = x - (G * (x - a) + E * (x - s) * (x + s) * (x * x + s * s)) / lax.stop_gradient(G0 + 4.0 * E0 * x**3)
    return x - KELVIN, G / (G + 4.0 * E * x**3)


def _static_zero(x) -> bool:
    """True for a literal Python/NumPy zero: the term is skipped at trace time (no per-cell work)."""
    return isinstance(x, (int, float, np.number)) and x == 0


def _face_power(T_at: Field, face: Face, shape: tuple[int, ...], axis: int, linear_only: bool):
    """Power density (W/m³) a face puts into the cells whose temperatures are `T_at`; None if no terms.

    `T_at` is either the edge slab or the whole field (the stencil masks it with `where` afterwards:
    evaluating the few flops on every cell vectorises, while indexing an edge slice inside the stencil
    fusion was measured 35 % slower). Statically-zero entries are skipped. `linear_only` keeps just
    −A·T, the part the implicit solve treats implicitly (see `linearised` for radiation).
    """
    A, T_ref = _slab(face.conductance, shape, axis), _slab(face.temperature, shape, axis)
    terms = []
    if not _static_zero(face.conductance):
        terms.append(-A * T_at if linear_only or _static_zero(face.temperature) else A * (T_ref - T_at))
    if not linear_only and not _static_zero(face.flux):
        terms.append(_slab(face.flux, shape, axis))
    if not linear_only and not _static_zero(face.radiation):
        G = _slab(face.contact, shape, axis)
        T_face, _ = _radiating_face(T_at, G, _slab(face.radiation, shape, axis), T_ref)
        terms.append(G * (T_face - T_at))
    return sum(terms[1:], terms[0]) if terms else None


def face_temperature(T: Field, boundaries: Boundaries, axis: int, side: int) -> Field:
    """Temperature (°C) on one boundary face, as its own discretisation gives it: the edge cell plus the
    face's power over the half-cell contact, T_edge + P/(2k/dx²). Exact for a linear profile; an
    adiabatic face reads its edge cell. Returns the edge slab (field shape, 1 along `axis`)."""
    edge = _edge(T, axis, side)
    face = boundaries[axis][side]
    power = None if face is None else _face_power(edge, face, T.shape, axis, linear_only=False)
    if power is None:
        return edge
    contact = _slab(face.contact, T.shape, axis)
    return edge + power / contact


def linearised(boundaries: Boundaries, T: Field) -> Boundaries:
    """Boundaries whose radiation is replaced by its tangent conductance at T, W/(m³·K):
    −d(power)/dT_edge = G·4E·T_f³/(G + 4E·T_f³) (the half cell and the radiation in series). Used as the
    implicit operator, so an implicit step treats radiation linearly implicitly (second order with
    Crank–Nicolson, one Newton step of the steady problem with dt = ∞)."""
    out = []
    for axis, pair in enumerate(boundaries):
        faces = []
        for side, face in enumerate(pair):
            if face is None or _static_zero(face.radiation):
                faces.append(face)
                continue
            G = _slab(face.contact, T.shape, axis)
            _, slope = _radiating_face(
                _edge(T, axis, side), G, _slab(face.radiation, T.shape, axis), _slab(face.temperature, T.shape, axis)
            )
            faces.append(Face(conductance=face.conductance + G * (1.0 - slope), contact=face.contact))
        out.append(tuple(faces))
    return tuple(out)


def _check_conductance(G, shape: tuple[int, ...], axis: int) -> None:
    if np.ndim(G) == 0:
        return
    want = shape[:axis] + (shape[axis] + 1,) + shape[axis + 1 :]
    if tuple(G.shape) != want:
        raise ValueError(
            f"conductance[{axis}] has shape {tuple(G.shape)}; for a field of shape {shape} it "
            f"must be a scalar or have shape {want} (one entry per face along axis {axis})"
        )


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
        if face is None:
            continue
        # Cheap face terms are evaluated on the whole field and masked (it vectorises); radiation solves
        # for its face temperature, so it works on the edge slab and is broadcast.
        if not linear_only and not _static_zero(face.radiation):
            term = jnp.broadcast_to(_face_power(_edge(T, axis, side), face, T.shape, axis, False), T.shape)
        else:
            term = _face_power(T, face, T.shape, axis, linear_only)
        if term is not None:
            total = total + jnp.where(iota == (0 if side == 0 else n - 1), term, 0.0)
    return total


def _power_primal(T: Field, coeffs: Coefficients, boundaries: Boundaries, source, linear_only: bool) -> Field:
    """Net power density into each cell, W/m³ (`linear_only`: the homogeneous linear part L·T), as the
    stencil computes it forward; `_power` is the same with its hand-written adjoint."""
    if len(coeffs.conductance) != T.ndim or len(boundaries) != T.ndim:
        raise ValueError(
            f"a {T.ndim}-D field needs {T.ndim} conductances and {T.ndim} boundary pairs; got "
            f"{len(coeffs.conductance)} and {len(boundaries)}"
        )
    terms = [_axis_power(T, G, boundaries[axis], axis, linear_only) for axis, G in enumerate(coeffs.conductance)]
    if not _static_zero(coeffs.sink):
        terms.append(-coeffs.sink * T)
    if not (linear_only or _static_zero(source)):
        terms.append(source)
    total = sum(terms[1:], terms[0])  # no `0.0 +` start: XLA keeps float adds of zero
    return total


# ---------------------------------------------------------------------------------------------- adjoint
#
# The power density P(T) = L·T + S + face terms has a symmetric Jacobian: interior conduction is a
# face-weighted graph Laplacian, the sink and the faces' tangents are diagonal. So the adjoint sweep
# for T is the forward stencil once more (on the cotangent, with radiation replaced by its tangent),
# and each coefficient's cotangent is a product of differences the size of its own array. XLA's own
# transpose of the padded-slice stencil runs 12-28x the forward (benchmarks/README.md); this runs ~1x.


def _split_static(tree):
    """(array leaves, rebuild, select): the leaves that are not a literal zero; `rebuild` puts arrays back
    between the zeros, so that `_static_zero` still skips those terms inside a custom_vjp (whose
    arguments all become arrays); `select` takes the same positions from a tree of the same structure
    (the cotangents)."""
    leaves, treedef = jax.tree.flatten(tree)
    static = [_static_zero(x) for x in leaves]

    def rebuild(arrays):
        it = iter(arrays)
        return jax.tree.unflatten(treedef, [x if s else next(it) for x, s in zip(leaves, static)])

    def select(like):
        return [x for x, s in zip(treedef.flatten_up_to(like), static) if not s]

    return [x for x, s in zip(leaves, static) if not s], rebuild, select


def _unbroadcast(x, like):
    """x summed down to the shape `like` was broadcast from (a scalar, a slab, the field)."""
    shape = np.shape(like)
    if shape == x.shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + a for a, n in enumerate(shape) if n == 1 and x.shape[lead + a] != 1)
    return jnp.sum(x, axis=axes, keepdims=False).reshape(shape) if axes else x.reshape(shape)


def _conductance_cotangent(lam: Field, T: Field, G, axis: int):
    """d⟨λ, P⟩/dG along one axis: (λ_lo − λ_hi)·(T_hi − T_lo) on each interior face, 0 on the two outer
    faces (the boundary faces are `Face`s); summed for a scalar G."""
    n = T.shape[axis]
    d_lam = lax.slice_in_dim(lam, 1, n, axis=axis) - lax.slice_in_dim(lam, 0, n - 1, axis=axis)
    d_T = lax.slice_in_dim(T, 1, n, axis=axis) - lax.slice_in_dim(T, 0, n - 1, axis=axis)
    per_face = -d_lam * d_T
    if np.ndim(G) == 0:
        return jnp.sum(per_face).astype(jnp.result_type(G))
    pad = [(0, 0)] * T.ndim
    pad[axis] = (1, 1)
    return jnp.pad(per_face, pad)


def _faces_cotangent(lam: Field, T: Field, boundaries: Boundaries, linear_only: bool):
    """Cotangents of the faces' entries: the vjp of each face's power on its edge slab (a slab of work,
    not a field), the literal zeros left out as `_split_static` does."""
    out = []
    for axis, pair in enumerate(boundaries):
        faces = []
        for side, face in enumerate(pair):
            if face is None:
                faces.append(None)
                continue
            arrays, rebuild, _ = _split_static(face)
            edge = _edge(T, axis, side)

            def power(arrays, edge=edge, rebuild=rebuild, axis=axis):
                term = _face_power(edge, rebuild(arrays), T.shape, axis, linear_only)
                return jnp.zeros_like(edge) if term is None else jnp.broadcast_to(term, edge.shape)

            _, vjp = jax.vjp(power, arrays)
            (ct,) = vjp(_edge(lam, axis, side))
            faces.append(rebuild(ct))
        out.append(tuple(faces))
    return tuple(out)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _power_with_adjoint(static, linear_only: bool, scaled: bool, T: Field, arrays):
    coeffs, boundaries, source = static[0](arrays)
    power = _power_primal(T, coeffs, boundaries, source, linear_only)
    return coeffs.inv_capacity * power if scaled else power


def _power_fwd(static, linear_only, scaled, T, arrays):
    return _power_with_adjoint(static, linear_only, scaled, T, arrays), (T, arrays)


def _power_bwd(static, linear_only, scaled, residuals, ct):
    rebuild, select = static
    T, arrays = residuals
    arrays = [jnp.asarray(a) for a in arrays]  # a traced literal zero comes back as a float: keep it an array
    coeffs, boundaries, source = rebuild(arrays)
    lam = coeffs.inv_capacity * ct if scaled else ct  # the cotangent of P itself
    tangent = boundaries if linear_only else linearised(boundaries, T)
    ct_T = _power_primal(lam, coeffs, tangent, 0.0, linear_only=True)
    ct_capacity = jnp.zeros_like(coeffs.inv_capacity)
    if scaled:  # P(T) once more, rather than a field per step kept for the reverse pass
        ct_capacity = _unbroadcast(ct * _power_primal(T, coeffs, boundaries, source, linear_only), coeffs.inv_capacity)
    ct_coeffs = Coefficients(
        inv_capacity=ct_capacity,
        conductance=tuple(_conductance_cotangent(lam, T, G, a) for a, G in enumerate(coeffs.conductance)),
        sink=coeffs.sink if _static_zero(coeffs.sink) else _unbroadcast(-lam * T, coeffs.sink),
    )
    ct_source = source if _static_zero(source) else jnp.zeros_like(source) if linear_only else _unbroadcast(lam, source)
    ct_faces = _faces_cotangent(lam, T, boundaries, linear_only)
    return ct_T, select((ct_coeffs, ct_faces, ct_source))


_power_with_adjoint.defvjp(_power_fwd, _power_bwd)


def _power(
    T: Field, coeffs: Coefficients, boundaries: Boundaries, source, linear_only: bool, scaled: bool = False
) -> Field:
    """`_power_primal` (times 1/ρc if `scaled`) whose reverse-mode derivative is the adjoint above."""
    arrays, rebuild, select = _split_static((coeffs, boundaries, source))
    return _power_with_adjoint((rebuild, select), linear_only, scaled, T, arrays)


def power_density(T: Field, coeffs: Coefficients, boundaries: Boundaries, source: FieldLike) -> Field:
    """ρc·dT/dt: net power density into each cell, W/m³ (conduction + source − sink + boundary faces)."""
    return _power(T, coeffs, boundaries, source, linear_only=False)


def rhs(T: Field, coeffs: Coefficients, boundaries: Boundaries, source: FieldLike) -> Field:
    """dT/dt in K/s for temperatures T (°C) and a source S in W/m³ (field shape or scalar)."""
    return _power(T, coeffs, boundaries, source, linear_only=False, scaled=True)


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


def _loss_rates(
    coeffs: Coefficients, boundaries: Boundaries, shape: tuple[int, ...], T_max=None, reduce_faces: bool = False
):
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
            entry = jnp.max if reduce_faces else (lambda x, axis=axis: _slab(x, shape, axis))
            rate = entry(face.conductance)
            if T_max is not None and not _static_zero(face.radiation):
                # The radiation linearised at T_max, in series with the half cell before the face.
                R, G = 4.0 * entry(face.radiation) * (T_max + KELVIN) ** 3, entry(face.contact)
                rate = rate + G / (1.0 + G / R)  # R·G/(R + G), finite for R = 0 or inf
            local = local + jnp.where(iota == (0 if side == 0 else n - 1), rate, 0.0)
    return conduction, local


@functools.partial(jax.jit, static_argnames=("shape",))  # one small program instead of many eager ops
def stable_dt(
    coeffs: Coefficients,
    boundaries: Boundaries,
    T_max: float = 1000.0,
    safety: float = 0.9,
    shape: tuple[int, ...] | None = None,
):
    """Largest stable forward-Euler dt in s, times `safety`: 2/λ_max of the linearised operator.

    λ_max is bounded by Gershgorin on the rows of (1/ρc)·L: (1/ρc)·(2·Σ face conductances + D + Σ A +
    R·G/(R + G)), R = 4E(T_max+273.15)³ the radiation linearised at the hottest expected temperature
    `T_max` (°C) in series with the half-cell contact G. For
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


def check_dt(
    dt: float, coeffs: Coefficients, boundaries: Boundaries, T_max: float = 1000.0, shape: tuple[int, ...] | None = None
) -> None:
    """Raise ValueError if an explicit dt (s) is above the stability limit. Eager code only (not in jit)."""
    limit = float(stable_dt(coeffs, boundaries, T_max=T_max, safety=1.0, shape=shape))
    if dt > limit:
        raise ValueError(
            f"explicit thermal dt = {dt:g} s is above the stability limit {limit:g} s (for "
            f"temperatures up to {T_max:g} °C); take dt ≤ {0.9 * limit:g} s or an implicit method"
        )


# ---------------------------------------------------------------------------------------------- implicit


def implicit_increments(
    T: Field,
    coeffs: Coefficients,
    boundaries: Boundaries,
    source: FieldLike,
    dt,
    theta: float = 1.0,
    *,
    boundaries_end: Boundaries | None = None,
    source_end: FieldLike | None = None,
    loads=None,
    tol: float | None = None,
    maxiter: int | None = None,
):
    """The increment δ = T¹ − T⁰ of one θ-step, and the responses of the step to extra loads.

    The θ-scheme ρc·δ/dt = (1−θ)·P⁰(T⁰) + θ·P¹(T¹), with P the power density of `power_density`
    evaluated with the inputs at the start of the step (`boundaries`, `source`) and at its end
    (`boundaries_end`, `source_end`; default: the start's), so that time-dependent boundary data and
    sources are θ-consistent and Crank–Nicolson stays second order when they vary. P¹ is linearised at
    T⁰ (radiation by its tangent, see `linearised`):

        (ρc/dt − θ·J)·δ = (1−θ)·P⁰(T⁰) + θ·P¹(T⁰).

    The faces' conductances must be the same at both ends (only temperatures and fluxes vary).
    `loads` (m, *grid), power densities in W/m³, returns also M⁻¹·loads (m, *grid): how the step's
    T¹ moves per unit of each load applied over the step (for loads that are solved together with the
    field, like thermostat-controlled heaters). Matrix-free Jacobi-CG inside `lax.custom_linear_solve`
    (one batched solve), so gradients reach T, sources and every coefficient; dt = inf with θ = 1 is one
    Newton step towards the steady state. Returns (δ, responses or None, CG info of the slowest solve).
    """
    if maxiter is None:
        maxiter = 1000 + 10 * max(T.shape)
    bcs_end = boundaries if boundaries_end is None else boundaries_end
    src_end = source if source_end is None else source_end
    rhs = theta * power_density(T, coeffs, bcs_end, src_end)
    if theta != 1.0:
        rhs = rhs + (1.0 - theta) * power_density(T, coeffs, boundaries, source)
    operator = linearised(bcs_end, T)
    capacity_rate = 1.0 / (coeffs.inv_capacity * dt)  # W/(m³·K)

    def matvec(v):
        return capacity_rate * v - theta * _power(v, coeffs, operator, 0.0, linear_only=True)

    conduction, local = _loss_rates(coeffs, operator, T.shape)
    diag = capacity_rate + theta * (conduction + local)
    if loads is None:
        delta, info = linear_solve.solve_spd(matvec, rhs, diag, rtol=tol, maxiter=maxiter)
        return delta, None, info
    stacked = jnp.concatenate([rhs[None], jnp.broadcast_to(loads, (loads.shape[0], *T.shape)).astype(rhs.dtype)])
    solve = jax.vmap(lambda b: linear_solve.solve_spd(matvec, b, diag, rtol=tol, maxiter=maxiter))
    x, infos = solve(stacked)
    worst = jnp.argmax(infos.iterations)
    info = linear_solve.CGInfo(infos.iterations[worst], infos.residual_norm[worst], jnp.all(infos.converged))
    return x[0], x[1:], info


def implicit_step_with_info(
    T: Field,
    coeffs: Coefficients,
    boundaries: Boundaries,
    source: FieldLike,
    dt,
    theta: float = 1.0,
    tol: float | None = None,
    maxiter: int | None = None,
    *,
    boundaries_end: Boundaries | None = None,
    source_end: FieldLike | None = None,
):
    """`implicit_step`, also returning the CG status (`linear_solve.CGInfo`) — check `info.converged`."""
    delta, _, info = implicit_increments(
        T,
        coeffs,
        boundaries,
        source,
        dt,
        theta,
        boundaries_end=boundaries_end,
        source_end=source_end,
        tol=tol,
        maxiter=maxiter,
    )
    return T + delta, info


def implicit_step(
    T: Field,
    coeffs: Coefficients,
    boundaries: Boundaries,
    source: FieldLike,
    dt,
    theta: float = 1.0,
    tol: float | None = None,
    maxiter: int | None = None,
    *,
    boundaries_end: Boundaries | None = None,
    source_end: FieldLike | None = None,
) -> Field:
    """One θ-step of dt seconds: θ = 1 backward Euler, θ = 0.5 Crank–Nicolson (see `implicit_increments`).

    Conduction, sink and face conductances are implicit, radiation linearly implicit (its tangent at
    the old T); inputs at the end of the step come from `boundaries_end` / `source_end` (default: those
    at the start). `tol` is CG's relative residual (default 1e-10 in float64, 1e-5 in float32),
    `maxiter` its iteration cap (default 1000 + 10·max(shape)).
    """
    return implicit_step_with_info(
        T, coeffs, boundaries, source, dt, theta, tol, maxiter, boundaries_end=boundaries_end, source_end=source_end
    )[0]


STEADY_NEWTON_STEPS = 20  # radiation converges in ≤ 6 (quadratic); linear problems in 1


def steady_state(
    T_guess: Field,
    coeffs: Coefficients,
    boundaries: Boundaries,
    source: FieldLike,
    tol: float | None = None,
    maxiter: int | None = None,
    newton_steps: int = STEADY_NEWTON_STEPS,
):
    """Steady temperature field (°C): Newton on P(T) = 0 from `T_guess`, each step one CG solve
    (implicit step with dt = ∞). Needs some fixed-temperature path (a face conductance, a sink or
    radiation); an insulated domain has no unique steady state."""

    def newton(i, T):
        return implicit_step(T, coeffs, boundaries, source, jnp.inf, 1.0, tol, maxiter)

    return lax.fori_loop(0, newton_steps, newton, T_guess)


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
