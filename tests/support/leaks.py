"""What a test checks was left behind: tasks still alive, temporary files still open."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from collections.abc import Iterator


class TaskCounter(trio.abc.Instrument):
    """Counts the tasks alive among those spawned since it was added."""

    def __init__(self) -> None:
        self.alive: set[trio.lowlevel.Task] = set()

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        self.alive.add(task)

    def task_exited(self, task: trio.lowlevel.Task) -> None:
        self.alive.discard(task)


@contextmanager
def counting_tasks() -> Iterator[TaskCounter]:
    """Count the tasks spawned inside the block that are still alive."""
    counter = TaskCounter()
    trio.lowlevel.add_instrument(counter)
    try:
        yield counter
    finally:
        trio.lowlevel.remove_instrument(counter)


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
