"""Typed schema of a scene file: what a factory layout YAML may contain.

Every length is in metres, temperatures in °C, powers in W, times in s. Collections the user addresses
by name (zones, heaters, sources, conveyors, robots, sensors) are YAML mappings keyed by that name, so that any
value can be overridden or swept from the command line (``scene.heaters.oven_1.setpoint=130``).

The dataclasses only describe shapes and defaults; `twin.scene.convert` turns a plain mapping into a
`Scene`, checking types, ranges and geometry and naming the key path of anything wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Point = list[float]  # [x] along a 1D wall or bar, [x, y] on a 2D floor, [x, y, z] in a 3D hall, metres
DEFAULT_SEGMENT = "belt"  # the one segment of a conveyor that lists none
FACE_NAMES = ("x_min", "x_max", "y_min", "y_max", "z_min", "z_max")  # the hall's faces, the keys of `boundaries`


@dataclass(frozen=True)
class Grid:
    """The simulated hall: a box from the origin to `size`, cut into cubic or box cells.

    size: extent per axis [L] (1D: a wall, panel or bar), [x, y] (2D floor plan) or [x, y, z] (3D), m.
    spacing: cell edge, m; one number for all axes or one per axis.
    thickness: 2D only — height of the air layer the floor plan stands for, m.
    cross_section: 1D only — area across the bar or wall, m² (1 m²: results per square metre of wall).
    """

    size: list[float]
    spacing: float | list[float]
    thickness: float = 3.0
    cross_section: float = 1.0


@dataclass(frozen=True)
class Material:
    """Thermal properties. k: conductivity W/(m·K); rho_c: volumetric heat capacity J/(m³·K)."""

    k: float
    rho_c: float


@dataclass(frozen=True)
class Medium:
    """What fills cells that no zone covers: a named material, or k and rho_c given directly."""

    material: str | None = None
    k: float | None = None
    rho_c: float | None = None


@dataclass(frozen=True)
class Zone:
    """A region of other material: a box ([[x0, y0(, z0)], [x1, y1(, z1)]]) or a 2D polygon.

    In 3D a polygon is extruded over `z_range` (default: the full height). k / rho_c override the
    material's values.
    """

    material: str | None = None
    k: float | None = None
    rho_c: float | None = None
    box: list[Point] | None = None
    polygon: list[Point] | None = None
    z_range: list[float] | None = None


@dataclass(frozen=True)
class Schedule:
    """A piecewise-linear time–value table; held constant outside its range. time in s, sorted."""

    time: list[float]
    value: list[float]


@dataclass(frozen=True)
class Boundary:
    """Condition on one face of the hall.

    type: adiabatic | dirichlet | neumann | robin | radiation
    temperature: °C — wall temperature (dirichlet), fluid temperature (robin), surroundings (radiation).
    schedule: dirichlet only, a time–value table in place of a constant `temperature`.
    flux: neumann, heat flux into the hall, W/m².
    h: robin, heat-transfer coefficient, W/(m²·K).
    emissivity: radiation, 0 < ε ≤ 1.
    """

    type: Literal["adiabatic", "dirichlet", "neumann", "robin", "radiation"] = "adiabatic"
    temperature: float | None = None
    schedule: Schedule | None = None
    flux: float | None = None
    h: float | None = None
    emissivity: float | None = None


@dataclass(frozen=True)
class Ambient:
    """2D only: exchange through the floor and roof of the air layer. h per floor area, W/(m²·K)."""

    temperature: float = 20.0
    h: float = 0.0


@dataclass(frozen=True)
class Heater:
    """An electric heater filling a box, under a PI thermostat with smooth saturation.

    power: maximum electrical power, W. efficiency: fraction of it that heats the air.
    setpoint: °C at the thermostat `sensor` position. kp: 1/K, ki: 1/(K·s) — output as a fraction of
    full power per kelvin of error.
    """

    box: list[Point]
    power: float
    setpoint: float
    sensor: Point
    efficiency: float = 1.0
    kp: float = 0.1
    ki: float = 1.0e-3


@dataclass(frozen=True)
class Hvac:
    """An air handler mixing supply air into a box: airflow m³/s at supply_temperature °C."""

    box: list[Point]
    supply_temperature: float
    airflow: float


@dataclass(frozen=True)
class Source:
    """A volumetric heat source without a thermostat: a machine, press or formation rack giving off heat.

    Where: a box or a 2D polygon, as a zone (`z_range` extrudes a polygon in 3D). How much: `power`, W
    in total, spread evenly over the cells it covers, or `q`, W/m³ in each covered cell (exactly one of
    the two). schedule: a time–value table of the fraction of that power given off (dimensionless ≥ 0,
    piecewise linear, held outside its range); without one the source is constant.
    """

    box: list[Point] | None = None
    polygon: list[Point] | None = None
    z_range: list[float] | None = None
    power: float | None = None
    q: float | None = None
    schedule: Schedule | None = None


@dataclass(frozen=True)
class Cure:
    """Adhesive cure kinetics dα/dt = A·exp(−Ea/(R·T))·(1−α)^n. A: 1/s, Ea: J/mol, n: order."""

    A: float
    Ea: float
    n: float = 1.0


@dataclass(frozen=True)
class Parts:
    """Parts the conveyor carries, spawned at the path start every `spacing` metres of belt travel.

    mass kg, c_p J/(kg·K), area m² (exchange area), h W/(m²·K) to the air, initial_temperature °C.
    length: m along the belt; min_gap: m of clear belt parts keep between them when they queue.
    """

    spacing: float
    mass: float
    c_p: float
    area: float
    h: float
    initial_temperature: float = 20.0
    cure: Cure | None = None
    length: float = 0.3
    min_gap: float = 0.05


@dataclass(frozen=True)
class Motor:
    """The drive of a belt segment, in belt terms (force at the belt, after gearbox and drive pulley).

    max_force: N, the drive's force limit; the PI output saturates smoothly at 0 and max_force.
    max_speed: m/s, the fastest belt speed the drive is rated for (a faster setpoint is refused).
    kp: N/(m/s) and ki: N/m, PI speed-controller gains.
    current_per_force: A/N, motor current per newton at the belt; no_load_current: A, drawn at zero force.
    resistance: Ω, winding resistance (copper loss R·I²); fixed_loss: W, iron, fan and gearbox losses.
    position: where the motor stands, m (its losses heat the air there); default the segment's end.
    """

    max_force: float = 2000.0
    max_speed: float = 0.5
    kp: float = 5.0e3
    ki: float = 5.0e3
    current_per_force: float = 2.0e-3
    no_load_current: float = 1.0
    resistance: float = 2.0
    fixed_loss: float = 50.0
    position: Point | None = None


@dataclass(frozen=True)
class Segment:
    """A stretch of the conveyor path with its own belt and motor, in path order.

    length: m along the path; omitted on the last segment, which takes the rest.
    speed: setpoint, m/s; default the conveyor's speed.
    mass_per_length: kg/m, moving mass of belt (both strands) and rollers, reflected to the belt.
    rolling_resistance: μ, drag per carried weight (belt and parts); viscous_drag: N·s/m.
    wear: bearing-wear drag factor at the start (0 new; drag scales by 1 + wear);
    wear_rate: its drift, 1/h.
    """

    length: float | None = None
    speed: float | None = None
    mass_per_length: float = 10.0
    rolling_resistance: float = 0.03
    viscous_drag: float = 50.0
    wear: float = 0.0
    wear_rate: float = 0.0
    motor: Motor = field(default_factory=Motor)


@dataclass(frozen=True)
class Station:
    """A processing station on a conveyor: it holds each part at arc length `at` (m) for `service_time`
    (s), then releases it when the next station's buffer has room.

    buffer: parts that may be committed to this station besides the one in service (waiting in its
    accumulation zone or riding towards it); 0: the station upstream holds its part until this one is
    free.
    """

    at: float
    service_time: float
    buffer: int = 5


@dataclass(frozen=True)
class Conveyor:
    """A belt line along a polyline `path` (at least two points), moving at `speed` m/s.

    segments: its belts and motors in path order; default one segment over the whole path.
    stations: processing stations in path order (parts are picked by robots only after the last).
    """

    path: list[Point]
    speed: float
    parts: Parts | None = None
    segments: dict[str, Segment] = field(default_factory=dict)
    stations: dict[str, Station] = field(default_factory=dict)

    def belt_segments(self) -> dict[str, Segment]:
        """Its segments in path order, or one default segment `belt` over the whole path."""
        return self.segments or {DEFAULT_SEGMENT: Segment()}


@dataclass(frozen=True)
class Robot:
    """A robot arm with its base at `base`, picking parts at its pick point, arc length `pick_at` m of
    `conveyor` (formerly the key `station`, still read with a deprecation warning).

    pick_time: s the robot is busy per part (its cycle, until robot dynamics set it); a part that
    reaches the pick point while its robot is busy waits there, and parts queue behind it.
    """

    base: Point
    conveyor: str
    pick_at: float = field(metadata={"formerly": "station"})
    pick_time: float = 0.0


SensorKind = Literal[
    "air_temperature", "surface_temperature", "part_temperature", "cure", "heater_power", "belt_speed",
    "motor_current", "motor_power", "work_in_progress", "throughput", "blocked_fraction", "starved_fraction",
]  # each defined in twin.line.sensors.KINDS


@dataclass(frozen=True)
class Sensor:
    """A measurement channel.

    kind: air_temperature (needs `position`), surface_temperature (`position` on a boundary face: the
    face's own temperature), part_temperature or cure (`target`: a robot — the last part it picked —
    or a conveyor without robots — the last part to leave its end), heater_power (`target`: a heater),
    belt_speed, motor_current, motor_power (`target`: a segment as `conveyor.segment`, or a conveyor of
    one segment), work_in_progress (parts on a conveyor) and throughput (parts leaving it per hour over
    each period; `target`: a conveyor), blocked_fraction and starved_fraction (the fraction of each period
    a processing station held a finished part it could not release, or stood empty; `target`: a station
    as `conveyor.station`). period: sample period, s. unit: per kind (twin.line.sensors.KINDS), default
    the first.
    """

    kind: SensorKind
    period: float
    position: Point | None = None
    target: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class Scene:
    """A whole factory layout."""

    name: str
    grid: Grid
    background: Medium
    description: str = ""
    initial_temperature: float = 20.0
    materials: dict[str, Material] = field(default_factory=dict)
    zones: dict[str, Zone] = field(default_factory=dict)
    boundaries: dict[str, Boundary] = field(default_factory=dict)
    ambient: Ambient | None = None
    heaters: dict[str, Heater] = field(default_factory=dict)
    hvac: dict[str, Hvac] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
    conveyors: dict[str, Conveyor] = field(default_factory=dict)
    robots: dict[str, Robot] = field(default_factory=dict)
    sensors: dict[str, Sensor] = field(default_factory=dict)

    @property
    def ndim(self) -> int:
        return len(self.grid.size)
