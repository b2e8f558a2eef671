"""What one pick-and-place cycle costs an arm's joints: torques over the cycle, each reducer's life by its
maker's method (temperature-derated), each member's fatigue damage per cycle, and the remaining life.

Per joint j, from a sampled cycle (twin.kernels.duty_cycle) and the arm (twin.kernels.arm):

- torques τ over the samples by inverse dynamics, the payload carried on the samples `carrying` marks;
- reducer life: its rating method on (τ, motor speed G·|q̇| in r/min, sample durations), times the
  temperature factor at the reducer's surface temperature (twin.kernels.reducer);
- member fatigue: stress σ = Kt·τ/Z at a critical section (section modulus Z, m³; stress-concentration
  factor Kt), rainflow-counted over one period of the repeating cycle, Basquin with the member's
  mean-stress correction, Marin's temperature factor, Miner: damage per cycle, life = cycle / damage;
- a joint's life is the shorter of the two; remaining life = life × (1 − damage so far), with
  `damage_so_far` the fraction of it already used (a scene value, calibrated from history).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from twin.kernels import arm as arm_mod
from twin.kernels import fatigue, reducer
from twin.kernels.duty_cycle import Samples

SECONDS_PER_HOUR = 3600.0
RPM_PER_RAD_S = 60.0 / (2.0 * jnp.pi)


class JointWear(NamedTuple):
    torque: jax.Array  # (samples, joints) N·m
    reducer_life_h: jax.Array  # (joints,) L10, derated for temperature
    equivalent_torque: jax.Array  # (joints,) Tav or Tm, N·m
    damage_per_cycle: jax.Array  # (joints,) Miner's sum of one cycle
    fatigue_life_h: jax.Array  # (joints,)
    life_h: jax.Array  # (joints,) the shorter of the two
    remaining_life_h: jax.Array  # (joints,)


def cycle_torques(arm: arm_mod.Arm, samples: Samples, gravity, payload: arm_mod.Payload, carrying):
    """(samples, joints) torques, the payload held where `carrying` (samples,) is True."""

    def one(q, qd, qdd, held):
        share = held.astype(q.dtype)
        carried = arm_mod.Payload(payload.mass * share, payload.com, payload.inertia * share)
        return arm_mod.inverse_dynamics(arm, q, qd, qdd, gravity, carried)

    return jax.vmap(one)(samples.q, samples.qd, samples.qdd, carrying)


def one_period(stress):
    """One period of a repeating history (n,) as counted: from its largest value round to it again
    (n + 1,), so that every loop closes (ASTM E1049-85's advice for repeated blocks)."""
    n = stress.shape[0]
    start = jnp.argmax(jax.lax.stop_gradient(stress))
    return stress[(jnp.arange(n + 1, dtype=jnp.int32) + start.astype(jnp.int32)) % n]


def damage_per_period(material: fatigue.Material, stress, strength_factor=1.0):
    """Miner's damage of one period of a repeating history (`one_period`); differentiable in the
    stresses as `fatigue.damage`."""
    return fatigue.damage(material, one_period(stress), strength_factor)


def member_damage(materials: tuple[fatigue.Material, ...], stress):
    """(joints,) damage per period of each member's stress history (samples, joints): every joint's
    period counted in one `vmap`ped call (one counting loop to compile, not one per joint), then each
    member's S-N curve and mean-stress correction."""
    periods = jax.vmap(one_period, in_axes=1)(stress)  # (joints, samples + 1)
    cycles = jax.vmap(fatigue.rainflow)(periods)
    return jnp.stack(
        [fatigue.counted_damage(m, periods[j], tuple(c[j] for c in cycles)) for j, m in enumerate(materials)]
    )


class ReferenceWear(NamedTuple):
    """A cycle's wear per joint before temperature: the reducer life at (or below) its reference
    temperature and the members' damage at room-temperature strength (Marin factor 1)."""

    reducer_life_h: jax.Array  # (joints,) L10 at the reference temperature
    equivalent_torque: jax.Array  # (joints,) Tav or Tm, N·m
    mean_speed: jax.Array  # (joints,) r/min on the rated side
    damage_per_cycle: jax.Array  # (joints,) Miner's sum of one cycle, strength factor 1
    margins: jax.Array  # (len(MARGINS), joints) limit / actual − 1 (negative: exceeded)


MARGINS = ("average_torque", "repeated_peak_torque", "momentary_peak_torque", "max_speed")


def reference_wear(
    arm: arm_mod.Arm,
    ratings: tuple[reducer.Rating, ...],
    materials: tuple[fatigue.Material, ...],
    section_modulus,
    stress_concentration,
    samples: Samples,
    torque,
) -> ReferenceWear:
    """Reducer lives, margins and fatigue damage per cycle of every joint, temperature aside."""
    motor_speed = arm.gear_ratio[None, :] * samples.qd * RPM_PER_RAD_S  # input side, r/min
    lives, torques, speeds, margins = [], [], [], []
    for j, rating in enumerate(ratings):
        # a cycloidal rating is of output speed: the joint's, not the motor's
        n = motor_speed[:, j] if rating.kind == "strain_wave" else samples.qd[:, j] * RPM_PER_RAD_S
        life, equivalent, mean = reducer.life_hours(rating, torque[:, j], n, samples.duration)
        limits = reducer.margins(rating, torque[:, j], n, samples.duration, samples.accelerating)
        lives.append(life)
        torques.append(equivalent)
        speeds.append(mean)
        margins.append(jnp.stack([limits[m] for m in MARGINS]))
    damages = member_damage(materials, stress_concentration[None, :] * torque / section_modulus[None, :])
    return ReferenceWear(jnp.stack(lives), jnp.stack(torques), jnp.stack(speeds), damages, jnp.stack(margins, axis=1))


def at_temperature(
    ref: ReferenceWear, fatigue_exponent, cycle_time, reducer_T, member_T, reference_T, halving_K, damage_so_far
):
    """(reducer life h, damage per cycle, fatigue life h, life h, remaining life h) per joint at these
    temperatures, °C: the reducer's rated life derated above its reference temperature, the members'
    damage scaled by Marin's factor k_d as Basquin's law has it (1/N ∝ k^(1/b))."""
    reducer_life = scaled_life(ref.reducer_life_h, reducer.temperature_factor(reducer_T, reference_T, halving_K))
    damage = ref.damage_per_cycle * fatigue.temperature_factor(member_T) ** (1.0 / fatigue_exponent)
    # a member never in tension, or one whose life passes the horizon, wears nothing: an infinite life,
    # and no 1/damage² to overflow into the gradient (float32 overflows it from damage ≈ 1e-18)
    hurt = damage * (reducer.LIFE_HORIZON_H * SECONDS_PER_HOUR) > cycle_time
    fatigue_life = jnp.where(hurt, cycle_time / jnp.where(hurt, damage, 1.0) / SECONDS_PER_HOUR, jnp.inf)
    life = jnp.minimum(reducer_life, fatigue_life)
    return reducer_life, damage, fatigue_life, life, scaled_life(life, 1.0 - damage_so_far)


def scaled_life(life, factor):
    """life × factor, an infinite life (a joint that never turns) staying infinite — with finite
    gradients: inf × factor would send ∞ · 0 = NaN into every gradient through the factor."""
    finite = jnp.isfinite(life)
    return jnp.where(finite, jnp.where(finite, life, 0.0) * factor, jnp.inf)


def joint_wear(
    arm: arm_mod.Arm,
    ratings: tuple[reducer.Rating, ...],
    materials: tuple[fatigue.Material, ...],
    section_modulus,
    stress_concentration,
    samples: Samples,
    torque,
    cycle_time,
    reducer_T,
    member_T,
    reference_T,
    halving_K,
    damage_so_far,
) -> JointWear:
    """Life and damage of every joint for a cycle; temperatures in °C (reducer surface, member)."""
    ref = reference_wear(arm, ratings, materials, section_modulus, stress_concentration, samples, torque)
    exponent = jnp.stack([m.fatigue_exponent for m in materials])
    reducer_life, damage, fatigue_life, life, remaining = at_temperature(
        ref, exponent, cycle_time, reducer_T, member_T, reference_T, halving_K, damage_so_far
    )
    return JointWear(
        torque=torque,
        reducer_life_h=reducer_life,
        equivalent_torque=ref.equivalent_torque,
        damage_per_cycle=damage,
        fatigue_life_h=fatigue_life,
        life_h=life,
        remaining_life_h=remaining,
    )
