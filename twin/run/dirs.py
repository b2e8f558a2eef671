"""Run directories: refuse one that holds another run, and after a refused run remove only what this
invocation created.

Hydra makes the run directory (and any missing parents, `.hydra/` and a log) before the task runs.
`Before.look(path)` records, ahead of Hydra, which of the path's ancestors exist and what each holds;
`Before.discard(run_dir)` then removes what was not there before (`.hydra/`, the log, files being
written) and the directories this invocation made, while they are left empty — never a folder or file
that existed before the command started.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from twin.errors import TwinInputError

RUN_FILES = (
    "results.h5",
    "metrics.json",
    "final_field.png",
    "checkpoint.h5",
    "telemetry.h5",
    "calibration.json",
    "calibration.h5",
    "calibration_journal.json",
    ".hydra",
)  # a run's record in its directory


@dataclass
class Before:
    """What existed, ahead of Hydra: for each existing ancestor of a run path (and the path), its entries."""

    path: Path
    entries: dict[Path, set[str]] = field(default_factory=dict)

    @classmethod
    def look(cls, path: Path) -> Before:
        path = Path(path).absolute()
        before = cls(path)
        for folder in [path, *path.parents]:
            if folder.is_dir():
                before.entries[folder] = {p.name for p in folder.iterdir()}
        return before

    def made_now(self, folder: Path) -> bool:
        """True only if `folder` is known not to have existed: its parent was seen without it, or was made now."""
        folder = Path(folder).absolute()
        parent = folder.parent
        if parent in self.entries:
            return folder.name not in self.entries[parent]
        return parent != folder and self.made_now(parent)

    def discard(self, run_dir: Path, keep: tuple[str, ...] = ()) -> None:
        """Remove what this command made in and for a run it does not keep: every entry of `run_dir` that
        was not there before (Hydra's `.hydra/` and log, files being written) but those named in `keep`,
        then the folders made now, upwards, while they are empty."""
        run_dir = Path(run_dir).absolute()
        old = self.entries.get(run_dir, set()) | set(keep)
        for entry in list(run_dir.iterdir()) if run_dir.is_dir() else ():
            if entry.name in old:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        folder = run_dir
        while self.made_now(folder) and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def refuse_unwritable(folder: Path, key: str) -> None:
    """Refuse a run directory that is a file, lies under a file, or cannot be made or written."""
    folder = Path(folder).absolute()
    for level in [folder, *folder.parents]:
        if level.exists():
            if not level.is_dir():
                what = "is a file" if level == folder else f"lies under a file, {level}"
                raise TwinInputError(key, str(folder), f"{what}; choose a directory")
            if not os.access(level, os.W_OK | os.X_OK):
                raise TwinInputError(key, str(folder), f"cannot write in {level} (permission denied or read-only)")
            return


def refuse_taken(folder: Path, key: str) -> None:
    """Refuse a run directory that holds another run's files (overwrite=true allows it)."""
    folder = Path(folder)
    held = [name for name in RUN_FILES if (folder / name).exists()]
    if held:
        resume = (
            f"continue it with `twin simulate resume={folder}`, "
            if "checkpoint.h5" in held
            else "continue it with calibrate.resume=true, "
            if "calibration_journal.json" in held
            else ""
        )
        raise TwinInputError(
            key,
            str(folder),
            f"holds another run ({', '.join(held)}); {resume}choose another directory or pass overwrite=true",
        )
