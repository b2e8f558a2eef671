"""Pictures of a run with pyvista, off screen: the thermal field with the line drawn on it."""

from __future__ import annotations

import functools
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pyvista as pv

from twin.kernels import arm as arm_mod
from twin.line.robot_build import arm_model
from twin.model import Layout
from twin.scene.schema import Robot, Scene

LINE_COLOUR = "white"
ROBOT_COLOUR = "deepskyblue"
ARM_COLOUR = "cyan"
MOTOR_COLOUR = "orange"
STATION_COLOUR = "magenta"
SENSOR_COLOUR = "lime"


def _quiet_vtk() -> None:
    """VTK logs a warning when it falls back from X to an off-screen context; that is expected here."""
    try:
        from vtkmodules.vtkCommonCore import vtkLogger

        vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_ERROR)
    except ImportError:  # older VTK without the logger
        pass


STRIP = 8.0  # a 1D field is drawn as a band 1/STRIP of its length high


def _strip_height(layout: Layout) -> float:
    return layout.spacing[0] * layout.shape[0] / STRIP


def field_grid(layout: Layout, T: np.ndarray) -> pv.ImageData:
    """The temperature field (array order) as cell data of an ImageData in x, y(, z) coordinates; a 1D
    field as a band of one cell across."""
    if layout.ndim == 1:
        dims, spacing = [layout.shape[0] + 1, 2, 1], [layout.spacing[0], _strip_height(layout), 1.0]
    else:
        dims = [n + 1 for n in layout.shape[::-1]] + [1] * (3 - layout.ndim)
        spacing = list(layout.spacing) + [1.0] * (3 - layout.ndim)
    grid = pv.ImageData(dimensions=dims, spacing=spacing)
    # VTK orders cells x fastest, which is C order of the (…, y, x) array.
    grid.cell_data["temperature_degC"] = np.asarray(T, float).ravel(order="C")
    return grid


def render_field(scene: Scene, layout: Layout, T: np.ndarray, path: Path, title: str = "") -> Path:
    """Write a PNG of the field T (°C) seen from above, with conveyors, robots and sensors drawn on it."""
    _quiet_vtk()
    grid = field_grid(layout, T)
    plane_z = 0.0
    if layout.ndim == 3:
        plane_z = _line_height(scene, layout.spacing[2] * layout.shape[0])
        grid = grid.slice(normal="z", origin=(0.0, 0.0, plane_z))
        title = f"{title or scene.name} — slice at z = {plane_z:.2f} m"
    aspect = STRIP if layout.ndim == 1 else scene.grid.size[0] / scene.grid.size[1]
    lifted = functools.partial(_lifted, y=0.5 * _strip_height(layout) if layout.ndim == 1 else None)
    plotter = pv.Plotter(off_screen=True, window_size=(1600, max(400, int(1600 / aspect) + 220)))
    plotter.add_mesh(
        grid,
        scalars="temperature_degC",
        cmap="inferno",
        scalar_bar_args={
            "title": "temperature (°C)",
            "vertical": False,
            "color": "white",
            "fmt": "%.0f",
            "n_labels": 6,
        },
    )
    lift = plane_z + 0.05
    for conveyor in scene.conveyors.values():
        pts = lifted(conveyor.path, lift)
        plotter.add_mesh(pv.lines_from_points(pts), color=LINE_COLOUR, line_width=5)
    radius = min(max(0.012 * scene.grid.size[0], 0.2), 0.6) if layout.ndim > 1 else 0.25 * _strip_height(layout)
    for robot in scene.robots.values():
        drawn = robot.arm is not None and layout.ndim > 1
        centre = lifted([robot.base], lift)[0]
        plotter.add_mesh(pv.Sphere(radius=radius * (0.4 if drawn else 1.0), center=centre), color=ROBOT_COLOUR)
        if drawn:  # the arm seen from above, a link from each joint frame's origin to the next
            chain = lifted(arm_at_grip(scene, robot)[:, :2], lift + 0.01)
            plotter.add_mesh(pv.lines_from_points(chain), color=ARM_COLOUR, line_width=8)
            plotter.add_points(chain[1:], color=ARM_COLOUR, point_size=10, render_points_as_spheres=True)
    for conveyor in layout.conveyors:
        for at in conveyor.station_at:
            point = [np.interp(at, conveyor.arc, conveyor.vertices[:, d]) for d in range(layout.ndim)]
            plotter.add_mesh(
                pv.Cube(center=lifted([point], lift)[0], x_length=0.4 * radius, y_length=2 * radius, z_length=radius),
                color=STATION_COLOUR,
            )
    for segment in layout.segments:
        centre = lifted([segment.motor], lift)[0]
        plotter.add_mesh(pv.Cube(center=centre, x_length=radius, y_length=radius, z_length=radius), color=MOTOR_COLOUR)
    positions = [s.position for s in scene.sensors.values() if s.position is not None]
    if positions:
        plotter.add_points(lifted(positions, lift), color=SENSOR_COLOUR, point_size=12, render_points_as_spheres=True)
    _add_key(plotter, scene, layout, bool(positions))
    plotter.add_text(title or scene.name, font_size=12, color="white")
    plotter.set_background("black")
    plotter.view_xy()
    # A 1D band keeps the taller window, so the title and the colour bar sit above and below it, not on it.
    plotter.camera.tight(padding=0.05, adjust_render_window=layout.ndim > 1)
    path = Path(path)
    plotter.screenshot(str(path))
    plotter.close()
    return path


def _add_key(plotter: pv.Plotter, scene: Scene, layout: Layout, has_sensors: bool) -> None:
    """A legend naming the marks drawn, for the kinds this scene has."""
    marks = [
        (bool(scene.conveyors), "conveyor", LINE_COLOUR, "-"),
        (any(len(c.station_at) for c in layout.conveyors), "station", STATION_COLOUR, "rectangle"),
        (bool(layout.segments), "belt motor", MOTOR_COLOUR, "rectangle"),
        (bool(scene.robots), "robot", ROBOT_COLOUR, "circle"),
        (layout.ndim > 1 and any(r.arm for r in scene.robots.values()), "arm at its grip pose", ARM_COLOUR, "-"),
        (has_sensors, "sensor", SENSOR_COLOUR, "circle"),
    ]
    labels = [{"label": label, "color": colour, "face": face} for shown, label, colour, face in marks if shown]
    if labels:
        width, height = plotter.window_size
        rows = 24 * (len(labels) + 1) / height  # ~24 px a row, whatever the window's aspect
        plotter.add_legend(
            labels, bcolor="black", border=True, size=(170 / width, rows), loc="lower left", background_opacity=0.6
        )


def arm_at_grip(scene: Scene, robot: Robot) -> np.ndarray:
    """(n + 1, 3) m: the base and every joint frame's origin of a robot's arm, posed at its grip pose, in
    hall coordinates (the base frame turned by `heading` about the vertical; z from the base's height)."""
    arm = arm_model(scene.arms[robot.arm], lambda values: jnp.asarray(np.asarray(values, float)))
    _, origins = arm_mod.frames(arm, jnp.asarray(np.asarray(robot.waypoints[robot.grip], float)))
    c, s = np.cos(robot.heading), np.sin(robot.heading)
    turn = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    base = np.zeros(3)
    base[: len(robot.base)] = robot.base
    return base + np.asarray(origins, float) @ turn.T


def _lifted(points, z: float, y: float | None = None) -> np.ndarray:
    """Points drawn on the plane at height z, just above the field shown (1D points at height y of the band)."""
    pts = np.asarray(points, float)
    across = pts[:, 1] if y is None else np.full(len(pts), y)
    return np.column_stack([pts[:, 0], across, np.full(len(pts), z)])


def _line_height(scene: Scene, z_top: float) -> float:
    """Height of the slice shown for 3D scenes: the conveyors' mean height, else mid-hall."""
    heights = [p[2] for c in scene.conveyors.values() for p in c.path]
    return float(np.mean(heights)) if heights else 0.5 * z_top
