"""Files written whole or not at all: under a temporary name beside the target, flushed to disk, then
renamed onto it (`os.replace` is atomic on POSIX and Windows). A run killed at any moment — even by
SIGKILL — leaves the previous file intact and at most a stray `.NAME.*` temporary, which
`remove_strays` clears. HDF5 files are built in memory and written in one plain write
(`atomic_h5`), so a full disk is one clean `OSError`.
"""

from __future__ import annotations

import io
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import h5py


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes owner-only files; give the usual permissions
    try:
        yield Path(tmp)
        _flush_to_disk(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_h5(path: Path):
    """Yield an HDF5 file built in memory; write it to `path` (via `atomic_path`) if the block succeeds.

    HDF5 never writes to the disk itself: a full disk or an I/O error then surfaces as one OSError from
    a plain write, instead of HDF5's errors at every object's release and a crash at exit.
    """
    memory = io.BytesIO()
    with h5py.File(memory, "w") as f:
        yield f
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        out.write(memory.getbuffer())


def remove_strays(folder: Path, names) -> None:
    """Remove the temporaries a killed `atomic_path` left for any of `names` in `folder`."""
    for name in names:
        for stray in Path(folder).glob(f".{name}.*"):
            stray.unlink(missing_ok=True)


def _flush_to_disk(path: str) -> None:
    """fsync, so that after the rename the new content is what a crash of the machine leaves."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
