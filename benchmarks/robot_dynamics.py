"""Inverse dynamics throughput of the six-axis arm (samples per second), twin's RNEA against Pinocchio's.

    python benchmarks/robot_dynamics.py                  # 10⁶ samples, 5 interleaved repeats
    python benchmarks/robot_dynamics.py --quick          # 2·10⁴ samples, a smoke run in seconds
    python benchmarks/robot_dynamics.py --samples 200000 --chunk 512 --out /tmp/rnea.json

The arm is the default scene's `kr20_class` (scenes/gigafactory_cell.yaml) carrying its robot's gripper
and part, friction set to zero (Pinocchio's `rnea` has none); the rotor inertias reflected through the
gears, G²·Jm, are Pinocchio's `armature`. The samples are random joint states (q uniform in ±π, q̇ and q̈
normal with 1 rad/s and 3 rad/s² spreads), the same for every variant:

- `twin_float64`, `twin_float32`: `twin.kernels.arm.inverse_dynamics`, `jax.vmap`ped over a chunk of
  `--chunk` samples and `lax.map`ped over the chunks, in one jitted call;
- `twin_float64_one_vmap`: the same, one `vmap` over every sample (no chunks): how much the chunking buys;
- `warp_float64_1_thread`, `warp_float64_2_threads`, `warp_float32_2_threads`:
  `twin.kernels.arm_warp.inverse_dynamics_batch` (the Warp twin of the recursion, one sample per
  thread, forward only), the batch split across 1 or 2 concurrent CPU launches;
- `pinocchio_1_thread`, `pinocchio_2_threads`: `pinocchio.rneaInParallel` over a `ModelPool` (C++,
  OpenMP), the samples as the (6, N) column-major arrays it takes.

The JSON (benchmarks/results/robot_dynamics.json; see README.md) holds every time, medians and best
times, samples/s, `twin_over_pinocchio_2_threads`, `warp_over_pinocchio_2_threads` and the largest
torque difference between twin (float64) and Pinocchio (`max_abs_diff_Nm`, against the largest torque
`max_abs_torque_Nm`), and between Warp and JAX (`max_abs_diff_warp_Nm`, float64).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

from common import machine, summary, time_interleaved, write_json  # noqa: E402

from twin.build import build  # noqa: E402
from twin.kernels import arm as arm_mod  # noqa: E402
from twin.kernels import arm_warp  # noqa: E402
from twin.line.robots import GRAVITY, held_load  # noqa: E402
from twin.scene.files import load_scene  # noqa: E402

DEFAULT_OUT = Path(__file__).parent / "results" / "robot_dynamics.json"


def default_arm() -> tuple[arm_mod.Arm, arm_mod.Payload]:
    """The default scene's first arm robot (float64), frictionless, and what its flange carries with a part."""
    _, params, _ = build(load_scene("gigafactory_cell"), jnp.float64)
    p = params.arms[0]
    arm = p.arm.replace(viscous=jnp.zeros_like(p.arm.viscous), coulomb=jnp.zeros_like(p.arm.coulomb))
    return arm, held_load(p.tool, p.payload, 1.0)


def twin_runner(arm, payload, states, dtype, chunk: int | None):
    """A timed call: torques (N, 6) of every sample, `chunk` samples per vmap (None: one vmap of all)."""
    cast = jax.tree.map(lambda x: jnp.asarray(x, dtype), (arm, payload))
    gravity = jnp.asarray(GRAVITY, dtype)

    def one(x):
        return arm_mod.inverse_dynamics(cast[0], x[0], x[1], x[2], gravity, cast[1])

    batched = jax.vmap(one)

    @jax.jit
    def run(x):
        return batched(x) if chunk is None else jax.lax.map(one, x, batch_size=chunk)

    x = jnp.asarray(np.stack(states, axis=1), dtype)  # (N, 3, 6): q, q̇, q̈ per sample
    return lambda: jax.block_until_ready(run(x))


def warp_runner(arm, payload, states, dtype, threads: int):
    """A timed call: torques (N, 6) by the Warp kernel, the batch split across `threads` launches."""
    q, qd, qdd = (np.ascontiguousarray(s, dtype) for s in states)
    return lambda: arm_warp.inverse_dynamics_batch(arm, q, qd, qdd, GRAVITY, payload, threads=threads)


def pinocchio_model(arm: arm_mod.Arm, payload: arm_mod.Payload):
    """The same arm as a Pinocchio model: joint i a revolute z joint at the previous link's DH transform
    Rz(offset)·Tz(d)·Tx(a)·Rx(α) (standard DH), link i's inertia moved into joint i's frame, the payload
    added to the last link, armature G²·Jm."""
    import pinocchio as pin

    if arm.modified:
        raise ValueError("the Pinocchio baseline builds standard-DH arms only")
    dh, mass, com, inertia = (np.asarray(v, float) for v in (arm.dh, arm.mass, arm.com, arm.inertia))
    model = pin.Model()
    parent, placement = 0, pin.SE3.Identity()
    for i, (a, alpha, d, offset) in enumerate(dh):
        joint = model.addJoint(parent, pin.JointModelRZ(), placement, f"joint_{i + 1}")
        X = pin.SE3(pin.utils.rotate("z", offset), np.array([0.0, 0.0, 0.0]))
        X = X * pin.SE3(np.eye(3), np.array([0.0, 0.0, d])) * pin.SE3(np.eye(3), np.array([a, 0.0, 0.0]))
        X = X * pin.SE3(pin.utils.rotate("x", alpha), np.zeros(3))
        link = pin.Inertia(mass[i], com[i], inertia[i])
        if i == len(dh) - 1:
            link = link + pin.Inertia(float(payload.mass), np.asarray(payload.com), np.asarray(payload.inertia))
        model.appendBodyToJoint(joint, X.act(link), pin.SE3.Identity())
        parent, placement = joint, X
    model.armature = np.asarray(arm.gear_ratio**2 * arm.rotor_inertia, float)
    model.gravity = pin.Motion(np.asarray(GRAVITY), np.zeros(3))
    return model


def pinocchio_runner(model, states, threads: int):
    import pinocchio as pin

    pool = pin.ModelPool(model, threads)
    q, qd, qdd = (np.asfortranarray(s.T) for s in states)  # (6, N)
    tau = np.zeros_like(q, order="F")

    def run():
        pin.rneaInParallel(threads, pool, q, qd, qdd, tau)
        return tau

    return run


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=256, help="samples per vmap inside lax.map")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2·10⁴ samples: a smoke run")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    n_samples = 20_000 if args.quick else args.samples

    arm, payload = default_arm()
    rng = np.random.default_rng(0)
    joints = arm.dh.shape[0]
    states = (
        rng.uniform(-np.pi, np.pi, (n_samples, joints)),
        rng.normal(0.0, 1.0, (n_samples, joints)),
        rng.normal(0.0, 3.0, (n_samples, joints)),
    )
    model = pinocchio_model(arm, payload)
    runners = {
        "twin_float64": twin_runner(arm, payload, states, jnp.float64, args.chunk),
        "twin_float32": twin_runner(arm, payload, states, jnp.float32, args.chunk),
        "twin_float64_one_vmap": twin_runner(arm, payload, states, jnp.float64, None),
        "warp_float64_1_thread": warp_runner(arm, payload, states, np.float64, 1),
        "warp_float64_2_threads": warp_runner(arm, payload, states, np.float64, 2),
        "warp_float32_2_threads": warp_runner(arm, payload, states, np.float32, 2),
        "pinocchio_1_thread": pinocchio_runner(model, states, 1),
        "pinocchio_2_threads": pinocchio_runner(model, states, 2),
    }
    ours = np.asarray(runners["twin_float64"]())
    theirs = runners["pinocchio_2_threads"]().T
    ours32 = np.asarray(runners["twin_float32"](), float)
    warp = runners["warp_float64_2_threads"]()
    runners["warp_float32_2_threads"]()  # compiled before timing, as the jitted ones are
    times = time_interleaved(runners, args.repeats)
    variants = {name: summary(ts, n_samples, "samples_per_s") for name, ts in times.items()}
    rate = {name: v["samples_per_s"] for name, v in variants.items()}
    result = {
        "benchmark": "robot_dynamics",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {"samples": n_samples, "chunk": args.chunk, "repeats": args.repeats, "quick": args.quick},
        "arm": {"joints": joints, "payload_kg": float(payload.mass)},
        "variants": variants,
        "twin_over_pinocchio_2_threads": rate["twin_float64"] / rate["pinocchio_2_threads"],
        "twin_float32_over_pinocchio_2_threads": rate["twin_float32"] / rate["pinocchio_2_threads"],
        "warp_over_pinocchio_2_threads": rate["warp_float64_2_threads"] / rate["pinocchio_2_threads"],
        "warp_1_thread_over_pinocchio_1_thread": rate["warp_float64_1_thread"] / rate["pinocchio_1_thread"],
        "chunked_over_one_vmap": rate["twin_float64"] / rate["twin_float64_one_vmap"],
        "max_abs_torque_Nm": float(np.max(np.abs(theirs))),
        "max_abs_diff_Nm": float(np.max(np.abs(ours - theirs))),
        "max_abs_diff_float32_Nm": float(np.max(np.abs(ours32 - ours))),
        "max_abs_diff_warp_Nm": float(np.max(np.abs(warp - ours))),
    }
    write_json(args.out, result)
    print(
        f"twin {rate['twin_float64']:.3g} samples/s (float64), {rate['twin_float32']:.3g} (float32); "
        f"Warp {rate['warp_float64_1_thread']:.3g} (1 thread), {rate['warp_float64_2_threads']:.3g} (2 threads); "
        f"Pinocchio {rate['pinocchio_1_thread']:.3g} (1 thread), {rate['pinocchio_2_threads']:.3g} (2 threads); "
        f"|Δτ| ≤ {result['max_abs_diff_Nm']:.2g} N·m -> {args.out}"
    )
    return result


if __name__ == "__main__":
    main()
