"""How long the test client waits for the app before failing the test instead of hanging.

The wait is on Trio's clock, so under pytest-trio's ``autojump_clock`` a test whose app
waits for something that never comes fails at once: the clock jumps to the deadline.
"""

from __future__ import annotations

from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

import trio

if TYPE_CHECKING:
    from collections.abc import Iterator


class _Default(Enum):
    DEFAULT = "the client's timeout"


#: Marks a ``timeout`` argument that was not given: the client's own applies.
DEFAULT: Final = _Default.DEFAULT
#: A ``timeout`` argument: seconds, ``None`` for no limit, or `DEFAULT`.
Timeout: TypeAlias = float | Literal[_Default.DEFAULT] | None


def given_or(timeout: Timeout, default: float | None) -> float | None:
    """``timeout``, or ``default`` where it was not given."""
    return default if timeout is DEFAULT else timeout


@contextmanager
def waiting_for(what: str, timeout: float | None) -> Iterator[None]:
    """Cancel the block after ``timeout`` seconds and raise `trio.TooSlowError` naming
    ``what`` was awaited; ``None`` waits for ever."""
    if timeout is None:
        yield
        return
    with trio.move_on_after(timeout) as scope:
        yield
    if scope.cancelled_caught:
        raise trio.TooSlowError(
            f"{what} within {timeout:g} s (on Trio's clock); the app may be waiting for "
            "something the test never sends, or pass a longer timeout (None waits for ever)"
        )
