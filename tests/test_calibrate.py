"""Calibration (twin.calibrate.fit) on the small line: telemetry recorded from known "true" values with
noise, dropouts and deadband compression; the fit from the scene's values recovers them within their
reported σ; over many noise seeds the σ are honest; the optimiser's gradient is the loss's; a pair the
sensors cannot separate is named; a fit given its own evaluations back ends where it ended; bad
parameter specs are refused at their key."""

from __future__ import annotations

import copy
import functools

import numpy as np
import pytest
from fixtures import small_line

import twin
from twin.calibrate.fit import Noise, Parameter, Problem, calibrate
from twin.errors import TwinInputError
from twin.telemetry.record import Recording, SensorRecording, record

TRUTH = {"heaters.h1.efficiency": 0.8, "conveyors.belt.parts.c_p": 1100.0}  # the scene says 0.9 and 900
PARAMETERS = [Parameter("heaters.h1.efficiency", 0.3, 1.0), Parameter("conveyors.belt.parts.c_p", 300.0, 3000.0)]
DURATION = 900.0
# Each sensor's noise σ, in its unit: constant per sensor, as the fit's estimated-σ model has it (about
# 1 % of each reading's typical value).
NOISE = {"tc": 0.4, "tc2": 0.2, "w": 0.02, "p1": 0.3, "p2": 0.3, "c1": 0.8}


def _scene(values: dict | None = None) -> dict:
    """small_line with lighter parts (τ = m·c_p/(h·A) ≈ 100 s, of the order of their ride to the robots)
    and pyrometers at both picks sampling each second: with 1 % noise, c_p's σ ≈ 1.1 % (measured, seeds
    0–2; 2.6 % with the 1.5 kg parts and one pyrometer every 5 s)."""
    scene = small_line()
    scene["conveyors"]["belt"]["parts"]["mass"] = 0.5
    scene["sensors"]["p1"]["period"] = 1.0
    scene["sensors"] |= {
        "tc2": {"kind": "air_temperature", "position": [6.0, 2.0], "period": 3.0},
        "p2": {"kind": "part_temperature", "target": "r2", "period": 1.0},
    }
    for path, value in (values or {}).items():
        node = scene
        *parents, last = path.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return scene


@functools.cache
def _true_run() -> twin.Result:
    return twin.simulate(twin.scene_from_mapping(_scene(TRUTH)), DURATION, precision="float64", snapshot_every=DURATION)


def _recorded(seed: int):
    own = {name: SensorRecording(noise_sd=sd) for name, sd in NOISE.items()}
    recording = Recording(start="2026-03-02T06:00:00Z", noise=0.0, seed=seed, dropouts=0.02, deadband=1.0, sensors=own)
    return record(_true_run(), recording)


def _fit(seed: int, **options):
    return calibrate(_scene(), _recorded(seed), copy.deepcopy(PARAMETERS), **options)


@functools.cache
def _first_fit():
    return _fit(seed=0)


# Each estimated noise σ against the actual error of the stored samples (recorded − the true run): the
# fit's residuals miss it by the parameters' share of them (k of m samples), measured ≤ 1 %; 3× that.
NOISE_RTOL = 0.03


def test_recovers_the_true_values_within_their_sigma():
    fit = _first_fit()
    assert fit.converged, fit.message
    for name, estimate, sd in zip(fit.names, fit.estimate, fit.sd):
        truth = TRUTH[name]
        assert abs(estimate - truth) <= 0.03 * truth, name
        assert abs(estimate - truth) <= 3.0 * sd, name
        assert 0 < sd < 0.05 * truth, name
    assert fit.unidentifiable == () and abs(fit.correlation[0, 1]) < 0.9
    truth = Problem(_scene(), _recorded(seed=0), PARAMETERS, {}, twin.Solver(), "float64", None, "").predict(
        [TRUTH[p.path] for p in PARAMETERS]
    )
    obs = fit.observations
    for name, sd in NOISE.items():  # estimated from the residuals (°C, W, fraction: the twin's units)
        scale = {"w": 1e3, "c1": 0.01}.get(name, 1.0)
        actual = np.sqrt(np.mean((obs.value - truth)[obs.of(name)] ** 2))
        assert fit.noise_sd[name] == pytest.approx(actual, rel=NOISE_RTOL), name
        # The stored samples' error is above the generator's σ where the deadband (1 σ) selects excursions:
        # measured 1.23 σ (p1), 1.27 σ (p2), within 3 % of σ elsewhere.
        assert 0.9 * sd * scale < actual < 1.4 * sd * scale, name
    losses = [e.loss for e in fit.history]
    assert min(losses) == pytest.approx(fit.loss) and losses[0] > fit.loss
    band = fit.prediction_sd[fit.observations.of("p1")]
    assert np.all(band > 0) and np.median(band) < 0.1 * NOISE["p1"]  # the twin's σ, well below the sensor's


def test_a_fit_given_its_evaluations_back_ends_where_it_ended():
    """What resuming an interrupted calibration rests on: the first evaluations replayed, not computed."""
    fit = _first_fit()
    half = fit.history[: len(fit.history) // 2]
    computed = []
    again = _fit(seed=0, replay=half, on_evaluation=computed.append)
    assert len(again.history) == len(fit.history) and all(a is b for a, b in zip(again.history, half))
    np.testing.assert_array_equal(again.estimate, fit.estimate)
    np.testing.assert_array_equal(again.sd, fit.sd)


# The optimiser's gradient against float64 central differences of the loss (step 1e-5 in the scale):
# measured relative error 4.0e-10 (efficiency), 6.1e-10 (c_p); tolerance 30× that (the bound: 1e-5).
GRADIENT_RTOL = 2e-8


def test_the_optimisers_gradient_is_the_losss():
    problem = Problem(_scene(), _recorded(seed=0), PARAMETERS, {}, twin.Solver(), "float64", None, "telemetry")
    z = problem.start() + np.array([0.05, -0.1])
    grad = problem.loss_and_grad(z).gradient
    h = 1e-5
    for i in range(len(z)):
        e = np.zeros_like(z)
        e[i] = h
        difference = (problem.loss(z + e) - problem.loss(z - e)) / (2 * h)
        assert grad[i] == pytest.approx(difference, rel=GRADIENT_RTOL), PARAMETERS[i].path


def test_a_pair_the_sensors_cannot_separate_is_named():
    """Air temperatures alone see the heater's delivered heat, efficiency × power, never either one."""
    scene = _scene()
    scene["sensors"] = {"tc": scene["sensors"]["tc"], "tc2": scene["sensors"]["tc2"]}
    telemetry = record(
        twin.simulate(twin.scene_from_mapping(scene), 300.0, precision="float64", snapshot_every=300.0),
        Recording(start="2026-03-02T06:00:00Z", seed=4),
    )
    pair = [Parameter("heaters.h1.efficiency", 0.3, 1.0, start=0.7), Parameter("heaters.h1.power", 1e3, 1e4)]
    noise = {"tc": Noise(sd=0.2), "tc2": Noise(sd=0.2)}
    fit = calibrate(scene, telemetry, pair, noise=noise, max_iterations=20)
    assert fit.unidentifiable == ("heaters.h1.efficiency", "heaters.h1.power")


@pytest.mark.slow
def test_reported_sigma_are_honest_over_noise_seeds():
    z = np.asarray([(f.estimate - [TRUTH[n] for n in f.names]) / f.sd for f in map(_fit, range(1, 21))])
    spread = np.std(z, axis=0)
    assert np.all((spread > 0.7) & (spread < 1.4)), spread


@pytest.mark.parametrize(
    "parameter, where, phrase",
    [
        (Parameter("heaters.h1.efficiency", 1.0, 0.5), "parameters[0].lower", "must be below upper"),
        (Parameter("heaters.h1.efficiency", -1.0, 1.0), "parameters[0].lower", "log-scaled parameter needs lower > 0"),
        (Parameter("heaters.h1.efficiency", 0.3, 1.0, scale="cubic"), "parameters[0].scale", "expected log or lin"),
        (Parameter("heaters.h1.efficiency", 0.3, 1.0, start=2.0), "parameters[0].start", "must lie within"),
        (Parameter("heaters.h1.efficiency", 0.3, 1.0, prior_mean=0.9), "parameters[0].prior_sd", "needs both"),
        (Parameter("heaters.h9.efficiency", 0.3, 1.0), "scene.heaters.h9.efficiency", "no such key"),
    ],
)
def test_bad_parameters_are_refused_at_their_key(parameter, where, phrase):
    telemetry = record(_true_run(), Recording(start="2026-03-02T06:00:00Z"))
    with pytest.raises(TwinInputError) as err:
        calibrate(_scene(), telemetry, [parameter])
    assert err.value.where == where and phrase in str(err.value)


# The profile's 95 % ends against the Laplace interval's, as a fraction of its half-width: measured
# 0.7 % (lower) and 0.14 % (upper) for c_p, seed 0; the loss is near-quadratic here: 4× the larger.
PROFILE_AGREEMENT = 0.03


def test_the_profile_likelihood_bounds_agree_with_laplace_where_the_loss_is_quadratic():
    fit = _first_fit()
    path = "conveyors.belt.parts.c_p"
    again = _fit(seed=0, replay=fit.history, profile=[path])  # the fit replayed; only the profile computed
    np.testing.assert_array_equal(again.estimate, fit.estimate)
    profile = again.profiles[path]
    i = fit.names.index(path)
    assert np.all(np.diff(profile.values) > 0) and fit.estimate[i] in profile.values
    assert profile.loss.min() == pytest.approx(fit.loss, abs=1e-9) and np.all(profile.loss >= fit.loss - 1e-9)
    z_sd = np.sqrt(fit.covariance[i, i])
    laplace = fit.estimate[i] * np.exp(np.array([-1.0, 1.0]) * 1.959963984540054 * z_sd)
    half = (laplace[1] - laplace[0]) / 2
    for got, want in zip(profile.interval_95, laplace):
        assert got == pytest.approx(want, abs=PROFILE_AGREEMENT * half), (profile.interval_95, laplace)
    with pytest.raises(TwinInputError, match="profile: 'c_p' — not a parameter of this fit"):
        _fit(seed=0, replay=fit.history, profile=["c_p"])
