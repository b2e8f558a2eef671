"""Ctrl-C (SIGINT) and SIGTERM stop the `twin` command promptly — also while JAX imports or compiles,
or a step runs in C.

Python runs its signal handlers only between bytecodes, so a KeyboardInterrupt waits for a compile or a
long device call to return, and one raised inside a garbage-collection callback is swallowed (the run
went on and exited 0). Instead the signal's C-level handler writes to a wake-up pipe
(`signal.set_wakeup_fd`); a watcher thread reads it, runs the registered clean-ups (remove what this
run made; a run's last checkpoint stays, to resume), prints one line and ends the process with status
128 + signal (130 for Ctrl-C) at once.
Installed only by the command, never when twin is imported as a library.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_clean_ups: list[Callable[[], None]] = []
_state = {"installed": False, "command": "twin"}


def exit_promptly_on_interrupt(command: str | None = None) -> None:
    """From now on, SIGINT/SIGTERM run the clean-ups, print `twin COMMAND: interrupted` and exit with
    128 + the signal's number. Idempotent; call from the main thread."""
    if command:
        _state["command"] = f"twin {command}"
    if _state["installed"]:
        return
    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    for sig in SIGNALS:
        signal.signal(sig, lambda *_: None)  # the wake-up pipe does the work; nothing is raised in Python
    threading.Thread(target=_watch, args=(read,), name="twin-interrupt", daemon=True).start()
    _state["installed"] = True


def when_the_command_starts() -> None:
    """Install the prompt exit if this process is the `twin` command: `python -m twin` (argv[0] is "-m"
    while -m imports its package) or the `twin` script; a library import leaves the signals alone."""
    if sys.argv[:1] == ["-m"] or Path(sys.argv[0]).name in ("twin", "twin.exe"):
        exit_promptly_on_interrupt()


def on_interrupt(clean_up: Callable[[], str | None]) -> None:
    """Run `clean_up` (no arguments) if the command is interrupted; a text it returns replaces "nothing
    of this run was kept" in the line printed (what was kept, how to go on)."""
    _clean_ups.append(clean_up)


def _watch(read: int) -> None:
    number = os.read(read, 1)[0]
    note = "nothing of this run was kept"
    try:
        for clean_up in _clean_ups:
            note = clean_up() or note
    finally:
        print(f"{_state['command']}: interrupted ({signal.Signals(number).name}); {note}", file=sys.stderr, flush=True)
        os._exit(128 + number)
