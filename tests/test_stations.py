"""Serial stations with buffers: the bottleneck law, first-part time, blocking, starving, picks, conservation
— in float32 and float64, at two steps (service runs in continuous time, so the step does not change the
results), with stations and pick points anywhere (including positions a float32 sum of belt travel lands
on one rounding step short of)."""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
import pytest
from tolerances import DTYPES, tol

import twin

SERVICE_MIN = [1.0, 1.5, 0.8, 1.2]  # min
BELT = 1.5  # m/s: transfers between stations (0.2 s) are short next to the services
PATH = 3.8  # m
GAP = 0.3  # m between stations: room for 5 waiting parts at a 0.04 m pitch
PITCH = 0.04  # m: parts.length + min_gap
DT = 0.2  # s
COARSE_DT = 4 * DT  # s: the largest step the infeed allows (half the part interval, 1.6 s)
INFEED = 2.4  # m of belt travel between parts let in: one every 1.6 s, far faster than any station serves
HOURS = 1.5 * 3600.0  # s per run: 55–60 parts through the 1.5 min bottleneck


def serial_line(buffer: int, infeed_spacing: float = INFEED, gap: float = GAP) -> dict:
    """Four stations `gap` m apart on a 3.8 m belt; parts 0.02 m long, 0.02 m apart when queued."""
    stations = {
        f"s{i}": {"at": gap * (i + 1), "service_time": 60.0 * t, "buffer": buffer} for i, t in enumerate(SERVICE_MIN)
    }
    return {
        "name": "serial_line",
        "grid": {"size": [4.0, 1.0], "spacing": 0.5},
        "background": {"k": 1.0, "rho_c": 1200.0},
        "conveyors": {
            "line": {
                "path": [[0.1, 0.5], [0.1 + PATH, 0.5]],
                "speed": BELT,
                "segments": {"belt": {"motor": {"max_speed": 2.0}}},
                "parts": {
                    "spacing": infeed_spacing,
                    "mass": 1.0,
                    "c_p": 500.0,
                    "area": 0.01,
                    "h": 5.0,
                    "length": 0.02,
                    "min_gap": 0.02,
                },
                "stations": stations,
            }
        },
    }


@functools.cache  # the blocking and time-balance tests look at the same runs as the bottleneck law
def line_run(buffer: int, precision: str, gap: float = GAP, infeed_spacing: float = INFEED, dt: float = DT):
    return run(serial_line(buffer, infeed_spacing, gap), HOURS, precision, dt)


def run(spec: dict, seconds: float, precision: str, dt: float = DT):
    layout, params, state = twin.build(twin.scene_from_mapping(spec), DTYPES[precision])
    final, _ = twin.rollout(layout, params, state, twin.Solver(dt=dt), n_steps=round(seconds / dt))
    return final


@pytest.mark.parametrize("buffer, gap, dt", [(0, GAP, DT), (5, GAP, COARSE_DT), (1, 0.25, DT), (1, 0.5, DT)])
def test_bottleneck_law_and_first_part(buffer, gap, dt, precision):
    """Stations 0.25 or 0.5 m apart sit on binary-exact positions (0.5, 1.0 m, …) that float32 belt
    travel rounds one step short of; service must still start there."""
    p = line_run(buffer, precision, gap, dt=dt)
    first, last = np.asarray(p.tallies.exit_times[0], float)
    n_out = int(p.tallies.n_out[0])
    throughput = (n_out - 1) / (last - first)  # parts/s between the first and the last exit
    # The bottleneck also waits for its next part to close up: one pitch from where it queues, or without a
    # buffer the whole gap from the station before (which holds it until the bottleneck is free).
    cycle = 60 * max(SERVICE_MIN) + (gap if buffer == 0 else PITCH) / BELT
    assert throughput == pytest.approx(1 / cycle, rel=tol("bottleneck_throughput", precision))
    assert first == pytest.approx(60 * sum(SERVICE_MIN) + PATH / BELT, rel=tol("first_exit_time", precision))
    assert int(p.tallies.n_in[0]) == n_out + int(jnp.sum(p.parts.alive[0]))


def test_infeed_bottleneck_sets_the_throughput(precision):
    """Parts let in every 2 min (every 180 m of belt travel) come slower than any station serves them:
    the throughput is the infeed rate, and every station starves part of the time."""
    p = line_run(1, precision, infeed_spacing=BELT * 120.0)  # one part every 120 s
    first, last = np.asarray(p.tallies.exit_times[0], float)
    throughput = (int(p.tallies.n_out[0]) - 1) / (last - first)
    assert throughput * 60 == pytest.approx(0.5, rel=tol("infeed_throughput", precision))
    np.testing.assert_allclose(
        np.asarray(p.tallies.starved[0]),
        _starved_when_infeed_bound(120.0, HOURS),
        rtol=0,
        atol=tol("starved_time", precision) * HOURS,
    )
    assert np.all(np.asarray(p.tallies.blocked[0]) == 0.0)  # every station is free before its next part comes


def _starved_when_infeed_bound(interval: float, duration: float) -> np.ndarray:
    """Starved time (s) per station when a part enters every `interval` s (longer than every service):
    part j reaches station k at j·interval + its ride there + the services before; a station is busy
    for its service time from each arrival, and starved the rest of the run."""
    service = 60.0 * np.asarray(SERVICE_MIN)
    ride = GAP * np.arange(1, len(service) + 1) / BELT
    arrive = interval * np.arange(int(duration / interval) + 1)[:, None] + ride + np.cumsum(service) - service
    return duration - np.sum(np.clip(duration - arrive, 0.0, service), axis=0)


def _blocked_before_the_bottleneck(duration: float) -> float:
    """Blocked time (s) of s0 without buffers: the 1.5 min bottleneck s1 takes a part from s0 each
    cycle c = its service + the ride from s0, the first at ride + 1.0 min + ride + 1.5 min. s0, whose
    next part waits one pitch behind, has that part done PITCH/BELT + 1.0 min after each release and
    holds it for the rest of the cycle."""
    ride = GAP / BELT
    cycle = 60.0 * SERVICE_MIN[1] + ride
    held = cycle - 60.0 * SERVICE_MIN[0] - PITCH / BELT
    releases = 2 * ride + 60.0 * (SERVICE_MIN[0] + SERVICE_MIN[1]) + cycle * np.arange(int(duration / cycle) + 1)
    return float(np.sum(np.clip(duration - (releases - held), 0.0, held)))


def test_blocking_upstream_of_the_bottleneck(precision):
    """With no buffers, the station before the 1.5 min bottleneck finishes first and is blocked for the
    rest of each bottleneck cycle; no station from the bottleneck on ever waits downstream."""
    blocked = np.asarray(line_run(0, precision).tallies.blocked[0], float)
    assert blocked[0] == pytest.approx(
        _blocked_before_the_bottleneck(HOURS), rel=0, abs=tol("blocked_time", precision) * HOURS
    )
    assert np.all(blocked[1:] == 0.0)


def test_a_coarser_step_gives_the_same_exits_and_station_times(precision):
    """Service, release and arrival happen at their instants inside a step, so the line without
    buffers at 4× the step exits the same parts at the same times and its stations are blocked and
    starved for the same time."""
    fine, coarse = line_run(0, precision), line_run(0, precision, dt=COARSE_DT)
    assert int(coarse.tallies.n_out[0]) == int(fine.tallies.n_out[0])
    atol = tol("dt_independence", precision) * HOURS
    for name in ("exit_times", "blocked", "starved"):
        np.testing.assert_allclose(
            np.asarray(getattr(coarse.tallies, name)[0], float),
            np.asarray(getattr(fine.tallies, name)[0], float),
            rtol=0,
            atol=atol,
            err_msg=name,
        )


def _station_time_balance(p, duration: float) -> np.ndarray:
    """busy + blocked + starved − duration per station (s): busy is the service time of every part whose
    service there has started, less what is left of the one in service."""
    alive, nxt = np.asarray(p.parts.alive[0]), np.asarray(p.parts.next_station[0])
    serving, dwell = np.asarray(p.parts.serving[0]), np.asarray(p.parts.dwell[0], float)
    out = []
    for k, minutes in enumerate(SERVICE_MIN):
        here = alive & serving & (nxt == k)
        started = int(p.tallies.n_out[0]) + int(np.sum(alive & (nxt > k))) + int(np.sum(here))
        busy = 60.0 * minutes * started - float(np.sum(np.where(here, np.maximum(dwell, 0.0), 0.0)))
        out.append(busy + float(p.tallies.blocked[0, k]) + float(p.tallies.starved[0, k]) - duration)
    return np.asarray(out)


@pytest.mark.parametrize("buffer, infeed", [(0, INFEED), (1, BELT * 120.0)])
def test_station_time_is_busy_blocked_or_starved(buffer, infeed, precision):
    """Every second of every station is accounted for exactly once: serving, holding a finished part it
    cannot release, or standing empty — with releases, arrivals and starts inside steps."""
    p = line_run(buffer, precision, infeed_spacing=infeed)
    assert np.max(np.abs(_station_time_balance(p, HOURS))) <= tol("station_time_balance", precision) * HOURS


def _throughput_of_speed(precision: str):
    """(throughput(v) in parts/s, v0) on the infeed-bound line (one part per 180 m of belt travel)."""
    spec = serial_line(1, infeed_spacing=180.0)
    layout, params, state = twin.build(twin.scene_from_mapping(spec), DTYPES[precision])

    def throughput(v):
        p = params.replace(belts=params.belts.replace(setpoint=v))
        final, _ = twin.rollout(layout, p, state, twin.Solver(dt=0.2), n_steps=4500)
        first, last = final.tallies.exit_times[0]
        return (final.tallies.n_out[0] - 1).astype(last.dtype) / (last - first)

    return throughput, params.belts.setpoint


@functools.cache
def _central_difference() -> float:
    """float64 central difference of the throughput in belt speed (parts/s per m/s)."""
    import jax

    reference, v = _throughput_of_speed("float64")
    eps = 1e-4 * v  # exit times carry round-off from thousands of steps; a 1e-6 step drowns in it
    return float((jax.jit(reference)(v + eps) - jax.jit(reference)(v - eps))[()] / (2 * eps[0]))


def test_throughput_gradient_wrt_belt_speed_matches_central_differences(precision):
    """throughput = v/180 m, and jax.grad sees it, in either precision; the reference is float64 central
    differences."""
    import jax

    throughput, v = _throughput_of_speed(precision)
    ad = jax.grad(throughput)(v)[0]
    assert float(ad) == pytest.approx(_central_difference(), rel=tol("throughput_gradient", precision))
    assert float(ad) == pytest.approx(1.0 / 180.0, rel=tol("infeed_speed_law", precision))  # d(v/spacing)/dv


@pytest.mark.parametrize(
    "change, where, phrase",
    [
        (lambda st: st["s1"].update(buffer=-1), "stations.s1.buffer", "buffer must be ≥ 0"),
        (lambda st: st["s2"].update(service_time=0.0), "stations.s2.service_time", "service time must be > 0"),
        (lambda st: st["s3"].update(at=0.1), "stations.s3.at", "path order"),
        (lambda st: st["s0"].update(at=9.0), "stations.s0.at", "must lie on the path"),
        (lambda st: st["s1"].update(buffer=9), "stations.s1.buffer", "no room"),
    ],
)
def test_bad_stations_are_refused_with_their_key_path(change, where, phrase):
    spec = serial_line(1)
    change(spec["conveyors"]["line"]["stations"])
    with pytest.raises(twin.SceneError) as info:
        twin.scene_from_mapping(spec)
    assert str(info.value).startswith(f"scene.conveyors.line.{where}:")
    assert phrase in str(info.value)


@pytest.mark.parametrize("robots, expected_per_min", [(1, 60 / 90), (2, 1.0)])
def test_robot_pick_time_limits_throughput(robots, expected_per_min, precision):
    """Parts every minute; a robot busy 90 s per pick is the bottleneck alone, not with a partner. The
    pick points sit at 2.0 and 2.5 m: binary-exact positions that float32 belt travel rounds short of."""
    spec = serial_line(1, infeed_spacing=BELT * 60.0)
    spec["conveyors"]["line"]["stations"] = {}
    spec["robots"] = {
        f"r{i}": {"base": [3.0 + 0.5 * i, 0.9], "conveyor": "line", "pick_at": 2.0 + 0.5 * i, "pick_time": 90.0}
        for i in range(robots)
    }
    p = run(spec, HOURS, precision)
    first, last = np.asarray(p.tallies.exit_times[0], float)
    throughput = (int(p.tallies.n_out[0]) - 1) / (last - first)
    assert throughput * 60 == pytest.approx(expected_per_min, rel=tol("pick_throughput", precision))
    assert int(p.tallies.n_in[0]) == int(p.tallies.n_out[0]) + int(jnp.sum(p.parts.alive[0]))
