"""The three parts of a built scene: static `Layout`, differentiable `Params`, evolving `State`.

Array shapes use: `grid` the field's array shape ((nx,), (ny, nx) or (nz, ny, nx)); `h` heaters; `v` HVAC
units; `w` volumetric heat sources; `c` conveyors; `n` part slots per conveyor; `r` pick points per
conveyor (padded); `q` processing stations per conveyor (padded); `g` belt segments (all conveyors); `k`
the 2^d cells around a sampling point; `s` sensors; `a` robots with arm models; `J` joints per arm
(padded); `p` poses of an arm's cycle, closed (its first pose again at the end).
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from dataclasses import dataclass, fields

import numpy as np
from jaxtyping import Array, Bool, Float, Int

from twin.kernels.arm import Arm, Payload
from twin.kernels.bearing import Rollers
from twin.kernels.belt import BeltParams
from twin.kernels.fatigue import Material
from twin.kernels.pytree import pytree_dataclass
from twin.kernels.reducer import Rating

RHO_C_AIR = 1200.0  # J/(m³·K), volumetric heat capacity of air for HVAC exchange


@dataclass(frozen=True, eq=False)
class FaceLayout:
    """A boundary face that is not adiabatic. axis: array axis; side 0 low / 1 high."""

    name: str
    kind: str
    axis: int
    side: int
    schedule_time: np.ndarray | None  # s, for scheduled Dirichlet faces


@dataclass(frozen=True, eq=False)
class ConveyorLayout:
    """A conveyor path, its belt segments and where its parts leave it."""

    name: str
    vertices: np.ndarray  # (m, d) m
    arc: np.ndarray  # (m,) cumulative arc length at each vertex, m
    pick_points: tuple[float, ...]  # arc length where each robot picks, m; the path end if no robots
    robots: tuple[str, ...]  # robot at each pick point ('' for the path end)
    has_parts: bool
    segments: tuple[int, ...]  # indices into Layout.segments, in path order
    segment_ends: np.ndarray  # (len(segments),) arc length where each segment ends, m
    station_names: tuple[str, ...]  # processing stations in path order
    station_at: np.ndarray  # (K,) their arc lengths, m
    buffers: tuple[int, ...]  # (K,) parts each may have committed besides the one in service

    @property
    def length(self) -> float:
        return float(self.arc[-1])


@dataclass(frozen=True, eq=False)
class SegmentLayout:
    """One belt segment: where it runs and where its heat goes."""

    name: str  # conveyor.segment
    conveyor: int
    start: float  # arc length, m
    end: float
    motor: np.ndarray  # (d,) where the motor stands, m
    motor_idx: np.ndarray  # (k,) cells around the motor (its losses)
    motor_w: np.ndarray  # (k,)
    drag_idx: np.ndarray  # (q, k) cells along the segment (drag work), q points
    drag_w: np.ndarray  # (q, k) weights, each point's share 1/q folded in


@dataclass(frozen=True, eq=False)
class SensorLayout:
    """How to read one sensor. For air sensors idx/w sample the field; for the others `target` indexes
    the heater, or (conveyor, pick point)."""

    name: str
    kind: str
    unit: str
    period: float
    idx: np.ndarray | None = None
    w: np.ndarray | None = None
    target: tuple[int, ...] = ()


@dataclass(frozen=True, eq=False)
class RobotArmLayout:
    """A robot with an arm model: where it picks and stands, and how its cycle is sampled."""

    name: str
    conveyor: int
    point: int  # its pick point on that conveyor
    joints: tuple[str, ...]
    per_move: int  # time samples per move (twin.kernels.duty_cycle.sample)
    carrying: np.ndarray  # (samples,) bool: the part is in the gripper
    base_idx: np.ndarray  # (1, k) cells around the base (its air, and where its losses go)
    base_w: np.ndarray  # (1, k)


@dataclass(frozen=True, eq=False)
class Layout:
    """Everything static about a scene: fixed for a compiled step. Equal (and hashed) by content, so a
    scene built again maps to the same compiled programs (twin.time_loop.program)."""

    shape: tuple[int, ...]
    spacing: tuple[float, ...]  # per coordinate x, y(, z), m
    cell_volume: float  # m³ (2D: dx·dy·thickness)
    zone_index: np.ndarray  # grid, int: 0 background, i zone i
    zone_names: tuple[str, ...]  # names of zone_index 1..
    faces: tuple[FaceLayout, ...]
    ambient: bool
    heater_names: tuple[str, ...]
    heater_shape: np.ndarray  # (h, *grid) 1/m³: cell mask over box volume
    thermostat_idx: np.ndarray  # (h, k)
    thermostat_w: np.ndarray  # (h, k)
    hvac_names: tuple[str, ...]
    hvac_shape: np.ndarray  # (v, *grid) 1/m³
    source_names: tuple[str, ...]
    source_shape: np.ndarray  # (w, *grid) 1/m³: cell mask over the source's volume
    source_schedule_time: tuple[np.ndarray | None, ...]  # (w,) s, per source; None: constant power
    conveyors: tuple[ConveyorLayout, ...]
    segments: tuple[SegmentLayout, ...]
    capacity: int  # part slots per conveyor
    sensors: tuple[SensorLayout, ...]
    robot_arms: tuple[RobotArmLayout, ...]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __eq__(self, other) -> bool:
        return self is other or (isinstance(other, Layout) and self._fingerprint == other._fingerprint)

    def __hash__(self) -> int:
        return hash(self._fingerprint)

    @functools.cached_property
    def _fingerprint(self) -> bytes:
        """Digest of every field, arrays by value (pickle writes their dtype, shape and bytes)."""
        return hashlib.sha256(pickle.dumps([getattr(self, f.name) for f in fields(self)])).digest()

    @property
    def spacing_by_axis(self) -> tuple[float, ...]:
        """Spacing per array axis (axis 0 first), the order the kernels take."""
        return self.spacing[::-1]

    @property
    def max_pick_points(self) -> int:
        """Pick points per conveyor, padded (at least 1)."""
        return max((len(c.pick_points) for c in self.conveyors), default=1)

    @property
    def max_joints(self) -> int:
        """Joints per arm, padded (at least 1)."""
        return max([len(r.joints) for r in self.robot_arms] + [1])

    @property
    def max_processing(self) -> int:
        """Processing stations per conveyor, padded (at least 1 so arrays are never empty)."""
        return max([len(c.station_names) for c in self.conveyors] + [1])


@pytree_dataclass
class FaceParams:
    """Boundary-face values (unused entries are 0). temperature °C; h W/(m²·K); flux W/m²;
    schedule °C at the layout's schedule times (empty when not scheduled)."""

    temperature: Float[Array, ""]
    h: Float[Array, ""]
    flux: Float[Array, ""]
    emissivity: Float[Array, ""]
    schedule: Float[Array, " t"]


@pytree_dataclass
class ArmParams:
    """One robot's arm, its loads and its cycle (see twin.scene.schema.ArmModel, Joint and Robot)."""

    arm: Arm
    ratings: tuple[Rating, ...]  # per joint
    materials: tuple[Material, ...]  # per joint, its member's S-N curve
    section_modulus: Float[Array, " J"]  # m³
    stress_concentration: Float[Array, " J"]
    speed_limit: Float[Array, " J"]  # rad/s
    acceleration_limit: Float[Array, " J"]  # rad/s²
    waypoints: Float[Array, "p J"]  # rad, the cycle's poses, closed
    dwell: Float[Array, " p"]  # s at each pose (0 at the closing one)
    payload: Payload  # the part as held
    tool: Payload  # always carried
    reducer_efficiency: Float[Array, " J"]
    motor_efficiency: Float[Array, ""]
    standby_power: Float[Array, ""]  # W
    thermal_resistance: Float[Array, " J"]  # K/W, reducer surface over the air
    reference_T: Float[Array, " J"]  # °C
    halving: Float[Array, " J"]  # K
    surface_limit: Float[Array, " J"]  # °C
    cycle_margin: Float[Array, ""]
    damage_so_far: Float[Array, ""]


@pytree_dataclass
class Params:
    """Every calibratable or tunable number, as arrays (see twin.scene.schema for units)."""

    initial_T: Float[Array, ""]  # °C, the hall's uniform temperature at t = 0 (`initial_state`)
    zone_k: Float[Array, " z"]  # W/(m·K), index 0 the background
    zone_rho_c: Float[Array, " z"]  # J/(m³·K)
    faces: tuple[FaceParams, ...]  # aligned with Layout.faces
    ambient_T: Float[Array, ""]  # °C
    ambient_h: Float[Array, ""]  # W/(m²·K) per floor area
    heater_power: Float[Array, " h"]  # W
    heater_efficiency: Float[Array, " h"]
    heater_setpoint: Float[Array, " h"]  # °C
    heater_kp: Float[Array, " h"]  # 1/K
    heater_ki: Float[Array, " h"]  # 1/(K·s)
    hvac_supply_T: Float[Array, " v"]  # °C
    hvac_airflow: Float[Array, " v"]  # m³/s
    source_power: Float[Array, " w"]  # W (a `q` in W/m³ is stored as q × the source's rasterised volume)
    source_schedule: tuple[Float[Array, " t"], ...]  # per source: power factor at the layout's times (empty: 1)
    belts: BeltParams  # per segment (g)
    bearings: Rollers  # per segment (g): the carrying rollers' bearings
    part_spacing: Float[Array, " c"]  # m
    part_mass: Float[Array, " c"]  # kg
    part_c_p: Float[Array, " c"]  # J/(kg·K)
    part_area: Float[Array, " c"]  # m²
    part_h: Float[Array, " c"]  # W/(m²·K)
    part_T0: Float[Array, " c"]  # °C
    cure_A: Float[Array, " c"]  # 1/s
    cure_Ea: Float[Array, " c"]  # J/mol
    cure_n: Float[Array, " c"]
    part_length: Float[Array, " c"]  # m along the belt (the load it puts on each segment it spans)
    part_pitch: Float[Array, " c"]  # m, centre distance of queued parts (length + min_gap)
    service_time: Float[Array, "c q"]  # s, per processing station (padded)
    pick_time: Float[Array, "c r"]  # s a robot is busy per part, per pick point (0 at a path end; an
    # arm model's cycle replaces it: twin.line.robots)
    arms: tuple[ArmParams, ...]  # aligned with Layout.robot_arms


@pytree_dataclass
class PartsState:
    """Lagrangian parts riding the conveyors, in fixed slots; `alive` marks the occupied ones.

    In `State` every leaf has a leading conveyor axis (`c`); the line's physics (twin.line) takes and
    returns one conveyor's slice (`twin.kernels.pytree.take`), leaves without it.
    """

    s: Float[Array, "*c n"]  # arc position, m
    T: Float[Array, "*c n"]  # °C
    alpha: Float[Array, "*c n"]  # cure degree, 0..1
    alive: Bool[Array, "*c n"]
    id: Int[Array, "*c n"]  # entry number on its conveyor, 0, 1, …
    t_in: Float[Array, "*c n"]  # s, when it entered (interpolated within the step)
    pick_point: Int[Array, "*c n"]  # index of the pick point each part goes to
    next_station: Int[Array, "*c n"]  # processing station a part is at or heading to (K: all done)
    dwell: Float[Array, "*c n"]  # s of service left (≤ 0: done, waiting for room downstream)
    serving: Bool[Array, "*c n"]  # held at its station (in service, or done and blocked)
    travel: Float[Array, "*c"]  # belt travel since the last spawn, m
    robot_free_at: Float[Array, "*c r"]  # s: when each pick point's robot can take its next part


@pytree_dataclass
class Tallies:
    """What the line has done so far, per conveyor: running totals and the last values seen, which the
    step adds to but never reads to move anything (metrics and sensors read them). Leading axis `c` in
    `State`, as `PartsState`."""

    n_in: Int[Array, "*c"]
    n_out: Int[Array, "*c"]
    picked_T: Float[Array, "*c 3"]  # sum, min, max of part temperature at pick, °C
    picked_alpha: Float[Array, "*c 3"]  # sum, min, max of cure at pick
    last_T: Float[Array, "*c r"]  # temperature of the last part picked at each pick point, °C
    last_alpha: Float[Array, "*c r"]
    blocked: Float[Array, "*c q"]  # s each processing station held a finished part it could not release
    starved: Float[Array, "*c q"]  # s each processing station stood empty
    exit_times: Float[Array, "*c 2"]  # first and last time a part left the conveyor, s (NaN before)
    wip: Float[Array, "*c"]  # ∫ parts on the conveyor dt, part·s
    picks: Int[Array, "*c r"]  # parts each pick point's robot has taken
    robot_damage: Float[Array, "*c r J"]  # fraction of each joint's life used in this run, per pick point


@pytree_dataclass
class BeltState:
    """Belt segments (g): speed, controller integral and what the motors have drawn."""

    v: Float[Array, " g"]  # m/s
    integral: Float[Array, " g"]  # PI integral term, fraction of max_force
    energy: Float[Array, " g"]  # electrical energy, J
    charge: Float[Array, " g"]  # ∫current dt, A·s
    heat: Float[Array, " g"]  # motor losses and drag work given to the air, J
    pending_load: Float[Array, " g"]  # kg added to the next step's load: the part of the last step's
    # entries and picks the load at its start missed or overcounted (twin.line.belts.presence_correction)
    bearing_use: Float[Array, " g"]  # fraction of the roller bearings' life used in this run (from 0, so
    # that float32 keeps a step's increment of ~1e-9; Params.bearings.used_before is added where it is read)


@pytree_dataclass
class Status:
    """How the run is going, as values (nothing can be raised inside jit); see twin.status."""

    unconverged_steps: Int[Array, ""]  # steps whose CG or controller solve did not converge
    nonfinite_time: Float[Array, ""]  # s, end of the first step that left a non-finite value (NaN: none)
    nonfinite_what: Int[Array, ""]  # which state array it was, index into twin.status.CHECKED (−1: none)
    nonfinite_index: Int[Array, ""]  # flat index of the first non-finite entry in that array


@pytree_dataclass
class State:
    """Everything that evolves."""

    t: Float[Array, ""]  # s
    T: Float[Array, "*grid"]  # air/solid temperature, °C
    heater_integral: Float[Array, " h"]  # PI integral term, fraction of full power
    heater_output: Float[Array, " h"]  # last control output, fraction of full power
    heater_energy: Float[Array, " h"]  # electrical energy drawn, J
    parts: PartsState
    tallies: Tallies
    belts: BeltState
    status: Status
