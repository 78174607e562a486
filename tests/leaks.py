"""What a test checks was left behind: tasks still alive, temporary files still open."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import trio


class TaskCounter(trio.abc.Instrument):
    """Counts the tasks alive among those spawned since it was added."""

    def __init__(self) -> None:
        self.alive: set[trio.lowlevel.Task] = set()

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        self.alive.add(task)

    def task_exited(self, task: trio.lowlevel.Task) -> None:
        self.alive.discard(task)


def open_temporary_files() -> int:
    """How many unlinked temporary files this process still holds open (Linux)."""
    fd_dir = Path("/proc/self/fd")
    count = 0
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed while we looked
        if target.startswith(tempfile.gettempdir()) and target.endswith("(deleted)"):
            count += 1
    return count
