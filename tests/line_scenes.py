"""Kept for the test files that still import it; the scenes live in tests/fixtures.py."""

from fixtures import belt_in_still_air, small_line  # noqa: F401
