"""Errors a user can act on: what is wrong, where (YAML key path or HDF5 dataset), and what is allowed.

The CLI prints `str(error)` on one line and exits with status 2; no traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any


class TwinInputError(ValueError):
    """Bad user input. `where` is a YAML key path (``scene.zones.wall.k``) or an HDF5 dataset."""

    def __init__(self, where: str, value: Any, message: str):
        self.where, self.value, self.message = where, value, message
        super().__init__(f"{where}: {_show(value)} — {message}")


class SceneError(TwinInputError):
    """A scene that does not validate."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class SimulationError(TwinInputError):
    """A run that produced a non-finite value: what became non-finite, when (s) and where."""

    def __init__(self, what: str, time: float, message: str):
        self.where, self.value, self.message = what, time, message
        ValueError.__init__(self, f"simulation: {what} became non-finite at t = {time:.6g} s {message}")


class DeprecatedKeyWarning(FutureWarning):
    """A scene key that was renamed: still read, under its new name; the message names both."""


class _Missing:
    """Shown as the value of a required key that is absent."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


def did_you_mean(key: Any, allowed: Sequence[str], label: str) -> str:
    """'did you mean 'power'? allowed keys: box, power, …' — the suggestion only when one is close."""
    close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}{label}: {', '.join(allowed)}"
