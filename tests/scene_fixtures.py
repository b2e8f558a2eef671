"""Kept for the test files that still import it; the scenes live in tests/fixtures.py."""

from fixtures import scene_2d, scene_3d  # noqa: F401
