"""Run directories: refuse one that holds another run, and after a refused run remove only what this
invocation created.

Hydra makes the run directory (and any missing parents, `.hydra/` and a log) before the task runs.
`Before.look(path)` records, ahead of Hydra, which of the path's ancestors exist and what each holds;
`Before.discard(run_dir)` then removes `.hydra/` and logs that were not there before, and the
directories this invocation made, only where they are left empty — never a folder or file that existed
before the command started.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from twin.errors import TwinInputError

RUN_FILES = ("results.h5", "metrics.json", "final_field.png", ".hydra")  # a run's record in its directory
HYDRA_MADE = (".hydra",)  # besides *.log


@dataclass
class Before:
    """What existed, ahead of Hydra: for each existing ancestor of a run path (and the path), its entries."""

    entries: dict[Path, set[str]] = field(default_factory=dict)

    @classmethod
    def look(cls, path: Path) -> "Before":
        path = Path(path).absolute()
        before = cls()
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

    def discard(self, run_dir: Path) -> None:
        """Remove what Hydra made for a run that was refused, then the folders made now that are empty."""
        run_dir = Path(run_dir).absolute()
        old = self.entries.get(run_dir, set())
        for entry in run_dir.iterdir() if run_dir.is_dir() else ():
            if entry.name in old:
                continue
            if entry.name in HYDRA_MADE and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.suffix == ".log" and entry.is_file() and entry.stat().st_size == 0:
                entry.unlink()
        folder = run_dir
        while self.made_now(folder) and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def refuse_taken(folder: Path, key: str) -> None:
    """Refuse a run directory that holds another run's files (overwrite=true allows it)."""
    folder = Path(folder)
    held = [name for name in RUN_FILES if (folder / name).exists()]
    if held:
        raise TwinInputError(key, str(folder), f"holds another run ({', '.join(held)}); choose another directory "
                             "or pass overwrite=true")
