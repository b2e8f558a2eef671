"""twin — a differentiable physics and thermal digital twin of factory production lines.

The public surface; everything else may change:

    scene = twin.load_scene("gigafactory_cell", overrides=["heaters.oven_1.setpoint=130"])
    result = twin.simulate(scene, duration=3600.0)              # or twin.Solver(method="steady")
    twin.simulate(scene, 28800.0, checkpoints=twin.Checkpoints("run.ckpt.h5")); twin.resume("run.ckpt.h5")
    layout, params, state = twin.build(scene)                   # for gradients:
    final, readings = twin.rollout(layout, params, state, twin.Solver(dt=1.0), n_steps=600)
    twin.time_step(layout, params, solver)                      # the dt both of them step with
    twin.use_compile_cache()                                    # keep compiled programs on disk, per user
    value, grad, status = twin.value_and_grad(objective, layout, params, solver, duration=600.0)
"""

from twin.run import interrupt

interrupt.when_the_command_starts()  # Ctrl-C stops `twin ...` promptly from its first moment (before JAX loads)

from twin.build import build  # noqa: E402
from twin.compile_cache import use as use_compile_cache  # noqa: E402
from twin.errors import DeprecatedKeyWarning, SceneError, SimulationError, TwinInputError  # noqa: E402
from twin.gradient import Gradient, Run, evaluate, value_and_grad  # noqa: E402
from twin.model import Layout, Params, State, Status  # noqa: E402
from twin.run.files import write_run  # noqa: E402
from twin.run.size import Limits  # noqa: E402
from twin.scene.convert import scene_from_mapping  # noqa: E402
from twin.scene.files import load_scene  # noqa: E402
from twin.scene.plausibility import PlausibilityWarning  # noqa: E402
from twin.scene.schema import Scene  # noqa: E402
from twin.simulate import Checkpoints, Result, resume, simulate  # noqa: E402
from twin.status import check as check_status  # noqa: E402
from twin.steady import steady_state  # noqa: E402
from twin.step import Solver, make_step  # noqa: E402
from twin.time_loop import rollout  # noqa: E402
from twin.time_step import time_step  # noqa: E402

__all__ = [
    "Checkpoints",
    "Gradient",
    "Run",
    "DeprecatedKeyWarning",
    "Layout",
    "Limits",
    "Params",
    "PlausibilityWarning",
    "Result",
    "Scene",
    "SceneError",
    "SimulationError",
    "Solver",
    "State",
    "Status",
    "TwinInputError",
    "build",
    "evaluate",
    "check_status",
    "load_scene",
    "make_step",
    "resume",
    "rollout",
    "scene_from_mapping",
    "simulate",
    "steady_state",
    "time_step",
    "use_compile_cache",
    "value_and_grad",
    "write_run",
]
