"""Rasterising scene geometry (boxes, polygons, polylines) onto the cell-centred grid.

Pure numpy, run once per build: nothing here is traced or differentiated.
"""

from __future__ import annotations

import numpy as np


def cell_centres(shape: tuple[int, ...], spacing: tuple[float, ...]) -> tuple[np.ndarray, ...]:
    """Coordinates (x, y[, z]) of every cell centre, each an array of the field's shape (array order)."""
    ndim = len(shape)
    axes = [(np.arange(shape[ndim - 1 - d]) + 0.5) * spacing[d] for d in range(ndim)]
    grids = np.meshgrid(*axes[::-1], indexing="ij")  # array order: (z,) y, x
    return tuple(grids[::-1])  # coordinate order: x, y(, z)


def box_mask(box, shape, spacing) -> np.ndarray:
    """Cells whose centre lies in the closed box [[x0, y0(, z0)], [x1, y1(, z1)]]."""
    lo, hi = np.asarray(box[0], float), np.asarray(box[1], float)
    mask = np.ones(shape, bool)
    for d, c in enumerate(cell_centres(shape, spacing)):
        mask &= (c >= lo[d]) & (c <= hi[d])
    return mask


def polygon_mask(polygon, shape, spacing, z_range=None) -> np.ndarray:
    """Cells whose centre lies inside a 2D polygon (even–odd rule), extruded over z_range in 3D."""
    centres = cell_centres(shape, spacing)
    x, y = centres[0], centres[1]
    pts = np.asarray(polygon, float)
    inside = np.zeros(shape, bool)
    for (x0, y0), (x1, y1) in zip(pts, np.roll(pts, -1, axis=0)):
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (x < x_cross)
    if len(shape) == 3 and z_range is not None:
        inside &= (centres[2] >= z_range[0]) & (centres[2] <= z_range[1])
    return inside


def polyline_lengths(path) -> np.ndarray:
    """Cumulative arc length at each vertex of a polyline, starting at 0 (m)."""
    seg = np.linalg.norm(np.diff(np.asarray(path, float), axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(seg)])
