"""Build a validated `Scene` into its static Layout, differentiable Params and initial State."""

from __future__ import annotations

import dataclasses
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from twin import geometry, status
from twin.errors import SceneError
from twin.kernels import sampling
from twin.kernels.bearing import Rollers
from twin.kernels.belt import BeltParams, drag_force
from twin.kernels.control import smooth_clip, unclip
from twin.line import robot_build
from twin.line import sensors as sensor_kinds
from twin.line.belts import worn
from twin.model import (
    BeltState,
    ConveyorLayout,
    FaceLayout,
    FaceParams,
    Layout,
    Params,
    PartsState,
    SegmentLayout,
    SensorLayout,
    State,
    Tallies,
)
from twin.precision import dtype_name, set_precision
from twin.scene.checks import Floor, surface_face
from twin.scene.plausibility import PlausibilityWarning
from twin.scene.schema import FACE_NAMES, Scene
from twin.step import thermostat_readings


def build(scene: Scene, dtype=jnp.float32) -> tuple[Layout, Params, State]:
    """Rasterise the scene onto its grid. dtype: float32 for production runs, float64 for checks (which
    switches on JAX's 64-bit mode for the process, as `precision=float64` does)."""
    dtype = set_precision(dtype_name(dtype))
    layout = _layout(scene)
    params = _params(scene, layout, dtype)
    # One compiled program: run eagerly, every array of the state would compile its own little fill.
    state = jax.jit(lambda p: initial_state(layout, p))(params)
    return layout, params, state


def grid_shape(scene: Scene) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """(array shape, spacing per coordinate) of the scene's grid."""
    size = scene.grid.size
    sp = scene.grid.spacing
    spacing = tuple(float(s) for s in (sp if isinstance(sp, list) else [sp] * len(size)))
    counts = [max(2, round(L / h)) for L, h in zip(size, spacing)]
    spacing = tuple(L / n for L, n in zip(size, counts))  # fit the floor exactly
    return tuple(counts[::-1]), spacing


def cell_weights(points, spacing: tuple[float, ...], shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices and weights of the cells around each point (x-first coordinates in m), in NumPy on
    the host: eager JAX would compile a dozen small programs for every new number of points."""
    return sampling.corner_weights(np.asarray(points, float), spacing, shape)


def _layout(scene: Scene) -> Layout:
    shape, spacing = grid_shape(scene)
    cell_volume = math.prod(spacing) * {1: scene.grid.cross_section, 2: scene.grid.thickness, 3: 1.0}[len(shape)]
    zone_index = np.zeros(shape, np.int32)
    for i, (name, zone) in enumerate(scene.zones.items(), start=1):
        where = f"scene.zones.{name}"
        zone_index[_region(zone, where, shape, spacing)] = i
    _warn_hidden_zones(scene, zone_index, shape, spacing)
    heater_shape = _shapes(scene.heaters, "heaters", shape, spacing, cell_volume)
    sensor_pts = np.array([h.sensor for h in scene.heaters.values()], float).reshape(-1, len(shape))
    t_idx, t_w = cell_weights(sensor_pts, spacing, shape)
    conveyors, segments = _conveyors(scene, shape, spacing)
    capacity = max([part_slots(c) for c in scene.conveyors.values() if c.parts is not None], default=1)
    return Layout(
        shape=shape,
        spacing=spacing,
        cell_volume=cell_volume,
        zone_index=zone_index,
        zone_names=tuple(scene.zones),
        faces=_faces(scene),
        ambient=scene.ambient is not None and len(shape) == 2,
        heater_names=tuple(scene.heaters),
        heater_shape=heater_shape,
        thermostat_idx=t_idx,
        thermostat_w=t_w,
        hvac_names=tuple(scene.hvac),
        hvac_shape=_shapes(scene.hvac, "hvac", shape, spacing, cell_volume),
        source_names=tuple(scene.sources),
        source_shape=_shapes(scene.sources, "sources", shape, spacing, cell_volume),
        source_schedule_time=tuple(
            np.asarray(w.schedule.time, float) if w.schedule is not None else None for w in scene.sources.values()
        ),
        conveyors=conveyors,
        segments=segments,
        capacity=capacity,
        sensors=tuple(_sensor(name, s, scene, shape, spacing) for name, s in scene.sensors.items()),
        robot_arms=robot_build.arm_layouts(scene, conveyors, lambda points: cell_weights(points, spacing, shape)),
    )


def part_slots(conveyor) -> int:
    """Part slots a conveyor needs: parts never come closer than one pitch (length + min gap), so a belt
    holds at most length / pitch + 1 of them, however they queue or bunch on slower segments."""
    length = float(geometry.polyline_lengths(conveyor.path)[-1])
    return math.ceil(length / (conveyor.parts.length + conveyor.parts.min_gap)) + 2


def _region(item, where: str, shape, spacing) -> np.ndarray:
    mask = _mask(item, shape, spacing)
    key = "polygon" if getattr(item, "polygon", None) is not None else "box"
    if not mask.any():
        finer = _spacing_showing(item, [], shape, spacing)
        cure = f" or take grid.spacing ≤ {finer:.3g} m" if finer else ""
        raise SceneError(
            f"{where}.{key}",
            getattr(item, key),
            f"covers no cell centre; make it larger than the grid spacing {max(spacing):.3g} m{cure}",
        )
    return mask


MAX_REFINED_CELLS = 20_000_000  # the finest grid tried when looking for the spacing that shows a zone


def _warn_hidden_zones(scene: Scene, zone_index: np.ndarray, shape, spacing) -> None:
    """A zone whose every cell a later zone took (it is thinner than a cell where it shows) is not in
    the model: warn, naming it and the spacing at which it would keep cells."""
    names = list(scene.zones)
    for i, name in enumerate(names, start=1):
        if np.any(zone_index == i):
            continue
        zones = list(scene.zones.values())
        finer = _spacing_showing(zones[i - 1], zones[i:], shape, spacing)
        cure = (
            f"a grid spacing of {finer:.3g} m or less would resolve it"
            if finer
            else "no grid of a practical size resolves it"
        )
        warnings.warn(
            f"scene.zones.{name}: covers no cell of the {spacing[0]:.3g} m grid once later zones "
            f"({', '.join(names[i:])}) are laid over it, so it is not in the model; {cure} (grid.spacing)",
            PlausibilityWarning,
            stacklevel=3,
        )


def _spacing_showing(item, later: list, shape, spacing) -> float | None:
    """The largest of spacing/2, /4, … at which `item` keeps a cell under the `later` items laid over it
    (None: none within MAX_REFINED_CELLS)."""
    for k in range(1, 8):
        fine_shape = tuple(n * 2**k for n in shape)
        if math.prod(fine_shape) > MAX_REFINED_CELLS:
            return None
        fine = tuple(h / 2**k for h in spacing)
        mask = _mask(item, fine_shape, fine)
        for other in later:
            mask &= ~_mask(other, fine_shape, fine)
        if mask.any():
            return max(fine)
    return None


def _mask(item, shape, spacing) -> np.ndarray:
    if getattr(item, "polygon", None) is not None:
        return geometry.polygon_mask(item.polygon, shape, spacing, getattr(item, "z_range", None))
    return geometry.box_mask(item.box, shape, spacing)


def _shapes(items: dict, group: str, shape, spacing, cell_volume) -> np.ndarray:
    """Per item: its cell mask divided by its volume (1/m³), so power·shape is W/m³."""
    out = np.zeros((len(items), *shape))
    for i, (name, item) in enumerate(items.items()):
        mask = _region(item, f"scene.{group}.{name}", shape, spacing)
        out[i] = mask / (mask.sum() * cell_volume)
    return out


def _faces(scene: Scene) -> tuple[FaceLayout, ...]:
    ndim = scene.ndim
    faces = []
    for name, b in scene.boundaries.items():
        if b.type == "adiabatic":
            continue
        coord = FACE_NAMES.index(name) // 2
        times = np.asarray(b.schedule.time, float) if b.schedule is not None else None
        faces.append(FaceLayout(name, b.type, ndim - 1 - coord, FACE_NAMES.index(name) % 2, times))
    return tuple(faces)


def _conveyors(scene: Scene, shape, spacing) -> tuple[tuple[ConveyorLayout, ...], tuple[SegmentLayout, ...]]:
    conveyors, segments = [], []
    for c, (name, conveyor) in enumerate(scene.conveyors.items()):
        arc = geometry.polyline_lengths(conveyor.path)
        robots = sorted(((r.pick_at, rname) for rname, r in scene.robots.items() if r.conveyor == name))
        spans = segment_spans(conveyor, float(arc[-1]))
        first = len(segments)
        for seg_name, (start, end) in spans.items():
            motor_at = conveyor.segments[seg_name].motor.position if conveyor.segments else None
            segments.append(_segment(f"{name}.{seg_name}", c, conveyor.path, arc, start, end, motor_at, shape, spacing))
        conveyors.append(
            ConveyorLayout(
                name=name,
                vertices=np.asarray(conveyor.path, float),
                arc=arc,
                pick_points=tuple(s for s, _ in robots) or (float(arc[-1]),),
                robots=tuple(r for _, r in robots) or ("",),
                has_parts=conveyor.parts is not None,
                segments=tuple(range(first, len(segments))),
                segment_ends=np.asarray([end for _, end in spans.values()]),
                station_names=tuple(conveyor.stations),
                station_at=np.asarray([st.at for st in conveyor.stations.values()], float),
                buffers=tuple(st.buffer for st in conveyor.stations.values()),
            )
        )
    return tuple(conveyors), tuple(segments)


def segment_spans(conveyor, length: float) -> dict[str, tuple[float, float]]:
    """(start, end) arc length of each segment, m; the last one ends at the path end."""
    spans, start = {}, 0.0
    items = list(conveyor.belt_segments().items())
    for i, (name, seg) in enumerate(items):
        end = length if i == len(items) - 1 else start + seg.length
        spans[name] = (start, end)
        start = end
    return spans


def _segment(name, c, path, arc, start, end, motor_at, shape, spacing) -> SegmentLayout:
    """Where a segment's motor losses and drag work heat the air."""

    def on_path(s):
        pts = np.asarray(path, float)
        return np.stack([np.interp(s, arc, pts[:, d]) for d in range(pts.shape[1])], axis=-1)

    motor = np.asarray([motor_at], float) if motor_at is not None else on_path(np.asarray([end]))
    m_idx, m_w = cell_weights(motor, spacing, shape)
    n_points = max(2, math.ceil((end - start) / (0.5 * min(spacing))))
    along = on_path(start + (np.arange(n_points) + 0.5) * (end - start) / n_points)
    d_idx, d_w = cell_weights(along, spacing, shape)
    return SegmentLayout(
        name=name,
        conveyor=c,
        start=start,
        end=end,
        motor=motor[0],
        motor_idx=m_idx[0],
        motor_w=m_w[0],
        drag_idx=d_idx,
        drag_w=d_w / n_points,
    )


def _sensor(name, sensor, scene: Scene, shape, spacing) -> SensorLayout:
    common = dict(name=name, kind=sensor.kind, unit=sensor.unit, period=sensor.period)
    where = sensor_kinds.KINDS[sensor.kind].target
    if where == sensor_kinds.POSITION:
        idx, w = cell_weights([sensor.position], spacing, shape)
        return SensorLayout(**common, idx=idx, w=w)
    if where == sensor_kinds.SURFACE:
        return _surface_sensor(common, sensor.position, scene, shape, spacing)
    target = sensor_kinds.resolve(sensor.kind, sensor.target, scene, f"scene.sensors.{name}.target")
    return SensorLayout(**common, target=target)


def _surface_sensor(common: dict, position, scene: Scene, shape, spacing) -> SensorLayout:
    """Samples the face temperature along the face it lies on: weights over the face's edge slab."""
    face = surface_face(position, Floor(tuple(scene.grid.size)))
    coord, side = FACE_NAMES.index(face) // 2, FACE_NAMES.index(face) % 2
    axis = len(shape) - 1 - coord
    slab = tuple(1 if a == axis else n for a, n in enumerate(shape))
    on_slab = [p if d != coord else 0.5 * spacing[d] for d, p in enumerate(position)]  # the slab's one cell
    idx, w = cell_weights([on_slab], spacing, slab)
    return SensorLayout(**common, idx=idx, w=w, target=(axis, side))


def _params(scene: Scene, layout: Layout, dtype) -> Params:
    def arr(values):
        return jnp.asarray(np.asarray(values, float), dtype)

    media = [scene.background, *scene.zones.values()]
    conveyors = list(scene.conveyors.values())
    parts = [c.parts for c in conveyors]

    def part_value(get, default):
        return arr([get(p) if p is not None else default for p in parts])

    def cure_value(get, default):
        return part_value(lambda p: get(p.cure) if p.cure is not None else default, default)

    return Params(
        initial_T=arr(scene.initial_temperature),
        zone_k=arr([_property(scene, m, "k") for m in media]),
        zone_rho_c=arr([_property(scene, m, "rho_c") for m in media]),
        faces=tuple(_face_params(scene.boundaries[f.name], arr) for f in layout.faces),
        ambient_T=arr(scene.ambient.temperature if scene.ambient else 0.0),
        ambient_h=arr(scene.ambient.h if scene.ambient else 0.0),
        heater_power=arr([h.power for h in scene.heaters.values()]),
        heater_efficiency=arr([h.efficiency for h in scene.heaters.values()]),
        heater_setpoint=arr([h.setpoint for h in scene.heaters.values()]),
        heater_kp=arr([h.kp for h in scene.heaters.values()]),
        heater_ki=arr([h.ki for h in scene.heaters.values()]),
        hvac_supply_T=arr([v.supply_temperature for v in scene.hvac.values()]),
        hvac_airflow=arr([v.airflow for v in scene.hvac.values()]),
        source_power=arr(
            [
                _source_power(w, shape, layout.cell_volume)
                for w, shape in zip(scene.sources.values(), layout.source_shape)
            ]
        ),
        source_schedule=tuple(arr(w.schedule.value if w.schedule is not None else []) for w in scene.sources.values()),
        belts=_belt_params(scene, arr),
        bearings=_bearing_params(scene, arr),
        part_spacing=part_value(lambda p: p.spacing, 1.0),
        part_mass=part_value(lambda p: p.mass, 1.0),
        part_c_p=part_value(lambda p: p.c_p, 1.0),
        part_area=part_value(lambda p: p.area, 1.0),
        part_h=part_value(lambda p: p.h, 1.0),
        part_T0=part_value(lambda p: p.initial_temperature, 0.0),
        cure_A=cure_value(lambda c: c.A, 0.0),
        cure_Ea=cure_value(lambda c: c.Ea, 0.0),
        cure_n=cure_value(lambda c: c.n, 1.0),
        part_length=part_value(lambda p: p.length, 0.0),
        part_pitch=part_value(lambda p: p.length + p.min_gap, 1.0),
        service_time=arr(_padded([[st.service_time for st in c.stations.values()] for c in conveyors], 1.0)),
        pick_time=arr(
            _padded([[scene.robots[r].busy_time if r else 0.0 for r in c.robots] for c in layout.conveyors], 0.0)
        ),
        arms=robot_build.arm_params(
            scene, {name: c.parts.mass for name, c in scene.conveyors.items() if c.parts is not None}, dtype
        ),
    )


def _source_power(source, shape: np.ndarray, cell_volume: float) -> float:
    """W in total: `power`, or `q` (W/m³) times the volume of the cells the source covers."""
    if source.power is not None:
        return source.power
    covered = np.count_nonzero(shape) * cell_volume
    return source.q * covered


def _padded(rows: list[list[float]], fill: float) -> np.ndarray:
    """Rows of unequal length as one array (at least one column), padded with `fill`."""
    width = max([len(r) for r in rows] + [1])
    return np.asarray([r + [fill] * (width - len(r)) for r in rows], float).reshape(len(rows), width)


def _belt_params(scene: Scene, arr) -> BeltParams:
    """Per-segment belt and motor values, all conveyors' segments in order."""
    rows = []
    for conveyor in scene.conveyors.values():
        spans = segment_spans(conveyor, float(geometry.polyline_lengths(conveyor.path)[-1]))
        for name, seg in conveyor.belt_segments().items():
            start, end = spans[name]
            rows.append(
                dict(
                    setpoint=seg.speed if seg.speed is not None else conveyor.speed,
                    belt_mass=seg.mass_per_length * (end - start),
                    rolling_resistance=seg.rolling_resistance,
                    viscous_drag=seg.viscous_drag,
                    wear=seg.wear,
                    wear_rate=seg.wear_rate / 3600.0,
                    max_force=seg.motor.max_force,
                    kp=seg.motor.kp,
                    ki=seg.motor.ki,
                    current_per_force=seg.motor.current_per_force,
                    no_load_current=seg.motor.no_load_current,
                    resistance=seg.motor.resistance,
                    fixed_loss=seg.motor.fixed_loss,
                )
            )
    keys = [f.name for f in dataclasses.fields(BeltParams)]
    return BeltParams(**{k: arr([row[k] for row in rows]) for k in keys})


def _bearing_params(scene: Scene, arr) -> Rollers:
    """Per-segment roller bearings, in the order of _belt_params; a segment has at least one roller."""
    rows, kinds = [], []
    for conveyor in scene.conveyors.values():
        spans = segment_spans(conveyor, float(geometry.polyline_lengths(conveyor.path)[-1]))
        for name, seg in conveyor.belt_segments().items():
            b = seg.bearings
            start, end = spans[name]
            kinds.append(b.kind)
            rows.append(
                dict(
                    dynamic_load_rating=b.dynamic_load_rating,
                    fatigue_load_limit=b.fatigue_load_limit,
                    mean_diameter=b.mean_diameter,
                    roller_diameter=b.roller_diameter,
                    rollers=max(1.0, (end - start) / b.roller_spacing),
                    contamination=b.contamination,
                    nu40=b.oil_viscosity_40,
                    nu100=b.oil_viscosity_100,
                    temperature_rise=b.temperature_rise,
                    reliability=b.reliability,
                    used_before=b.used_before,
                    wear_per_life=b.wear_per_life,
                )
            )
    keys = [f.name for f in dataclasses.fields(Rollers) if f.name != "kinds"]
    return Rollers(**{k: arr([row[k] for row in rows]) for k in keys}, kinds=tuple(kinds))


def _property(scene: Scene, medium, key: str) -> float:
    value = getattr(medium, key)
    return value if value is not None else getattr(scene.materials[medium.material], key)


def _face_params(b, arr) -> FaceParams:
    return FaceParams(
        temperature=arr(b.temperature if b.temperature is not None else 0.0),
        h=arr(b.h or 0.0),
        flux=arr(b.flux or 0.0),
        emissivity=arr(b.emissivity or 0.0),
        schedule=arr(b.schedule.value if b.schedule is not None else []),
    )


def running_belts(params: Params) -> BeltState:
    """Belts at their setpoint speed, empty, the controllers holding exactly the empty-belt drag (with the
    wear of the bearings' life used before the run)."""
    zeros = jnp.zeros_like(params.belts.setpoint)
    b = worn(params, zeros)
    hold = drag_force(b, b.setpoint, zeros, 0.0) / b.max_force
    return BeltState(
        v=b.setpoint,
        integral=unclip(hold),
        energy=zeros,
        charge=zeros,
        heat=zeros,
        pending_load=zeros,
        bearing_use=zeros,
    )


def thermostat_output(layout: Layout, params: Params, T, integral):
    """The heaters' PI output (fraction of full power) for the field T (°C) and their integrals."""
    return smooth_clip(params.heater_kp * (params.heater_setpoint - thermostat_readings(layout, T)) + integral)


def initial_state(layout: Layout, params: Params) -> State:
    """The state at t = 0, from params alone (so gradients see how it depends on them): the hall at
    uniform `initial_T` (°C), the thermostats' integrals at zero (their outputs what the proportional
    term asks for), belts empty and running at their setpoints, a full part spacing already travelled
    (the first part enters at once)."""
    dtype = params.zone_k.dtype
    nh, nc, n, r = len(layout.heater_names), len(layout.conveyors), layout.capacity, layout.max_pick_points
    q = layout.max_processing
    zeros = lambda *s: jnp.zeros(s, dtype)  # noqa: E731
    stats = jnp.tile(jnp.asarray([0.0, jnp.inf, -jnp.inf], dtype), (nc, 1))
    parts = PartsState(
        s=zeros(nc, n),
        T=zeros(nc, n),
        alpha=zeros(nc, n),
        alive=jnp.zeros((nc, n), bool),
        id=jnp.zeros((nc, n), jnp.int32),
        t_in=zeros(nc, n),
        pick_point=jnp.zeros((nc, n), jnp.int32),
        next_station=jnp.zeros((nc, n), jnp.int32),
        dwell=zeros(nc, n),
        serving=jnp.zeros((nc, n), bool),
        travel=params.part_spacing,  # a full spacing already travelled: the first part enters at once
        robot_free_at=zeros(nc, r),
    )
    tallies = Tallies(
        n_in=jnp.zeros(nc, jnp.int32),
        n_out=jnp.zeros(nc, jnp.int32),
        picked_T=stats,
        picked_alpha=stats,
        last_T=jnp.full((nc, r), jnp.nan, dtype),
        last_alpha=jnp.full((nc, r), jnp.nan, dtype),
        blocked=zeros(nc, q),
        starved=zeros(nc, q),
        exit_times=jnp.full((nc, 2), jnp.nan, dtype),
        wip=zeros(nc),
        picks=jnp.zeros((nc, r), jnp.int32),
        robot_damage=zeros(nc, r, layout.max_joints),
    )
    return State(
        t=jnp.zeros((), dtype),
        T=jnp.full(layout.shape, params.initial_T, dtype),
        heater_integral=zeros(nh),
        heater_output=thermostat_output(layout, params, jnp.full(layout.shape, params.initial_T, dtype), zeros(nh)),
        heater_energy=zeros(nh),
        parts=parts,
        tallies=tallies,
        belts=running_belts(params),
        status=status.initial(dtype),
    )
