"""Joint reducer life by the makers' rating methods, from a sampled torque and speed profile of one cycle.

A profile is samples i of torque Tᵢ (N·m, at the output), speed nᵢ (any unit, the rating's: the mean
speed enters as a ratio to the rated one) and duration tᵢ (s); pauses are samples of zero speed and
count in the time base, so the life is in hours of the clock at this duty.

- **strain-wave** (Harmonic Drive catalogues, "Life of the wave generator"):
  Tav = (Σ|nᵢ|·|Tᵢ|³·tᵢ / Σ|nᵢ|·tᵢ)^(1/3), nav = Σ|nᵢ|·tᵢ / Σtᵢ, L = Ln·(Tr/Tav)³·(nr/nav), with Ln the
  rated life at rated torque Tr and rated input speed nr (L10 = 7000 h for most series; a rating given
  as an L50 is turned into L10 = L50/5, the catalogues' relation).
- **cycloidal** (Nabtesco RV catalogues, "Service life"): Tm = (Σtᵢ·|Nᵢ|·|Tᵢ|^(10/3) / Σtᵢ·|Nᵢ|)^(3/10),
  Nm = Σtᵢ·|Nᵢ| / Σtᵢ, L = K·(N0/Nm)·(T0/Tm)^(10/3), K the rated life (6000 h) at rated torque T0 and
  rated output speed N0. Nabtesco's Nm runs over the moving phases and gives operating hours; over the
  whole cycle it gives the same life in clock hours.

Both are smooth in the torques and speeds (|x|³ and |x|^(10/3) are C²), so the life has gradients in
everything that shapes the profile. The limits a catalogue rates — average torque, the repeated peak
torque of starts and stops, the momentary peak, the maximum input speed — are returned as margins
(limit / actual − 1: negative when exceeded).

Temperature: the rated lives hold up to a reference lubricant temperature; above it the grease ages
faster. `temperature_factor` halves the life for every `halving_K` kelvin above the reference — the
Arrhenius-type rule of lubricant life (SKF's relubrication rule halves per 15 K; oxidation rules of
thumb per 10 K); the parameters are the scene's to set.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from jaxtyping import Array, Float

from twin.kernels.pytree import pytree_dataclass

STRAIN_WAVE_EXPONENT = 3.0
CYCLOIDAL_EXPONENT = 10.0 / 3.0
L50_PER_L10 = 5.0  # strain-wave catalogues: L50 = 5·L10
LIFE_HORIZON_H = 1e12  # h: a life beyond it is infinite (a barely loaded joint): float32 gradients stay finite


@pytree_dataclass
class Rating:
    """What a reducer's catalogue rates (speeds in the unit its profile uses, e.g. r/min)."""

    rated_torque: Float[Array, ""]  # N·m: Tr (strain-wave) or T0 (cycloidal)
    rated_speed: Float[Array, ""]  # nr (strain-wave, input) or N0 (cycloidal, output)
    rated_life_h: Float[Array, ""]  # Ln or K, h
    average_torque_limit: Float[Array, ""]  # N·m
    repeated_peak_torque: Float[Array, ""]  # N·m, starts and stops
    momentary_peak_torque: Float[Array, ""]  # N·m, emergency stops, collisions
    max_speed: Float[Array, ""]  # the profile's speed unit
    kind: str = dataclasses.field(default="strain_wave", metadata={"static": True})  # or "cycloidal"
    rated_as_l50: bool = dataclasses.field(default=False, metadata={"static": True})


def equivalent_torque(T, n, t, exponent: float):
    """(Σ|nᵢ|·|Tᵢ|^p·tᵢ / Σ|nᵢ|·tᵢ)^(1/p): the constant torque that wears the reducer as the profile does
    (0 for a reducer that never turns, with finite gradients)."""
    weight = jnp.abs(n) * t
    total = jnp.sum(weight)
    moving = total > 0
    mean = jnp.sum(weight * jnp.abs(T) ** exponent) / jnp.where(moving, total, 1.0)
    return jnp.where(moving, jnp.where(moving, mean, 1.0) ** (1.0 / exponent), 0.0)


def mean_speed(n, t):
    """Σ|nᵢ|·tᵢ / Σtᵢ: the mean speed, pauses in the time base."""
    return jnp.sum(jnp.abs(n) * t) / jnp.sum(t)


def life_hours(rating: Rating, T, n, t):
    """L10 life in clock hours at this duty, and the equivalent torque and mean speed it came from."""
    exponent = STRAIN_WAVE_EXPONENT if rating.kind == "strain_wave" else CYCLOIDAL_EXPONENT
    torque, speed = equivalent_torque(T, n, t, exponent), mean_speed(n, t)
    rated = rating.rated_life_h / (L50_PER_L10 if rating.rated_as_l50 else 1.0)
    wears = (speed > 0) & (torque > 0)  # a reducer that never turns, or turns unloaded, does not wear
    wears = wears & (_life(rated, rating, exponent, torque, speed, wears) < LIFE_HORIZON_H)
    return jnp.where(wears, _life(rated, rating, exponent, torque, speed, wears), jnp.inf), torque, speed


def _life(rated, rating: Rating, exponent: float, torque, speed, wears):
    """The rated life scaled to this torque and speed, evaluated at the rated point where not `wears`:
    the entries left out then have finite partials, so a masked life cannot send ∞ · 0 into a gradient."""
    torque_ = jnp.where(wears, torque, rating.rated_torque)
    speed_ = jnp.where(wears, speed, rating.rated_speed)
    return rated * (rating.rated_torque / torque_) ** exponent * (rating.rated_speed / speed_)


def margins(rating: Rating, T, n, t, accelerating) -> dict[str, Float[Array, ""]]:
    """limit / actual − 1 for each rated limit (negative: exceeded; infinite where the actual value is
    0, with finite gradients). `accelerating` marks the samples of starts and stops, whose peak is held
    to the repeated peak torque; every sample to the momentary."""
    exponent = STRAIN_WAVE_EXPONENT if rating.kind == "strain_wave" else CYCLOIDAL_EXPONENT
    peak_start_stop = jnp.max(jnp.where(accelerating, jnp.abs(T), 0.0))
    return {
        "average_torque": _margin(rating.average_torque_limit, equivalent_torque(T, n, t, exponent)),
        "repeated_peak_torque": _margin(rating.repeated_peak_torque, peak_start_stop),
        "momentary_peak_torque": _margin(rating.momentary_peak_torque, jnp.max(jnp.abs(T))),
        "max_speed": _margin(rating.max_speed, jnp.max(jnp.abs(n))),
    }


def _margin(limit, actual):
    some = actual > 0
    return jnp.where(some, limit / jnp.where(some, actual, 1.0) - 1.0, jnp.inf)


def temperature_factor(surface_T, reference_T, halving_K):
    """Life factor at a lubricant (surface) temperature, °C: 1 up to the reference, halving every
    `halving_K` kelvin above it."""
    return 2.0 ** (-jnp.maximum(surface_T - reference_T, 0.0) / halving_K)
