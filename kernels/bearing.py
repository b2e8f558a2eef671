"""Rolling-bearing life by ISO 281:2007: basic rating life, the reliability factor a1 and the life
modification factor aISO from the lubricant's viscosity ratio κ and the contamination factor eC.

    L10h = 10⁶ / (60·n) · (C/P)^p                  h, n in r/min, p = 3 (ball) or 10/3 (roller)
    Lnmh = a1 · aISO · L10h
    a1   = 0.95 · (ln(100/R) / ln(100/90))^(2/3) + 0.05        R the reliability, % (ISO 281:2007 §6.2)
    aISO = 0.1 · [1 − (x₁ − x₂/κ^e) · (eC·Cu/P)^f]^(−g), capped at 50     (ISO 281:2007 §6.5, Annex A)

with (x₁, x₂, e) by the κ ranges 0.1–0.4, 0.4–1, 1–4 (κ clipped to [0.1, 4]) and, for ball bearings,
the bracketed factor raised to 0.83, f = 1/3, g = 9.3; for roller bearings f = 0.4, g = 9.185.

κ = ν/ν₁: ν the base oil's kinematic viscosity at the operating temperature, from its viscosities at
40 °C and 100 °C by the Ubbelohde–Walther relation (ASTM D341: log log(ν + 0.7) linear in log T), and
ν₁ the rated viscosity, ν₁ = 45000·n^(−0.83)·dm^(−0.5) below 1000 r/min, 4500·n^(−0.5)·dm^(−0.5) above
(ISO 281:2007 Fig. 14 as an equation; dm the mean diameter, mm).

`Rollers` holds the bearings of a belt segment's carrying rollers (idlers) and `life_use_rate` the
fraction of their Lnm life used per hour at a belt speed, carried mass and air temperature: what the
line integrates in time (twin.line.belts), so a varying duty adds up by Miner's rule (Palmgren–Miner,
as ISO 281's load spectra do).
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
from jaxtyping import Array, Float

from .pytree import pytree_dataclass

BALL, ROLLER = "ball", "roller"
AISO_CAP = 50.0
KAPPA_RANGE = (0.1, 4.0)
# (upper κ of the range, x₁, x₂, e) per kind
_AISO_CONSTANTS = {
    BALL: ((0.4, 2.5671, 2.2649, 0.054381), (1.0, 2.5671, 1.9987, 0.190870), (4.0, 2.5671, 1.9987, 0.071739)),
    ROLLER: ((0.4, 1.5859, 1.3993, 0.054381), (1.0, 1.5859, 1.2348, 0.190870), (4.0, 1.5859, 1.2348, 0.071739)),
}
_AISO_POWERS = {BALL: (0.83, 1.0 / 3.0, 9.3), ROLLER: (1.0, 0.4, 9.185)}


def basic_life_hours(dynamic_load_rating, equivalent_load, speed_rpm, kind: str = BALL):
    """L10h: hours that 90 % of a group of bearings reach at load P (N) and speed n (r/min)."""
    p = 3.0 if kind == BALL else 10.0 / 3.0
    return 1e6 / (60.0 * speed_rpm) * (dynamic_load_rating / equivalent_load) ** p


def reliability_factor(reliability_percent):
    """a1 (ISO 281:2007): 1 at 90 %, 0.64 at 95 %, 0.25 at 99 %."""
    return 0.95 * (jnp.log(100.0 / reliability_percent) / math.log(100.0 / 90.0)) ** (2.0 / 3.0) + 0.05


def life_modification_factor(kappa, contamination_load_ratio, kind: str = BALL):
    """aISO from the viscosity ratio κ and eC·Cu/P, capped at 50."""
    kappa = jnp.clip(kappa, *KAPPA_RANGE)
    bracket_power, f, g = _AISO_POWERS[kind]
    value = None
    for upper, x1, x2, e in reversed(_AISO_CONSTANTS[kind]):
        base = x1 - x2 / kappa**e  # > 0 in its own κ range; other ranges' may not be: kept from NaN
        positive = base > 0.0
        inner = 1.0 - jnp.where(positive, jnp.where(positive, base, 1.0) ** bracket_power, 0.0) * (
            contamination_load_ratio**f
        )
        # inner → 0 as the load falls to the fatigue limit: the life grows without bound, held at the cap.
        # Held at the inner value where the cap is reached, so inner^(−g) never overflows (float32 would
        # reach inf there, and 0·inf in the gradient of a capped or unselected branch is NaN).
        here = 0.1 * jnp.maximum(inner, 0.999 * (AISO_CAP / 0.1) ** (-1.0 / g)) ** (-g)  # just past the cap
        value = here if value is None else jnp.where(kappa < upper, here, value)
    return jnp.minimum(value, AISO_CAP)


def viscosity(T_celsius, nu40, nu100):
    """Kinematic viscosity at T, mm²/s, through the two reference points (ASTM D341)."""
    t40, t100 = math.log10(40.0 + 273.15), math.log10(100.0 + 273.15)  # Python floats: keep T's dtype
    z40, z100 = jnp.log10(jnp.log10(nu40 + 0.7)), jnp.log10(jnp.log10(nu100 + 0.7))
    slope = (z100 - z40) / (t100 - t40)
    z = z40 + slope * (jnp.log10(T_celsius + 273.15) - t40)
    return 10.0 ** (10.0**z) - 0.7


def rated_viscosity(speed_rpm, mean_diameter_mm):
    """ν₁, mm²/s: the viscosity that just separates the surfaces at this speed and size."""
    slow = 45000.0 * speed_rpm**-0.83 * mean_diameter_mm**-0.5
    fast = 4500.0 * speed_rpm**-0.5 * mean_diameter_mm**-0.5
    return jnp.where(speed_rpm < 1000.0, slow, fast)


def modified_life_hours(
    dynamic_load_rating,
    equivalent_load,
    speed_rpm,
    fatigue_load_limit,
    contamination,
    T_celsius,
    nu40,
    nu100,
    mean_diameter_mm,
    reliability_percent=90.0,
    kind: str = BALL,
):
    """Lnmh = a1·aISO·L10h at the lubricant temperature T (°C)."""
    kappa = viscosity(T_celsius, nu40, nu100) / rated_viscosity(speed_rpm, mean_diameter_mm)
    a_iso = life_modification_factor(kappa, contamination * fatigue_load_limit / equivalent_load, kind)
    basic = basic_life_hours(dynamic_load_rating, equivalent_load, speed_rpm, kind)
    return reliability_factor(reliability_percent) * a_iso * basic


@pytree_dataclass
class Rollers:
    """The roller bearings of belt segments (g,): each roller turns on two bearings and carries its share
    of the belt and its load; see twin.scene.schema.Bearings for the meaning of each value."""

    dynamic_load_rating: Float[Array, " g"]  # C, N
    fatigue_load_limit: Float[Array, " g"]  # Cu, N
    mean_diameter: Float[Array, " g"]  # dm, mm
    roller_diameter: Float[Array, " g"]  # m
    rollers: Float[Array, " g"]  # carrying rollers on the segment
    contamination: Float[Array, " g"]  # eC
    nu40: Float[Array, " g"]  # mm²/s, the base oil at 40 °C
    nu100: Float[Array, " g"]  # mm²/s, at 100 °C
    temperature_rise: Float[Array, " g"]  # K, bearing above the air
    reliability: Float[Array, " g"]  # %
    used_before: Float[Array, " g"]  # fraction of the life used before the run
    wear_per_life: Float[Array, " g"]  # drag factor added per life used
    kinds: tuple[str, ...] = dataclasses.field(default=(), metadata={"static": True})  # BALL or ROLLER each


SLOWEST_RPM = 1e-3  # below this a roller is taken as standing: its life use vanishes with the speed


def bearing_load(rollers: Rollers, carried_mass, gravity):
    """P, N: the radial load on each bearing, the weight of belt and load over two bearings a roller."""
    return carried_mass * gravity / (2.0 * rollers.rollers)


def life_use_rate(rollers: Rollers, belt_speed, carried_mass, T_air, gravity):
    """1/h: the fraction of each segment's bearing life (Lnmh) used per hour of running at `belt_speed`
    (m/s) carrying `carried_mass` (kg, belt and parts) in air at T_air (°C); 0 at standstill."""
    if not rollers.kinds:  # no segments
        return jnp.zeros_like(belt_speed)
    rpm = 60.0 * jnp.abs(belt_speed) / (jnp.pi * rollers.roller_diameter)
    turning = rpm > SLOWEST_RPM
    rpm_safe = jnp.where(turning, rpm, 1.0)
    load = jnp.maximum(bearing_load(rollers, carried_mass, gravity), 1e-6 * rollers.dynamic_load_rating)
    T = T_air + rollers.temperature_rise
    kappa = viscosity(T, rollers.nu40, rollers.nu100) / rated_viscosity(rpm_safe, rollers.mean_diameter)
    ratio = rollers.contamination * rollers.fatigue_load_limit / load
    per_kind = {}
    for kind in set(rollers.kinds):
        life = basic_life_hours(rollers.dynamic_load_rating, load, rpm_safe, kind)
        per_kind[kind] = life * life_modification_factor(kappa, ratio, kind)
    life = per_kind.get(BALL, per_kind.get(ROLLER))
    if len(per_kind) == 2:
        life = jnp.where(jnp.asarray([k == BALL for k in rollers.kinds]), per_kind[BALL], per_kind[ROLLER])
    life = reliability_factor(rollers.reliability) * life
    return jnp.where(turning, 1.0 / life, 0.0)
