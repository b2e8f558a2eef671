"""Fit scene values to recorded telemetry by gradients through the whole run, with their uncertainty.

    fit = twin.calibrate.fit.calibrate(scene_mapping, telemetry, [Parameter("heaters.oven_1.efficiency",
                                        0.5, 1.0)], noise={"oven_tc_mid": Noise(sd=0.2)})

The loss is the negative log-likelihood of the recorded samples (`twin.telemetry.observations`). For a
sensor whose noise σ is given (in its unit) each sample counts with sᵢ² = σ² + deadbandᵢ²/3 — a sample
the historian stored is the signal within ± its deadband, a uniform error of variance deadband²/3 on top
of the noise: Gaussian ½ Σ (rᵢ/sᵢ)², or Huber Σ ρ(rᵢ/sᵢ) (quadratic within `HUBER_K`, linear beyond:
outliers pull less). For a sensor whose σ is estimated, σ is profiled out: (m/2)·ln(Σ rᵢ²/m + σ₀²)
over its m samples, which scales every σ by the residuals (Gaussian only); the floor σ₀ =
`ESTIMATED_FLOOR` × the spread of its recorded values keeps a series recorded exactly (a count of
parts) from sending the loss to −∞. Priors add
½((z − z(prior_mean))/prior_sd)² in the optimiser's scale z (a log-scaled prior_sd is relative). Each
parameter is optimised in its scale (`log`: its logarithm, for positive quantities; `lin`) within its
bounds by scipy's L-BFGS-B, on the loss's gradient by reverse mode through the checkpointed run
(`twin.value_and_grad`, compiled once).

Uncertainty: the Laplace approximation at the optimum, covariance = H⁻¹ of the loss in the optimiser's
scale, H by central differences of the gradient; standard deviations and correlations are reported in
the parameters' own units (σ of a log-scaled value: value × σ of its logarithm). Parameters whose
effects these sensors cannot separate (|correlation| > 0.99, or an eigenvalue of H below 1e-10 of the
largest) are named. The twin's prediction at every sample gets a band: its σ = √(J C Jᵀ), J by central
differences of plain runs.

Profile likelihood (`profile`: parameter names): the parameter held at values around its estimate,
z* ± (1, 2, 3, 4) σ_z in its scale, the others re-fitted from the neighbouring point's optimum; its 95 %
interval is where the profile rises `PROFILE_RISE` = χ²₁(0.95)/2 above the optimum (interpolated; an
end not reached within ±4 σ is unbounded, None) — unlike the Laplace interval it follows a curved loss.

Every evaluation (z, loss, gradient) goes to `on_evaluation`; given back as `replay`, the same
evaluations are taken from it rather than computed, so an interrupted fit resumes and ends exactly
where an uninterrupted one would (L-BFGS-B is deterministic).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from twin import gradient, time_loop, units
from twin.build import build, initial_state
from twin.calibrate.unknowns import Unknown, locate, with_values
from twin.errors import TwinInputError
from twin.model import Params
from twin.precision import set_precision
from twin.scene.convert import scene_from_mapping
from twin.scene.schema import key, number
from twin.step import Solver
from twin.telemetry.files import Telemetry
from twin.telemetry.observations import Observations, observe
from twin.time_step import steps_for, time_step

CORRELATED = 0.99
PROFILE_RISE = 1.920729410347062  # χ²₁(0.95)/2: the loss's rise at a 95 % profile-likelihood bound
PROFILE_STEPS = (1.0, 2.0, 3.0, 4.0)  # σ_z out from the estimate, each side
FLAT = 1e-10  # an eigenvalue of H this small against the largest: a direction the data do not see
HESSIAN_STEP = 1e-4  # in the optimiser's scale
BAND_STEP = 1e-4  # relative, of each value, for the prediction's sensitivities
HUBER_K = 1.345  # in units of sᵢ: 95 % efficiency at Gaussian noise
ESTIMATED_FLOOR = 1e-3  # an estimated σ's floor, relative to the spread of the sensor's recorded values
MODELS = ("gaussian", "huber")
BOUND_RTOL = 1e-6  # an estimate this close to a bound (relative) is on it


@dataclass(frozen=True)
class Parameter:
    """One unknown: a scene key path, bounds and scale; optional start and Gaussian prior (its scale)."""

    path: str = key("scene key path of the value (heaters.oven_1.efficiency)")
    lower: float = number("lower bound", "(the value's unit)")
    upper: float = number("upper bound", "(the value's unit)")
    scale: Literal["log", "lin"] = key("scale the optimiser works in (log: positive values)", default="log")
    start: float | None = number("value the fit starts from; null: the scene's", "(the value's unit)", default=None)
    prior_mean: float | None = number("mean of a Gaussian prior", "(the value's unit)", default=None)
    prior_sd: float | None = number("σ of the prior in the optimiser's scale (log: relative)", gt=0, default=None)
    name: str | None = key("how reports call it; null: the path", default=None)

    @property
    def label(self) -> str:
        return self.name or self.path


@dataclass(frozen=True)
class Noise:
    """A sensor's noise model: σ in the file's unit (None: estimated from the residuals), and the loss."""

    sd: float | None = number("noise σ; null: estimated from the residuals", "(the sensor's unit)", gt=0, default=None)
    model: Literal["gaussian", "huber"] = key("loss of a residual", default="gaussian")


@dataclass(frozen=True)
class Evaluation:
    z: np.ndarray  # in the optimiser's scale
    loss: float
    gradient: np.ndarray


@dataclass(frozen=True)
class Profile:
    """The loss with one parameter held at each value and the others re-fitted."""

    values: np.ndarray  # (n,) in the parameter's unit, ascending, the estimate among them
    loss: np.ndarray  # (n,)
    interval_95: tuple[float | None, float | None]  # where the loss rises PROFILE_RISE; None: not within


@dataclass(frozen=True)
class Fit:
    names: tuple[str, ...]
    estimate: np.ndarray  # (k,) in each parameter's unit
    sd: np.ndarray  # (k,)
    correlation: np.ndarray  # (k, k)
    hessian: np.ndarray  # (k, k) of the loss in the optimiser's scale
    covariance: np.ndarray  # (k, k) H⁻¹, the optimiser's scale
    loss: float
    history: tuple[Evaluation, ...]  # every evaluation, in order (the optimiser's, then the Hessian's)
    iterations: tuple[int, ...]  # the evaluation number that ends each iteration
    converged: bool
    message: str
    unidentifiable: tuple[str, ...]
    at_bound: tuple[str, ...]  # estimates on a bound: the data push past it, and σ describes the bound
    noise_sd: dict[str, float]  # per sensor, in the twin's unit: given or estimated from the residuals
    observations: Observations
    prediction: np.ndarray  # (m,) the twin at every sample, at the estimate (twin's unit)
    prediction_sd: np.ndarray  # (m,) its σ from the parameters' covariance
    profiles: dict[str, Profile] = dataclasses.field(default_factory=dict)  # by name, those asked for


class Problem:
    """The fit's pieces, built once: unknowns in Params, the plan, the samples, the loss."""

    def __init__(self, scene, telemetry, parameters, noise, solver, precision, duration, where, spec=""):
        self.dtype = set_precision(precision)
        check_parameters(parameters, spec)
        self.parameters = tuple(parameters)
        self.unknowns = tuple(locate(scene, p.path) for p in parameters)
        self.layout, self.base, _ = build(scene_from_mapping(scene), self.dtype)
        self.end = duration or max(float(s.t[-1]) for s in telemetry.sensors.values())
        self.dt, self.steps = steps_for(self.end, time_step(self.layout, self.base, solver))
        self.solver = solver
        self.obs = observe(self.layout, telemetry, self.dt, self.steps, where)
        self.sd, self.huber = _noise(self.obs, telemetry, noise, where, spec)
        self.floor = {name: _floor(self.obs.value[self.obs.of(name)]) for name in self.obs.names}
        self.objective = _objective(self.obs, self.sd, self.huber, self.floor)
        self.wrt = _leaf_paths(self.base, self.unknowns)

    def params(self, values) -> Params:
        return with_values(self.base, self.unknowns, jnp.asarray(values, self.dtype))

    def loss_and_grad(self, z: np.ndarray) -> Evaluation:
        """The loss (with priors) and its gradient in the optimiser's scale at z."""
        values = _from_scale(self.parameters, z)
        value, grad, _ = gradient.value_and_grad(
            self.objective, self.layout, self.params(values), self.solver, duration=self.end, wrt=self.wrt
        )
        g = _chain(grad, self.unknowns) * _d_value_d_z(self.parameters, z)
        prior, prior_grad = _prior(self.parameters, z)
        return Evaluation(np.array(z, float), float(value) + prior, g + prior_grad)

    def loss(self, z: np.ndarray) -> float:
        """The loss alone (a forward run): for checks by differences."""
        values = _from_scale(self.parameters, z)
        value, _ = gradient.evaluate(self.objective, self.layout, self.params(values), self.solver, duration=self.end)
        return float(value) + _prior(self.parameters, z)[0]

    def predict(self, values) -> np.ndarray:
        """(m,) the twin at every sample for these parameter values (a plain run on the fit's plan)."""
        params = self.params(values)
        solver = dataclasses.replace(self.solver, dt=self.dt)
        _, readings = time_loop.rollout(self.layout, params, initial_state(self.layout, params), solver, self.steps)
        return np.asarray(self.obs.predict(readings), float)

    def start(self) -> np.ndarray:
        nominal = [p.start if p.start is not None else u.nominal for p, u in zip(self.parameters, self.unknowns)]
        return _to_scale(self.parameters, nominal)

    def bounds(self) -> list[tuple[float, float]]:
        lower = _to_scale(self.parameters, [p.lower for p in self.parameters])
        return list(zip(lower, _to_scale(self.parameters, [p.upper for p in self.parameters])))


def calibrate(
    scene: Mapping,
    telemetry: Telemetry,
    parameters: Sequence[Parameter],
    *,
    noise: Mapping[str, Noise] | None = None,
    solver: Solver = Solver(),
    precision: str = "float64",
    duration: float | None = None,
    where: str = "telemetry",
    spec: str = "",
    max_iterations: int = 100,
    profile: Sequence[str] = (),
    replay: Sequence[Evaluation] = (),
    on_evaluation: Callable[[Evaluation], None] | None = None,
    on_iteration: Callable[[int, Evaluation], None] | None = None,
) -> Fit:
    """Fit `parameters` of `scene` (a plain mapping, as in the YAML) to `telemetry` (read from `where`);
    errors in the parameters or noise models name their key below `spec` (`calibrate.`)."""
    problem = Problem(scene, telemetry, parameters, noise or {}, solver, precision, duration, where, spec)
    history: list[Evaluation] = []
    iterations: list[int] = []

    def evaluate(z) -> Evaluation:
        n = len(history)
        if n < len(replay) and np.array_equal(replay[n].z, z):
            e = replay[n]
        else:
            e = problem.loss_and_grad(z)
        history.append(e)
        if on_evaluation is not None:
            on_evaluation(e)
        return e

    def iteration_done(_):
        iterations.append(len(history))
        if on_iteration is not None:
            on_iteration(len(iterations), min(history, key=lambda e: e.loss))

    def fun(z):
        e = evaluate(z)
        return e.loss, e.gradient

    def minimize(start, bounds, callback=None):
        return scipy.optimize.minimize(
            fun,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            callback=callback,
            options={"maxiter": max_iterations},
        )

    _check_profile(profile, problem.parameters, spec)
    result = minimize(problem.start(), problem.bounds(), iteration_done)
    fit = _summary(problem, result, evaluate, history, iterations)
    profiles = {name: _profile(problem, fit, result, name, minimize) for name in profile}
    return dataclasses.replace(fit, history=tuple(history), profiles=profiles)


def _profile(problem: Problem, fit: Fit, result, name: str, minimize) -> Profile:
    """The loss along one parameter, the others re-fitted (see the module docstring)."""
    i = fit.names.index(name)
    bounds = problem.bounds()
    z_sd = math.sqrt(max(float(fit.covariance[i, i]), 0.0)) or HESSIAN_STEP
    points = {0.0: (float(result.fun), result.x)}
    for side in (-1.0, 1.0):
        start = result.x
        for k in PROFILE_STEPS:
            held = float(np.clip(result.x[i] + side * k * z_sd, *bounds[i]))
            start = start.copy()
            start[i] = held
            fixed = list(bounds)
            fixed[i] = (held, held)
            out = minimize(start, fixed)
            points[side * k] = (float(out.fun), out.x)
            start = out.x
            if out.fun - result.fun > 2 * PROFILE_RISE or held in bounds[i]:
                break
    order = sorted(points)
    z = np.asarray([points[k][1][i] for k in order])
    loss = np.asarray([points[k][0] for k in order])
    values = _from_scale([problem.parameters[i]] * len(z), z)
    centre = order.index(0.0)
    return Profile(values, loss, (_crossing(values, loss, centre, -1), _crossing(values, loss, centre, 1)))


def _crossing(values, loss, centre: int, step: int) -> float | None:
    """The value where the profile first rises PROFILE_RISE above its centre, going `step` from it."""
    level = loss[centre] + PROFILE_RISE
    j = centre
    while 0 <= j + step < len(loss):
        a, b = j, j + step
        if loss[b] >= level:
            w = (level - loss[a]) / (loss[b] - loss[a])
            return float(values[a] + w * (values[b] - values[a]))
        j = b
    return None


def _check_profile(profile: Sequence[str], parameters, spec: str) -> None:
    names = [p.label for p in parameters]
    for name in profile:
        if name not in names:
            raise TwinInputError(f"{spec}profile", name, "not a parameter of this fit: " + ", ".join(names))


def _summary(problem: Problem, result, evaluate, history, iterations) -> Fit:
    z, k = result.x, len(problem.parameters)
    hessian = _hessian(evaluate, z, k)
    covariance = np.linalg.pinv(hessian)
    sd_z = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = covariance / np.outer(sd_z, sd_z)
    names = tuple(p.label for p in problem.parameters)
    estimate = _from_scale(problem.parameters, z)
    prediction = problem.predict(estimate)
    sensitivity = _sensitivity(problem, estimate, prediction)  # (m, k) per unit of z
    band = np.sqrt(np.maximum(np.einsum("mi,ij,mj->m", sensitivity, covariance, sensitivity), 0.0))
    residual = prediction - problem.obs.value
    noise_sd = {
        name: float(problem.sd[problem.obs.of(name)][0])
        if np.isfinite(problem.sd[problem.obs.of(name)][0])
        else float(np.sqrt(np.mean(residual[problem.obs.of(name)] ** 2) + problem.floor[name] ** 2))
        for name in problem.obs.names
    }
    return Fit(
        names=names,
        estimate=estimate,
        sd=sd_z * _d_value_d_z(problem.parameters, z),
        correlation=correlation,
        hessian=hessian,
        covariance=covariance,
        loss=float(result.fun),
        history=tuple(history),
        iterations=tuple(iterations),
        converged=bool(result.success),
        message=_said(result),
        unidentifiable=_unidentifiable(names, hessian, correlation),
        at_bound=tuple(
            p.label
            for p, v in zip(problem.parameters, estimate)
            if np.isclose(v, p.lower, rtol=BOUND_RTOL, atol=0) or np.isclose(v, p.upper, rtol=BOUND_RTOL, atol=0)
        ),
        noise_sd=noise_sd,
        observations=problem.obs,
        prediction=prediction,
        prediction_sd=band,
    )


def _said(result) -> str:
    """scipy's reason for stopping, with what its terse ones mean."""
    message = str(result.message).strip()
    if message.startswith("ABNORMAL"):
        return (
            "ABNORMAL: the line search found no lower loss along the search direction (the loss's rounding at "
            "this precision — float64 resolves it — or an estimate pressed against a bound)"
        )
    return message


def _hessian(evaluate, z: np.ndarray, k: int) -> np.ndarray:
    """H of the loss at z by central differences of its gradient, symmetrised."""
    columns = []
    for i in range(k):
        e = np.zeros(k)
        e[i] = HESSIAN_STEP
        columns.append((evaluate(z + e).gradient - evaluate(z - e).gradient) / (2 * HESSIAN_STEP))
    h = np.asarray(columns)
    return 0.5 * (h + h.T)


def _sensitivity(problem: Problem, values: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """(m, k) d prediction / d z by central differences of plain runs."""
    dz = _d_value_d_z(problem.parameters, _to_scale(problem.parameters, values))
    columns = []
    for i, v in enumerate(values):
        h = BAND_STEP * (abs(v) or 1.0)
        up, down = values.copy(), values.copy()
        up[i], down[i] = v + h, v - h
        columns.append((problem.predict(up) - problem.predict(down)) / (2 * h) * dz[i])
    return np.stack(columns, axis=1) if columns else np.zeros(prediction.shape + (0,))


def _unidentifiable(names, hessian, correlation) -> tuple[str, ...]:
    k = len(names)
    found = {names[i] for i in range(k) for j in range(k) if i != j and abs(correlation[i, j]) > CORRELATED}
    eig, vectors = np.linalg.eigh(hessian)
    if (eig.max() <= 0 or eig.min() <= FLAT * eig.max()) and not found:
        found = {names[i] for i in np.flatnonzero(np.abs(vectors[:, 0]) > 0.1)}
    return tuple(n for n in names if n in found)


def _floor(recorded: np.ndarray) -> float:
    """σ₀ of an estimated σ: `ESTIMATED_FLOOR` × the recorded values' spread (their size if constant)."""
    spread = float(np.std(recorded)) or float(np.max(np.abs(recorded), initial=0.0)) or 1.0
    return ESTIMATED_FLOOR * spread


def _objective(obs: Observations, sd: np.ndarray, huber: np.ndarray, floor: Mapping[str, float]):
    """run -> the negative log-likelihood of the samples (see the module docstring)."""
    given = np.isfinite(sd)
    scale = np.sqrt(np.where(given, sd**2 + obs.deadband**2 / 3.0, 1.0))
    gaussian_idx, huber_idx = np.flatnonzero(given & ~huber), np.flatnonzero(given & huber)
    estimated = [(np.flatnonzero(obs.of(name) & ~given), floor[name] ** 2) for name in obs.names]
    estimated = [(jnp.asarray(i), i.size, f2) for i, f2 in estimated if i.size]

    def objective(run):
        r = obs.predict(run.readings) - jnp.asarray(obs.value, run.readings.dtype)
        u = r / jnp.asarray(scale, r.dtype)
        total = 0.5 * jnp.sum(u[gaussian_idx] ** 2)
        a = jnp.abs(u[huber_idx])
        total = total + jnp.sum(jnp.where(a <= HUBER_K, 0.5 * a**2, HUBER_K * a - 0.5 * HUBER_K**2))
        for idx, m, floor2 in estimated:
            total = total + 0.5 * m * jnp.log(jnp.mean(r[idx] ** 2) + floor2)
        return total

    return objective


def _noise(obs: Observations, telemetry: Telemetry, noise: Mapping[str, Noise], where: str, spec: str):
    """((m,) σ per sample in the twin's unit, NaN where it is to be estimated; (m,) True: Huber)."""
    sd, huber = np.full(obs.value.shape, np.nan), np.zeros(obs.value.shape, bool)
    for name, model in noise.items():
        key = f"{spec}noise.{name}"
        if name not in obs.names:
            raise TwinInputError(key, name, f"no recorded sensor {name!r} matches the scene in {where}")
        if model.model not in MODELS:
            raise TwinInputError(f"{key}.model", model.model, f"expected one of {', '.join(MODELS)}")
        if model.sd is None:
            if model.model == "huber":
                raise TwinInputError(f"{key}.sd", None, "a Huber loss needs σ given (the residuals estimate it)")
            continue
        if not (isinstance(model.sd, (int, float)) and math.isfinite(model.sd) and model.sd > 0):
            raise TwinInputError(f"{key}.sd", model.sd, "σ must be a number > 0 in the sensor's unit")
        scale = units.UNITS[units.canonical(telemetry.sensors[name].unit)].scale
        sd[obs.of(name)] = model.sd * scale
        huber[obs.of(name)] = model.model == "huber"
    return sd, huber


def check_parameters(parameters: Sequence[Parameter], spec: str = "") -> None:
    """Refuse a parameter spec no fit can take, at its key below `spec`."""
    if not parameters:
        raise TwinInputError(f"{spec}parameters", [], "give at least one parameter to fit")
    for i, p in enumerate(parameters):
        where = f"{spec}parameters.{p.name}" if p.name else f"{spec}parameters[{i}]"
        if p.scale not in ("log", "lin"):
            raise TwinInputError(f"{where}.scale", p.scale, "expected log or lin")
        if not p.lower < p.upper:
            raise TwinInputError(f"{where}.lower", p.lower, f"must be below upper ({p.upper})")
        if p.scale == "log" and p.lower <= 0:
            raise TwinInputError(f"{where}.lower", p.lower, "a log-scaled parameter needs lower > 0")
        if p.start is not None and not p.lower <= p.start <= p.upper:
            raise TwinInputError(f"{where}.start", p.start, f"must lie within [{p.lower}, {p.upper}]")
        if (p.prior_mean is None) != (p.prior_sd is None) or (p.prior_sd is not None and p.prior_sd <= 0):
            raise TwinInputError(f"{where}.prior_sd", p.prior_sd, "a prior needs both prior_mean and prior_sd > 0")
        if p.prior_mean is not None and p.scale == "log" and p.prior_mean <= 0:
            raise TwinInputError(f"{where}.prior_mean", p.prior_mean, "a log-scaled parameter's prior mean is > 0")
    labels = [p.label for p in parameters]
    for label in labels:
        if labels.count(label) > 1:
            raise TwinInputError(f"{spec}parameters", label, "named twice: each unknown once")


def _to_scale(parameters, values) -> np.ndarray:
    return np.asarray([math.log(v) if p.scale == "log" else float(v) for p, v in zip(parameters, values)])


def _from_scale(parameters, z) -> np.ndarray:
    return np.asarray([math.exp(x) if p.scale == "log" else float(x) for p, x in zip(parameters, z)])


def _d_value_d_z(parameters, z) -> np.ndarray:
    return np.asarray([math.exp(x) if p.scale == "log" else 1.0 for p, x in zip(parameters, z)])


def _prior(parameters, z) -> tuple[float, np.ndarray]:
    value, grad = 0.0, np.zeros(len(parameters))
    for i, (p, x) in enumerate(zip(parameters, z)):
        if p.prior_sd is not None:
            mean = math.log(p.prior_mean) if p.scale == "log" else p.prior_mean
            value += 0.5 * ((x - mean) / p.prior_sd) ** 2
            grad[i] = (x - mean) / p.prior_sd**2
    return value, grad


def _leaf_paths(params, unknowns: tuple[Unknown, ...]) -> tuple[str, ...]:
    paths = [gradient._path(p) for p, _ in jax.tree_util.tree_leaves_with_path(params)]
    return tuple(sorted({paths[n] for u in unknowns for n, *_ in u.leaves}))


def _chain(grad, unknowns: tuple[Unknown, ...]) -> np.ndarray:
    """d loss / d each unknown's value from the gradient in Params (affine: Σ gradient · slope)."""
    leaves = [np.asarray(x, float).reshape(-1) for x in jax.tree.leaves(grad)]
    return np.asarray([sum(float(leaves[n][index] @ slope) for n, index, _, slope in u.leaves) for u in unknowns])


__all__ = ["Evaluation", "Fit", "Noise", "Parameter", "Problem", "Profile", "calibrate", "check_parameters"]
