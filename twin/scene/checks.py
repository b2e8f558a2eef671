"""Semantic checks of a converted `Scene`: geometry, ranges that depend on other values, cross-references.

Types, and each number's own range (the schema's field metadata), are already checked when these run
(see `twin.scene.convert`); each check raises a one-line
`SceneError` naming the key path, the value and what is allowed. Points are checked against the hall
[0, size] per axis with a tolerance of `TOL` metres, so a zone may touch a wall exactly; the belt segments
of a conveyor tile its path in order, their lengths adding up to the path length within `SEGMENT_TOL`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from twin.errors import MISSING, SceneError, did_you_mean
from twin.line.sensors import KINDS, POSITION, SURFACE, resolve, segment_target  # noqa: F401 (segment_target: public here)
from twin.scene.arm_checks import check_arms
from twin.scene.schema import (
    ABSOLUTE_ZERO,
    DEFAULT_SEGMENT,
    FACE_NAMES,
    Ambient,
    Boundary,
    Conveyor,
    Heater,
    Hvac,
    Material,
    Motor,
    Robot,
    Scene,
    Schedule,
    Segment,
    Sensor,
    Zone,
)

TOL = 1e-9  # m; geometry may touch the walls
SEGMENT_TOL = 1e-6  # m; segment lengths must add up to the path length within this
MAX_CELLS = 50_000_000  # above this a run does not fit a workstation; say so before allocating
AXES = "xyz"
BOUNDARY_USES = {  # fields each boundary type takes; every other value field must be absent
    "adiabatic": (),
    "dirichlet": ("temperature", "schedule"),
    "neumann": ("flux",),
    "robin": ("h", "temperature"),
    "radiation": ("emissivity", "temperature"),
}
BOUNDARY_NEEDS = {
    "neumann": {"flux": "heat flux into the hall, W/m²"},
    "robin": {"h": "heat-transfer coefficient, W/(m²·K)", "temperature": "fluid temperature, °C"},
    "radiation": {"emissivity": "emissivity, 0 < ε ≤ 1", "temperature": "temperature of the surroundings, °C"},
}


@dataclasses.dataclass(frozen=True)
class Floor:
    """The hall [0, size] per axis, m."""

    size: tuple[float, ...]

    @property
    def ndim(self) -> int:
        return len(self.size)

    def contains(self, point: Sequence[float]) -> bool:
        return all(-TOL <= p <= s + TOL for p, s in zip(point, self.size))

    def extent(self, ndim: int | None = None) -> str:
        return " × ".join(f"0..{s:g} m" for s in self.size[: ndim or self.ndim])


def check_scene(scene: Scene, where: str = "scene") -> Scene:
    """Check everything beyond types; return the scene with sensor units defaulted per kind."""
    _require(scene.name.strip() != "", f"{where}.name", scene.name, "the scene needs a non-empty name")
    floor = check_grid(scene, f"{where}.grid")
    check_media(scene, floor, where)
    check_boundaries(scene, floor, f"{where}.boundaries")
    check_ambient(scene.ambient, floor, f"{where}.ambient")
    for name, heater in scene.heaters.items():
        check_heater(heater, floor, f"{where}.heaters.{name}")
    for name, hvac in scene.hvac.items():
        check_hvac(hvac, floor, f"{where}.hvac.{name}")
    for name, source in scene.sources.items():
        check_source(source, floor, f"{where}.sources.{name}")
    lengths = {name: check_conveyor(c, floor, f"{where}.conveyors.{name}") for name, c in scene.conveyors.items()}
    for name, robot in scene.robots.items():
        check_robot(robot, lengths, floor, f"{where}.robots.{name}")
        _check_pick_after_stations(robot, scene.conveyors.get(robot.conveyor), f"{where}.robots.{name}")
    check_arms(scene, where)
    sensors = {name: check_sensor(s, scene, floor, f"{where}.sensors.{name}") for name, s in scene.sensors.items()}
    return dataclasses.replace(scene, sensors=sensors)


# --- grid --------------------------------------------------------------------------------------------


def check_grid(scene: Scene, where: str) -> Floor:
    grid = scene.grid
    size = grid.size
    _require(
        len(size) in (1, 2, 3),
        f"{where}.size",
        size,
        "expected 1 entry [L] (wall or bar), 2 [x, y] (floor plan) or 3 [x, y, z] (hall)",
    )
    spacing = _spacing_per_axis(grid.spacing, len(size), f"{where}.spacing")
    _check_cells(size, spacing, grid.spacing, f"{where}.spacing")
    return Floor(tuple(size))


def _spacing_per_axis(spacing: float | list[float], ndim: int, where: str) -> list[float]:
    if not isinstance(spacing, list):
        return [spacing] * ndim
    _require(
        len(spacing) == ndim,
        where,
        spacing,
        f"one number, or one per axis: expected {ndim} entries, got {len(spacing)}",
    )
    return spacing


def _check_cells(size: list[float], spacing: list[float], given: Any, where: str) -> None:
    for d, (s, h) in enumerate(zip(size, spacing)):
        at = where if not isinstance(given, list) else f"{where}[{d}]"
        _require(h <= s + TOL, at, h, f"cell edge larger than the hall along {AXES[d]} ({s:g} m)")
        _require(
            s / h >= 2 - TOL,
            at,
            h,
            f"only {s / h:.3g} cells along {AXES[d]} ({s:g} m); need at least 2, so spacing ≤ {s / 2:g} m",
        )
    cells = math.prod(max(1, round(s / h)) for s, h in zip(size, spacing))
    _require(cells <= MAX_CELLS, where, given, f"{cells:,} cells; at most {MAX_CELLS:,}, use a coarser spacing")


# --- materials, background, zones --------------------------------------------------------------------


def check_media(scene: Scene, floor: Floor, where: str) -> None:
    _check_fill(scene.background, scene.materials, f"{where}.background")
    for name, zone in scene.zones.items():
        check_zone(zone, scene.materials, floor, f"{where}.zones.{name}")


def _check_fill(obj: Any, materials: Mapping[str, Material], where: str) -> None:
    """A material by name (k / rho_c then override it), or both k and rho_c."""
    if obj.material is not None:
        known = list(materials) or ["(none defined; add scene.materials or give k and rho_c)"]
        _require(
            obj.material in materials,
            f"{where}.material",
            obj.material,
            "no such material; " + did_you_mean(obj.material, known, "materials"),
        )
    else:
        _require(obj.k is not None, f"{where}.k", MISSING, "required without a material: conductivity, W/(m·K)")
        _require(
            obj.rho_c is not None,
            f"{where}.rho_c",
            MISSING,
            "required without a material: volumetric heat capacity, J/(m³·K)",
        )


def check_zone(zone: Zone, materials: Mapping[str, Material], floor: Floor, where: str) -> None:
    _check_fill(zone, materials, where)
    _require(
        zone.box is not None or zone.polygon is not None,
        f"{where}.box",
        MISSING,
        "required: a box [[x0, y0], [x1, y1]] or a polygon",
    )
    _require(
        zone.box is None or zone.polygon is None,
        f"{where}.polygon",
        zone.polygon,
        "give either box or polygon, not both",
    )
    if zone.box is not None:
        check_box(zone.box, floor, f"{where}.box")
    else:
        check_polygon(zone.polygon, floor, f"{where}.polygon")
    if zone.z_range is not None:
        _check_z_range(zone, floor, f"{where}.z_range")


def _check_z_range(zone: Zone, floor: Floor, where: str) -> None:
    z = zone.z_range
    _require(floor.ndim == 3, where, z, "z_range is for 3D scenes only")
    _require(zone.polygon is not None, where, z, "z_range extrudes a polygon; a box gives its own z")
    _require(len(z) == 2, where, z, "expected two heights [z0, z1], m")
    _require(z[0] < z[1], where, z, "z_range must be sorted: z0 < z1")
    height = floor.size[2]
    _require(-TOL <= z[0] and z[1] <= height + TOL, where, z, f"z_range leaves the hall (0..{height:g} m)")


def check_box(box: list[list[float]], floor: Floor, where: str, what: str = "box") -> None:
    corners = "[[x0, y0], [x1, y1]]" if floor.ndim == 2 else "[[x0, y0, z0], [x1, y1, z1]]"
    _require(len(box) == 2, where, box, f"a box is two corner points {corners}")
    for i, p in enumerate(box):
        _check_dims(p, floor.ndim, f"{where}[{i}]")
    for d in range(floor.ndim):
        lo, hi = box[0][d], box[1][d]
        _require(lo < hi, where, box, f"box min must be < max along {AXES[d]} ({lo:g} ≥ {hi:g})")
    for i, p in enumerate(box):
        _require(floor.contains(p), f"{where}[{i}]", p, f"{what} leaves the floor ({floor.extent()})")


def check_polygon(polygon: list[list[float]], floor: Floor, where: str) -> None:
    _require(floor.ndim >= 2, where, polygon, "a 1D scene has no polygons; give a box [[x0], [x1]]")
    _require(len(polygon) >= 3, where, polygon, f"a polygon needs at least 3 points, got {len(polygon)}")
    for i, p in enumerate(polygon):
        _require(len(p) == 2, f"{where}[{i}]", p, "polygon points are [x, y] (in 3D, extruded over z_range)")
        _require(Floor(floor.size[:2]).contains(p), f"{where}[{i}]", p, f"polygon leaves the floor ({floor.extent(2)})")
    area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1])) / 2
    _require(abs(area) > TOL, where, polygon, "polygon has zero area")


def check_point(point: list[float], floor: Floor, where: str, what: str) -> None:
    _check_dims(point, floor.ndim, where)
    _require(floor.contains(point), where, point, f"{what} is off the floor ({floor.extent()})")


def _check_dims(point: list[float], ndim: int, where: str) -> None:
    names = {1: "[x]", 2: "[x, y]", 3: "[x, y, z]"}[ndim]
    _require(len(point) == ndim, where, point, f"expected {ndim} coordinates {names} in a {ndim}D scene")


# --- boundaries, temperatures, ambient ---------------------------------------------------------------


def check_boundaries(scene: Scene, floor: Floor, where: str) -> None:
    faces = list(FACE_NAMES[: 2 * floor.ndim])
    for face, boundary in scene.boundaries.items():
        at = f"{where}.{face}"
        _require(
            face not in FACE_NAMES or face in faces or floor.ndim != 2,
            at,
            face,
            "unknown face: a 2D scene has no z faces; floor and roof exchange goes in ambient "
            f"(faces: {', '.join(faces)})",
        )
        _require(
            face not in FACE_NAMES or face in faces,
            at,
            face,
            f"unknown face: a {floor.ndim}D scene has the faces {', '.join(faces)}",
        )
        _require(face in faces, at, face, "unknown face; " + did_you_mean(face, faces, "faces"))
        check_boundary(boundary, at)


def check_boundary(b: Boundary, where: str) -> None:
    uses = BOUNDARY_USES[b.type]
    for key in ("temperature", "schedule", "flux", "h", "emissivity"):
        value = getattr(b, key)
        takes = ", ".join(uses) or "no values; set type to dirichlet, neumann, robin or radiation"
        _require(
            value is None or key in uses,
            f"{where}.{key}",
            value,
            f"not used by {_a(b.type)} boundary (it takes {takes})",
        )
    if b.type == "dirichlet":
        _require(
            b.temperature is not None or b.schedule is not None,
            f"{where}.temperature",
            MISSING,
            "required by a dirichlet boundary: wall temperature, °C (or a schedule)",
        )
        _require(
            b.temperature is None or b.schedule is None,
            f"{where}.schedule",
            b.schedule,
            "give either temperature or schedule, not both",
        )
    for key, meaning in BOUNDARY_NEEDS.get(b.type, {}).items():
        _require(getattr(b, key) is not None, f"{where}.{key}", MISSING, f"required by a {b.type} boundary: {meaning}")
    if b.schedule is not None:
        check_schedule(b.schedule, f"{where}.schedule")


def check_schedule(s: Schedule, where: str, value_check=None) -> None:
    """Sorted times, one value per time; each value passes `value_check(value, where)` (default: a
    temperature above absolute zero)."""
    _require(len(s.time) > 0, f"{where}.time", s.time, "schedule is empty; give at least one time–value pair")
    _require(
        len(s.value) == len(s.time),
        f"{where}.value",
        s.value,
        f"{len(s.value)} values for {len(s.time)} times; give one value per time",
    )
    for i in range(1, len(s.time)):
        _require(
            s.time[i] > s.time[i - 1],
            f"{where}.time[{i}]",
            s.time[i],
            f"times must increase strictly (time[{i - 1}] = {s.time[i - 1]:g} s)",
        )
    for i, v in enumerate(s.value):
        (value_check or temperature)(v, f"{where}.value[{i}]")


def temperature(value: float, where: str) -> None:
    """A schedule value on a face (a source's schedule takes fractions: its values have no field of their own)."""
    _require(value > ABSOLUTE_ZERO, where, value, "below absolute zero (−273.15 °C); temperatures are in °C")


def check_ambient(ambient: Ambient | None, floor: Floor, where: str) -> None:
    if ambient is None:
        return
    _require(
        floor.ndim == 2,
        where,
        ambient,
        "ambient is for 2D scenes only (the floor and roof of the air layer); "
        "elsewhere put the exchange on boundaries (z_min/z_max in 3D, x_min/x_max in 1D)",
    )


# --- heaters, hvac -----------------------------------------------------------------------------------


def check_heater(heater: Heater, floor: Floor, where: str) -> None:
    check_box(heater.box, floor, f"{where}.box", "heater box")
    check_point(heater.sensor, floor, f"{where}.sensor", "thermostat sensor")


def check_hvac(hvac: Hvac, floor: Floor, where: str) -> None:
    check_box(hvac.box, floor, f"{where}.box", "hvac box")


def check_source(source, floor: Floor, where: str) -> None:
    """Where (a box or polygon, as a zone), how much (power W or q W/m³, not both) and when."""
    _require(
        source.box is not None or source.polygon is not None, f"{where}.box", MISSING, "required: a box or a polygon"
    )
    _require(
        source.box is None or source.polygon is None,
        f"{where}.polygon",
        source.polygon,
        "give either box or polygon, not both",
    )
    if source.box is not None:
        check_box(source.box, floor, f"{where}.box", "source box")
    else:
        check_polygon(source.polygon, floor, f"{where}.polygon")
    if source.z_range is not None:
        _check_z_range(source, floor, f"{where}.z_range")
    _require(
        source.power is not None or source.q is not None,
        f"{where}.power",
        MISSING,
        "required: power, W in total (or q, W/m³)",
    )
    _require(source.power is None or source.q is None, f"{where}.q", source.q, "give either power or q, not both")
    if source.schedule is not None:
        check_schedule(source.schedule, f"{where}.schedule", _fraction)


def _fraction(value: float, where: str) -> None:
    _require(value >= 0, where, value, "a source schedule gives the fraction of its power: must be ≥ 0")


# --- conveyors, parts, robots ------------------------------------------------------------------------


def check_conveyor(conveyor: Conveyor, floor: Floor, where: str) -> float:
    """Check a conveyor, its segments and motors; return its path length, m."""
    length = _check_path(conveyor.path, floor, f"{where}.path")
    _check_segment_lengths(conveyor.segments, length, f"{where}.segments")
    for name, segment in conveyor.segments.items():
        check_motor(segment.motor, floor, f"{where}.segments.{name}.motor")
        check_bearings(segment.bearings, f"{where}.segments.{name}.bearings")
    _check_speed_limits(conveyor, where)
    _check_stations(conveyor, length, f"{where}.stations")
    return length


def check_bearings(b, where: str) -> None:
    """A base oil thins as it warms, and a bearing's fatigue load limit lies below its dynamic rating."""
    _require(
        b.oil_viscosity_100 < b.oil_viscosity_40,
        f"{where}.oil_viscosity_100",
        b.oil_viscosity_100,
        f"must be below oil_viscosity_40 ({b.oil_viscosity_40:g} mm²/s): oils thin as they warm",
    )
    _require(
        b.fatigue_load_limit < b.dynamic_load_rating,
        f"{where}.fatigue_load_limit",
        b.fatigue_load_limit,
        f"must be below dynamic_load_rating ({b.dynamic_load_rating:g} N)",
    )


def _check_stations(conveyor: Conveyor, length: float, where: str) -> None:
    """Stations in path order on the path, with room for their buffers."""
    if not conveyor.stations:
        return
    _require(
        conveyor.parts is not None,
        where,
        list(conveyor.stations),
        "stations process parts, but this conveyor carries none; add its parts",
    )
    pitch = conveyor.parts.length + conveyor.parts.min_gap
    previous = None
    for name, station in conveyor.stations.items():
        at = f"{where}.{name}"
        _require(0 <= station.at <= length + TOL, f"{at}.at", station.at, f"must lie on the path: 0..{length:g} m")
        start = 0.0
        if previous is not None:
            _require(
                station.at > previous.at,
                f"{at}.at",
                station.at,
                f"stations must be listed in path order: this one is not after the one before ({previous.at:g} m)",
            )
            start = previous.at + pitch
        room = station.at - start - station.buffer * pitch
        _require(
            room >= -TOL,
            f"{at}.buffer",
            station.buffer,
            f"no room: {station.buffer} waiting parts at a pitch of {pitch:g} m (parts.length + min_gap) need "
            f"{station.buffer * pitch + (0 if previous is None else pitch):g} m before the station, "
            f"there are {station.at - (0 if previous is None else previous.at):g} m",
        )
        previous = station


def _check_path(path: list[list[float]], floor: Floor, where: str) -> float:
    _require(len(path) >= 2, where, path, f"a conveyor path needs at least 2 points, got {len(path)}")
    for i, p in enumerate(path):
        _check_dims(p, floor.ndim, f"{where}[{i}]")
        _require(floor.contains(p), f"{where}[{i}]", p, f"conveyor leaves the floor ({floor.extent()})")
    length = 0.0
    for i in range(1, len(path)):
        step = math.dist(path[i - 1], path[i])
        _require(
            step > TOL, f"{where}[{i}]", path[i], f"same point as path[{i - 1}]; consecutive path points must differ"
        )
        length += step
    return length


def _check_segment_lengths(segments: Mapping[str, Segment], length: float, where: str) -> None:
    """Segments tile the path in order: each but the last gives its length (> 0: the schema checks it); the
    last takes the rest."""
    if not segments:
        return
    *head, last = segments
    for name in head:
        _require(
            segments[name].length is not None,
            f"{where}.{name}.length",
            MISSING,
            f"required on every segment but the last ({last!r}, which may take the rest): length along the path, m",
        )
    covered = sum(segments[name].length for name in head)
    given = segments[last].length
    if given is None:
        _require(
            length - covered > SEGMENT_TOL,
            f"{where}.{last}.length",
            MISSING,
            f"the last segment takes the rest of the path, but the segments before it cover {_m(covered)} "
            f"of the {_m(length)} path, leaving nothing (need > {SEGMENT_TOL:g} m); shorten them",
        )
    else:
        _require(
            abs(covered + given - length) <= SEGMENT_TOL,
            f"{where}.{last}.length",
            given,
            f"segment lengths sum to {_m(covered + given)} but the path is {_m(length)} long; they must match "
            f"within {SEGMENT_TOL:g} m (or leave out the last length: it then takes the rest)",
        )


def check_motor(motor: Motor, floor: Floor, where: str) -> None:
    if motor.position is not None:
        check_point(motor.position, floor, f"{where}.position", "motor")


def _check_speed_limits(conveyor: Conveyor, where: str) -> None:
    """Each segment's setpoint (its own speed, else the conveyor's) within its motor's rating."""
    if not conveyor.segments:
        limit = Motor.max_speed
        _require(
            conveyor.speed <= limit,
            f"{where}.speed",
            conveyor.speed,
            f"speed above the motor's limit: {limit:g} m/s, the default motor.max_speed of the conveyor's "
            f"one segment {DEFAULT_SEGMENT!r}; lower the speed or set "
            f"{where}.segments.{DEFAULT_SEGMENT}.motor.max_speed",
        )
        return
    for name, segment in conveyor.segments.items():
        at = f"{where}.segments.{name}"
        own = segment.speed is not None
        speed, key = (segment.speed, f"{at}.speed") if own else (conveyor.speed, f"{where}.speed")
        limit = segment.motor.max_speed
        whose = "" if own else f" (segment {name!r} runs at the conveyor's speed)"
        _require(
            speed <= limit,
            key,
            speed,
            f"speed above the motor's limit{whose}: {limit:g} m/s at {at}.motor.max_speed; "
            f"lower the speed or raise motor.max_speed",
        )


def _m(x: float) -> str:
    """A length in m with enough digits to show a difference of SEGMENT_TOL."""
    return f"{x:.10g} m"


def check_robot(robot: Robot, lengths: Mapping[str, float], floor: Floor, where: str) -> None:
    known = list(lengths) or ["(none: the scene has no conveyors)"]
    _require(
        robot.conveyor in lengths,
        f"{where}.conveyor",
        robot.conveyor,
        "no such conveyor; " + did_you_mean(robot.conveyor, known, "conveyors"),
    )
    length = lengths[robot.conveyor]
    _require(
        robot.pick_at >= 0,
        f"{where}.pick_at",
        robot.pick_at,
        f"pick_at is an arc length along conveyor {robot.conveyor!r}: allowed 0..{length:g} m",
    )
    _require(
        robot.pick_at <= length + TOL,
        f"{where}.pick_at",
        robot.pick_at,
        f"beyond the end of conveyor {robot.conveyor!r} (path length {length:g} m); allowed 0..{length:g} m",
    )
    check_point(robot.base, floor, f"{where}.base", "robot base")


def _check_pick_after_stations(robot: Robot, conveyor: Conveyor | None, where: str) -> None:
    """Parts are picked only after their last processing station: a pick point upstream of one would
    take parts the station waits for, and the line jams."""
    if conveyor is None or not conveyor.stations:
        return
    last_name, last = list(conveyor.stations.items())[-1]
    _require(
        robot.pick_at > last.at,
        f"{where}.pick_at",
        robot.pick_at,
        f"picks before processing station {last_name!r} at {last.at:g} m on conveyor {robot.conveyor!r}; "
        "parts are picked only after every processing station: move the pick point downstream",
    )


# --- sensors -----------------------------------------------------------------------------------------


def check_sensor(sensor: Sensor, scene: Scene, floor: Floor, where: str) -> Sensor:
    """Check a sensor against its kind (twin.line.sensors.KINDS); return it with its unit defaulted."""
    kind = KINDS[sensor.kind]
    _require(
        sensor.unit is None or sensor.unit in kind.units,
        f"{where}.unit",
        sensor.unit,
        f"{sensor.kind} sensors read in {' or '.join(kind.units)}",
    )
    if kind.target in (POSITION, SURFACE):
        _require(
            sensor.target is None,
            f"{where}.target",
            sensor.target,
            f"{_a(sensor.kind)} sensor takes a position, not a target",
        )
        _require(
            sensor.position is not None,
            f"{where}.position",
            MISSING,
            f"required by {_a(sensor.kind)} sensor: sample position, m",
        )
        check_point(sensor.position, floor, f"{where}.position", "sensor")
        if kind.target == SURFACE:
            surface_face(sensor.position, floor, f"{where}.position")
    else:
        _require(
            sensor.position is None,
            f"{where}.position",
            sensor.position,
            f"a {sensor.kind} sensor takes a target, not a position",
        )
        resolve(sensor.kind, sensor.target, scene, f"{where}.target")
    return dataclasses.replace(sensor, unit=sensor.unit or kind.units[0])


def surface_face(position: list[float], floor: Floor, where: str = "position") -> str:
    """The one boundary face a surface sensor lies on (within TOL), e.g. 'y_max'."""
    faces = [
        FACE_NAMES[2 * d + side]
        for d, (p, size) in enumerate(zip(position, floor.size))
        for side, at in enumerate((0.0, size))
        if abs(p - at) <= TOL
    ]
    _require(
        len(faces) > 0,
        where,
        position,
        "a surface sensor must lie on a boundary face (a coordinate at 0 or "
        f"at the hall's size, {floor.extent()}); this point is inside the hall — for the air use "
        "air_temperature",
    )
    _require(len(faces) == 1, where, position, f"on the edge of faces {' and '.join(faces)}; move it along one face")
    return faces[0]


# --- helpers -----------------------------------------------------------------------------------------


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _require(ok: bool, where: str, value: Any, message: str) -> None:
    if not ok:
        raise SceneError(where, value, message)
