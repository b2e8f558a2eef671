"""Typed schema of a scene file: what a factory layout YAML may contain.

Every length is in metres, temperatures in °C, powers in W, times in s. Collections the user addresses
by name (zones, heaters, sources, conveyors, robots, sensors) are YAML mappings keyed by that name, so that any
value can be overridden or swept from the command line (``scene.heaters.oven_1.setpoint=130``).

The dataclasses describe shapes and defaults, and each field's meaning, unit and allowed range (its
metadata, written with `key` and `number`: the one place they are written; error messages and the key
tables of docs/scenes.md follow them). `twin.scene.convert` turns a plain mapping into a `Scene`,
checking types and ranges from this, then geometry and cross-references, naming the key path of anything
wrong.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

Point = list[float]  # [x] along a 1D wall or bar, [x, y] on a 2D floor, [x, y, z] in a 3D hall, metres
DEFAULT_SEGMENT = "belt"  # the one segment of a conveyor that lists none
FACE_NAMES = ("x_min", "x_max", "y_min", "y_max", "z_min", "z_max")  # the hall's faces, the keys of `boundaries`
ABSOLUTE_ZERO = -273.15  # °C
_HEAT_ONLY = "a source gives off heat; cooling goes in hvac"
_NO_DEFAULT: Any = dataclasses.MISSING


@dataclass(frozen=True)
class Range:
    """Allowed values of a number: above `gt` (or from `ge`), below `lt` (or up to `le`); None: unbounded.
    `why`, when given, is said after the range in the error message."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    why: str = ""

    def __contains__(self, x: float) -> bool:
        return (
            (self.gt is None or x > self.gt)
            and (self.ge is None or x >= self.ge)
            and (self.lt is None or x < self.lt)
            and (self.le is None or x <= self.le)
        )

    def __str__(self) -> str:
        lo, hi = (self.gt if self.ge is None else self.ge), (self.lt if self.le is None else self.le)
        if lo is not None and hi is not None:
            return f"in {'(' if self.ge is None else '['}{_num(lo)}, {_num(hi)}{')' if self.le is None else ']'}"
        if lo is not None:
            return f"{'>' if self.ge is None else '≥'} {_num(lo)}"
        return f"{'<' if self.le is None else '≤'} {_num(hi)}"


def _num(x: float) -> str:
    return f"{x:g}".replace("-", "−")


def key(
    meaning: str,
    unit: str = "",
    *,
    default: Any = _NO_DEFAULT,
    default_factory: Any = _NO_DEFAULT,
    formerly: str | None = None,
    bounds: Range | None = None,
) -> Any:
    """A dataclass field with its meaning and unit (metadata), shown in errors ("required: meaning, unit")
    and checked against docs/scenes.md. formerly: the key's old name, still read with a warning."""
    metadata: dict[str, Any] = {"meaning": meaning, "unit": unit}
    if bounds is not None:
        metadata["range"] = bounds
    if formerly is not None:
        metadata["formerly"] = formerly
    return field(default=default, default_factory=default_factory, metadata=metadata)


def number(
    meaning: str,
    unit: str = "",
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    why: str = "",
    default: Any = _NO_DEFAULT,
    formerly: str | None = None,
) -> Any:
    """`key` for a number (or a list of numbers, each in range), with its allowed range: the converter
    refuses a value outside it with "meaning must be > 0 unit" at its key path."""
    bounded = any(b is not None for b in (gt, ge, lt, le))
    return key(
        meaning, unit, default=default, formerly=formerly, bounds=Range(gt, ge, lt, le, why) if bounded else None
    )


def celsius(meaning: str, *, default: Any = _NO_DEFAULT) -> Any:
    """A temperature in °C, above absolute zero."""
    return number(meaning, "°C", gt=ABSOLUTE_ZERO, why="absolute zero; temperatures are in °C", default=default)


@dataclass(frozen=True)
class Grid:
    """The simulated hall: a box from the origin to `size`, cut into cubic or box cells.

    size: extent per axis [L] (1D: a wall, panel or bar), [x, y] (2D floor plan) or [x, y, z] (3D), m.
    spacing: cell edge, m; one number for all axes or one per axis.
    thickness: 2D only — height of the air layer the floor plan stands for, m.
    cross_section: 1D only — area across the bar or wall, m² (1 m²: results per square metre of wall).
    """

    size: list[float] = number("hall extent", "m", gt=0)
    spacing: float | list[float] = number("cell edge", "m", gt=0)
    thickness: float = number("air-layer thickness", "m", gt=0, default=3.0)
    cross_section: float = number("cross-section", "m²", gt=0, default=1.0)


@dataclass(frozen=True)
class Material:
    """Thermal properties. k: conductivity W/(m·K); rho_c: volumetric heat capacity J/(m³·K)."""

    k: float = number("conductivity", "W/(m·K)", gt=0)
    rho_c: float = number("volumetric heat capacity", "J/(m³·K)", gt=0)


@dataclass(frozen=True)
class Medium:
    """What fills cells that no zone covers: a named material, or k and rho_c given directly."""

    material: str | None = key("name of an entry in materials", default=None)
    k: float | None = number("conductivity", "W/(m·K)", gt=0, default=None)
    rho_c: float | None = number("volumetric heat capacity", "J/(m³·K)", gt=0, default=None)


@dataclass(frozen=True)
class Zone:
    """A region of other material: a box ([[x0, y0(, z0)], [x1, y1(, z1)]]) or a 2D polygon.

    In 3D a polygon is extruded over `z_range` (default: the full height). k / rho_c override the
    material's values.
    """

    material: str | None = key("name of an entry in materials", default=None)
    k: float | None = number("conductivity", "W/(m·K)", gt=0, default=None)
    rho_c: float | None = number("volumetric heat capacity", "J/(m³·K)", gt=0, default=None)
    box: list[Point] | None = key("two corner points", "m", default=None)
    polygon: list[Point] | None = key("polygon vertices [x, y]", "m", default=None)
    z_range: list[float] | None = key("height range [z0, z1]", "m", default=None)


@dataclass(frozen=True)
class Schedule:
    """A piecewise-linear time–value table; held constant outside its range. time in s, sorted."""

    time: list[float] = key("sample times", "s")
    value: list[float] = key("values (temperatures °C, or source power fractions)")


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
    temperature: float | None = celsius("temperature", default=None)
    schedule: Schedule | None = None
    flux: float | None = number("heat flux into the hall", "W/m²", default=None)
    h: float | None = number("heat-transfer coefficient", "W/(m²·K)", gt=0, default=None)
    emissivity: float | None = number("emissivity", gt=0, le=1, default=None)


@dataclass(frozen=True)
class Ambient:
    """2D only: exchange through the floor and roof of the air layer. h per floor area, W/(m²·K)."""

    temperature: float = celsius("ambient temperature", default=20.0)
    h: float = number("heat-transfer coefficient per floor area", "W/(m²·K)", ge=0, default=0.0)


@dataclass(frozen=True)
class Heater:
    """An electric heater filling a box, under a PI thermostat with smooth saturation.

    power: maximum electrical power, W. efficiency: fraction of it that heats the air.
    setpoint: °C at the thermostat `sensor` position. kp: 1/K, ki: 1/(K·s) — output as a fraction of
    full power per kelvin of error.
    """

    box: list[Point] = key("heater box, two corner points", "m")
    power: float = number("maximum power", "W", gt=0)
    setpoint: float = celsius("thermostat setpoint")
    sensor: Point = key("thermostat position", "m")
    efficiency: float = number("efficiency", gt=0, le=1, default=1.0)
    kp: float = number("proportional gain", "1/K", ge=0, default=0.1)
    ki: float = number("integral gain", "1/(K·s)", ge=0, default=1.0e-3)


@dataclass(frozen=True)
class Hvac:
    """An air handler mixing supply air into a box: airflow m³/s at supply_temperature °C."""

    box: list[Point] = key("supply box, two corner points", "m")
    supply_temperature: float = celsius("supply air temperature")
    airflow: float = number("supply airflow", "m³/s", gt=0)


@dataclass(frozen=True)
class Source:
    """A volumetric heat source without a thermostat: a machine, press or formation rack giving off heat.

    Where: a box or a 2D polygon, as a zone (`z_range` extrudes a polygon in 3D). How much: `power`, W
    in total, spread evenly over the cells it covers, or `q`, W/m³ in each covered cell (exactly one of
    the two). schedule: a time–value table of the fraction of that power given off (dimensionless ≥ 0,
    piecewise linear, held outside its range); without one the source is constant.
    """

    box: list[Point] | None = key("source box, two corner points", "m", default=None)
    polygon: list[Point] | None = key("polygon vertices [x, y]", "m", default=None)
    z_range: list[float] | None = key("height range [z0, z1]", "m", default=None)
    power: float | None = number("power", "W", ge=0, why=_HEAT_ONLY, default=None)
    q: float | None = number("power density", "W/m³", ge=0, why=_HEAT_ONLY, default=None)
    schedule: Schedule | None = key("fraction of the power over time", default=None)


@dataclass(frozen=True)
class Cure:
    """Adhesive cure kinetics dα/dt = A·exp(−Ea/(R·T))·(1−α)^n. A: 1/s, Ea: J/mol, n: order."""

    A: float = number("pre-exponential factor A", "1/s", gt=0)
    Ea: float = number("activation energy Ea", "J/mol", ge=0)
    n: float = number("reaction order n", ge=0, default=1.0)


@dataclass(frozen=True)
class Parts:
    """Parts the conveyor carries, spawned at the path start every `spacing` metres of belt travel.

    mass kg, c_p J/(kg·K), area m² (exchange area), h W/(m²·K) to the air, initial_temperature °C.
    length: m along the belt; min_gap: m of clear belt parts keep between them when they queue.
    """

    spacing: float = number("belt travel between parts", "m", gt=0)
    mass: float = number("part mass", "kg", gt=0)
    c_p: float = number("specific heat", "J/(kg·K)", gt=0)
    area: float = number("exchange area", "m²", gt=0)
    h: float = number("heat-transfer coefficient to the air", "W/(m²·K)", gt=0)
    initial_temperature: float = celsius("temperature at entry", default=20.0)
    cure: Cure | None = None
    length: float = number("part length", "m", gt=0, default=0.3)
    min_gap: float = number("minimum gap between queued parts", "m", ge=0, default=0.05)


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

    max_force: float = number("force limit", "N", gt=0, default=2000.0)
    max_speed: float = number("rated belt speed", "m/s", gt=0, default=0.5)
    kp: float = number("proportional gain", "N/(m/s)", ge=0, default=5.0e3)
    ki: float = number("integral gain", "N/m", ge=0, default=5.0e3)
    current_per_force: float = number("current per newton", "A/N", ge=0, default=2.0e-3)
    no_load_current: float = number("no-load current", "A", ge=0, default=1.0)
    resistance: float = number("winding resistance", "Ω", ge=0, default=2.0)
    fixed_loss: float = number("fixed loss", "W", ge=0, default=50.0)
    position: Point | None = key("motor position", "m", default=None)


@dataclass(frozen=True)
class Bearings:
    """The bearings of a segment's carrying rollers, rated by ISO 281:2007 (twin.kernels.bearing).

    Every roller turns on two bearings and carries its share of the belt's and the parts' weight.
    Defaults: a 6204-class deep-groove ball bearing (SKF catalogue: C 13.5 kN, Cu 0.28 kN, 20×47 mm) in
    an 89 mm idler every 1.2 m, greased with a mineral base oil of 110/11 mm²/s at 40/100 °C (an
    LGMT 2-class grease), eC 0.5 (slight to typical contamination, ISO 281:2007 Table 13, dm < 100 mm).
    kind: ball or roller (the life exponent, 3 or 10/3, and aISO's constants).
    wear_per_life: drag factor added as the bearings use their life: the segment's drag scales by
    1 + wear + wear_rate·t + wear_per_life·(life used), the life used starting at used_before.
    """

    kind: Literal["ball", "roller"] = key("ball or roller", default="ball")
    dynamic_load_rating: float = number("basic dynamic load rating C", "N", gt=0, default=13500.0)
    fatigue_load_limit: float = number("fatigue load limit Cu", "N", gt=0, default=280.0)
    mean_diameter: float = number("mean bearing diameter dm", "mm", gt=0, default=33.5)
    roller_diameter: float = number("roller diameter", "m", gt=0, default=0.089)
    roller_spacing: float = number("distance between carrying rollers", "m", gt=0, default=1.2)
    contamination: float = number("contamination factor eC", ge=0, le=1, default=0.5)
    oil_viscosity_40: float = number("base oil viscosity at 40 °C", "mm²/s", gt=0, default=110.0)
    oil_viscosity_100: float = number("base oil viscosity at 100 °C", "mm²/s", gt=0, default=11.0)
    temperature_rise: float = number("bearing temperature above the air", "K", ge=0, default=5.0)
    reliability: float = number("reliability of the rated life", "%", ge=90, lt=100, default=90.0)
    used_before: float = number("fraction of the life used before the run", ge=0, default=0.0)
    wear_per_life: float = number("drag factor added per life used", ge=0, default=1.0)


@dataclass(frozen=True)
class Segment:
    """A stretch of the conveyor path with its own belt and motor, in path order.

    length: m along the path; omitted on the last segment, which takes the rest.
    speed: setpoint, m/s; default the conveyor's speed.
    mass_per_length: kg/m, moving mass of belt (both strands) and rollers, reflected to the belt.
    rolling_resistance: μ, drag per carried weight (belt and parts); viscous_drag: N·s/m.
    wear: bearing-wear drag factor at the start (0 new; drag scales by 1 + wear);
    wear_rate: its drift, 1/h; bearings: the rollers' bearings, whose used life adds to the wear.
    """

    length: float | None = number("segment length", "m", gt=0, default=None)
    speed: float | None = number("belt speed", "m/s", gt=0, default=None)
    mass_per_length: float = number("moving mass per length", "kg/m", gt=0, default=10.0)
    rolling_resistance: float = number("rolling-resistance coefficient", ge=0, default=0.03)
    viscous_drag: float = number("viscous drag coefficient", "N·s/m", ge=0, default=50.0)
    wear: float = number("bearing-wear drag factor", ge=0, default=0.0)
    wear_rate: float = number("wear drift", "1/h", ge=0, default=0.0)
    motor: Motor = key("the segment's drive", default_factory=Motor)
    bearings: Bearings = key("the carrying rollers' bearings", default_factory=Bearings)


@dataclass(frozen=True)
class Station:
    """A processing station on a conveyor: it holds each part at arc length `at` (m) for `service_time`
    (s), then releases it when the next station's buffer has room.

    buffer: parts that may be committed to this station besides the one in service (waiting in its
    accumulation zone or riding towards it); 0: the station upstream holds its part until this one is
    free.
    """

    at: float = key("station position, arc length along the conveyor", "m")
    service_time: float = number("service time", "s", gt=0)
    buffer: int = number("buffer", "parts", ge=0, default=5)


@dataclass(frozen=True)
class Conveyor:
    """A belt line along a polyline `path` (at least two points), moving at `speed` m/s.

    segments: its belts and motors in path order; default one segment over the whole path.
    stations: processing stations in path order (parts are picked by robots only after the last).
    """

    path: list[Point] = key("polyline of at least two points", "m")
    speed: float = number("belt speed", "m/s", gt=0)
    parts: Parts | None = None
    segments: dict[str, Segment] = key("belt segments with their motors, in path order", default_factory=dict)
    stations: dict[str, Station] = field(default_factory=dict)

    def belt_segments(self) -> dict[str, Segment]:
        """Its segments in path order, or one default segment `belt` over the whole path."""
        return self.segments or {DEFAULT_SEGMENT: Segment()}


@dataclass(frozen=True)
class JointLimits:
    """What a joint may do: position [min, max] rad, speed rad/s, acceleration rad/s²."""

    position: list[float] = key("position range [min, max]", "rad")
    speed: float = number("maximum speed", "rad/s", gt=0)
    acceleration: float = number("maximum acceleration", "rad/s²", gt=0)


ReducerType = Literal["strain_wave", "cycloidal"]


@dataclass(frozen=True)
class Reducer:
    """A joint's reducer, as its maker's catalogue rates it (twin.kernels.reducer has the life formulas).

    type: strain_wave (Harmonic Drive: speeds are input speeds, r/min) or cycloidal (RV type: output speeds).
    rated_torque, rated_speed, rated_life: the catalogue's rating point (Tr, nr, Ln for strain-wave; T0,
    N0, K for cycloidal), h; rated_as: whether rated_life is an L10 or an L50 (L10 = L50/5).
    average_torque_limit, repeated_peak_torque (starts and stops), momentary_peak_torque (emergency stops):
    N·m; max_speed: r/min on the rated side. efficiency: of the reducer (its losses heat it and the
    hall). thermal_resistance: K/W, surface temperature rise over the air per watt of its losses.
    reference_temperature: °C up to which the rated life holds; halving: K above it per halving of
    life (grease ageing, docs/robots.md); surface_limit: °C, the maker's limit, reported as a margin.
    """

    type: ReducerType = key("strain_wave or cycloidal")
    rated_torque: float = number("rated torque", "N·m", gt=0)
    rated_speed: float = number("rated speed (input for strain-wave, output for cycloidal)", "r/min", gt=0)
    average_torque_limit: float = number("limit for average torque", "N·m", gt=0)
    repeated_peak_torque: float = number("limit for repeated peak torque", "N·m", gt=0)
    momentary_peak_torque: float = number("limit for momentary peak torque", "N·m", gt=0)
    max_speed: float = number("maximum speed (the rated side)", "r/min", gt=0)
    rated_life: float | None = number("rated life (default 7000 strain-wave, 6000 cycloidal)", "h", gt=0, default=None)
    rated_as: Literal["L10", "L50"] = key("L10 or L50: what rated_life is", default="L10")
    efficiency: float = number("efficiency", gt=0, le=1, default=0.8)
    thermal_resistance: float = number("surface temperature rise per watt lost", "K/W", ge=0, default=0.1)
    reference_temperature: float = celsius("temperature up to which the rated life holds", default=40.0)
    halving: float = number("temperature rise per halving of life", "K", gt=0, default=10.0)
    surface_limit: float = celsius("maker's surface temperature limit", default=60.0)


MeanStress = Literal["none", "goodman", "gerber", "morrow", "walker"]


@dataclass(frozen=True)
class Member:
    """The critical section of the arm member a joint drives: stress σ = Kt·τ/Z, Basquin's S-N curve
    σa = σf'·(2N)^b with a mean-stress correction (twin.kernels.fatigue)."""

    section_modulus: float = number("section modulus Z", "m³", gt=0)
    fatigue_strength: float = number("fatigue strength coefficient σf'", "Pa", gt=0)
    fatigue_exponent: float = number("fatigue strength exponent b", lt=0)
    ultimate_strength: float = number("ultimate tensile strength Su", "Pa", gt=0)
    stress_concentration: float = number("stress-concentration factor Kt", ge=1, default=1.0)
    mean_stress: MeanStress = key("mean-stress correction: " + ", ".join(get_args(MeanStress)), default="goodman")
    walker_gamma: float = number("Walker's exponent γ (0.5: Smith–Watson–Topper)", gt=0, le=1, default=0.5)


@dataclass(frozen=True)
class Joint:
    """One revolute joint and the link it moves (the DH table's row of the same rank).

    mass kg; com: centre of mass in the link frame, m; inertia: about the centre of mass in the link
    frame, the tensor's entries [Ixx, Iyy, Izz, Ixy, Ixz, Iyz], kg·m². gear_ratio: motor turns per joint
    turn; rotor_inertia: kg·m² on the motor side (reflected as G²·Jm); viscous: N·m·s/rad and coulomb: N·m
    friction at the joint.
    """

    mass: float = number("link mass", "kg", ge=0)
    inertia: list[float] = key("inertia about the centre of mass [Ixx, Iyy, Izz, Ixy, Ixz, Iyz]", "kg·m²")
    limits: JointLimits = key("position, speed and acceleration limits")
    gear_ratio: float = number("gear ratio", gt=0)
    reducer: Reducer = key("the joint's reducer and its rating")
    member: Member = key("critical section of the member it drives")
    com: list[float] = key("centre of mass in the link frame [x, y, z]", "m", default_factory=lambda: [0.0, 0.0, 0.0])
    rotor_inertia: float = number("motor rotor inertia", "kg·m²", ge=0, default=0.0)
    viscous: float = number("viscous friction", "N·m·s/rad", ge=0, default=0.0)
    coulomb: float = number("Coulomb friction", "N·m", ge=0, default=0.0)


@dataclass(frozen=True)
class ArmModel:
    """A serial arm of revolute joints: its DH table, links, drives and rating.

    dh: one row [a m, α rad, d m, θ offset rad] per joint, in the `convention`'s meaning (standard: Spong;
    modified: Craig). joints: one entry per row, in the same order. rated_payload: kg at the flange.
    motor_efficiency: of the drives (their losses heat the hall); standby_power: W the controller and
    drives draw at rest. samples_per_move: time samples of each move for torques and life.
    """

    dh: list[Point] = key("DH table, one row [a, alpha, d, theta_offset] per joint", "m, rad")
    joints: dict[str, Joint] = key("the joints in DH row order")
    rated_payload: float = number("rated payload", "kg", gt=0)
    convention: Literal["standard", "modified"] = key("DH convention: standard or modified", default="standard")
    motor_efficiency: float = number("drive efficiency", gt=0, le=1, default=0.9)
    standby_power: float = number("power drawn at rest", "W", ge=0, default=150.0)
    samples_per_move: int = number("time samples per move", ge=4, default=16)


@dataclass(frozen=True)
class Load:
    """A load at the flange: mass kg, centre of mass [x, y, z] m and inertia about it [Ixx, Iyy, Izz,
    Ixy, Ixz, Iyz] kg·m², in the flange frame."""

    mass: float | None = number("mass", "kg", ge=0, default=None)
    com: list[float] = key("centre of mass [x, y, z]", "m", default_factory=lambda: [0.0, 0.0, 0.0])
    inertia: list[float] = key("inertia [Ixx, Iyy, Izz, Ixy, Ixz, Iyz]", "kg·m²", default_factory=lambda: [0.0] * 6)


@dataclass(frozen=True)
class Robot:
    """A robot at `base`, picking parts at its pick point, arc length `pick_at` m of `conveyor` (formerly
    the key `station`, still read with a deprecation warning).

    Without `arm`, the robot is busy `pick_time` s per part. With `arm` (the name of an entry in `arms`),
    it moves through `waypoints` (joint angles, rad, one list per named pose) in the order `cycle`
    (default: as listed; the cycle closes back to its first pose), resting `dwell` s at the named poses,
    taking the part at pose `grip` and leaving it at `release`; its cycle is timed to the line's part
    interval at the pick point less `cycle_margin` (a fraction), capped by the joint limits, and that
    cycle is its pick time. payload: the part as held (mass default the conveyor's part mass); tool: the
    gripper, always carried. damage_so_far: the fraction of each joint's life already used. heading: the
    direction of the arm's base x axis on the floor, rad from the hall's x axis towards its y axis
    (where the picture draws the arm; gravity is along the base z axis whatever the heading).
    """

    base: Point = key("base position", "m")
    conveyor: str = key("name of the conveyor it picks from")
    pick_at: float = key("pick point, arc length along the conveyor", "m", formerly="station")
    pick_time: float | None = number("pick time (without an arm model)", "s", ge=0, default=None)
    arm: str | None = key("name of an entry in arms", default=None)
    waypoints: dict[str, list[float]] = key("poses of the cycle, joint angles per pose", "rad", default_factory=dict)
    cycle: list[str] | None = key("pose names in cycle order (default: waypoints as listed)", default=None)
    dwell: dict[str, float] = key("rest at named poses", "s", default_factory=dict)
    grip: str = key("pose where the part is taken", default="pick")
    release: str = key("pose where the part is left", default="place")
    payload: Load = key("the part as held", default_factory=Load)
    tool: Load = key("the gripper, always carried", default_factory=lambda: Load(mass=0.0))
    cycle_margin: float = number("cycle time margin under the line's part interval", ge=0, lt=1, default=0.1)
    damage_so_far: float = number("fraction of each joint's life already used", ge=0, lt=1, default=0.0)
    heading: float = key("direction of the arm's base x axis, from the hall's x axis", "rad", default=0.0)

    @property
    def busy_time(self) -> float:
        """s busy per part without an arm model."""
        return self.pick_time or 0.0


SensorKind = Literal[
    "air_temperature",
    "surface_temperature",
    "part_temperature",
    "cure",
    "heater_power",
    "belt_speed",
    "motor_current",
    "motor_power",
    "bearing_life",
    "bearing_use",
    "work_in_progress",
    "throughput",
    "blocked_fraction",
    "starved_fraction",
    "joint_torque",
    "joint_peak_torque",
    "reducer_life",
    "damage",
    "remaining_life",
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

    kind: SensorKind = key("what is measured: " + ", ".join(get_args(SensorKind)))
    period: float = number("sample period", "s", gt=0)
    position: Point | None = key("sample position", "m", default=None)
    target: str | None = key("what is measured: a robot, conveyor, conveyor.segment or heater, per kind", default=None)
    unit: str | None = key("unit of the readings, per kind", default=None)


@dataclass(frozen=True)
class Scene:
    """A whole factory layout."""

    name: str = key("scene name")
    grid: Grid = key("the simulated hall (size, spacing)")
    background: Medium = key("what fills cells no zone covers (material, or k and rho_c)")
    description: str = ""
    initial_temperature: float = celsius("initial temperature", default=20.0)
    materials: dict[str, Material] = field(default_factory=dict)
    zones: dict[str, Zone] = field(default_factory=dict)
    boundaries: dict[str, Boundary] = field(default_factory=dict)
    ambient: Ambient | None = None
    heaters: dict[str, Heater] = field(default_factory=dict)
    hvac: dict[str, Hvac] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
    conveyors: dict[str, Conveyor] = field(default_factory=dict)
    arms: dict[str, ArmModel] = field(default_factory=dict)
    robots: dict[str, Robot] = field(default_factory=dict)
    sensors: dict[str, Sensor] = field(default_factory=dict)

    @property
    def ndim(self) -> int:
        return len(self.grid.size)
