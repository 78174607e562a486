"""Nurseries held open across ``__aenter__`` and ``__aexit__``, for the test helpers.

The test helpers (`TestApp`, `WireServer`, a test websocket connection) are ``async with``
blocks that run the app in a nursery of their own, so the nursery is entered in one method
and left in another. `HeldNursery` does that, and leaves it so that tests see exceptions as
themselves rather than wrapped in an ``ExceptionGroup``.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import trio

from trioframe._concurrency import unwrap_exception_group

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from contextlib import AbstractAsyncContextManager
    from types import TracebackType


class HeldNursery:
    """One nursery for one ``async with`` block of ``owner``: opened once, closed once.

    Args:
        owner: What holds it, as error messages name it ("a TestApp").
    """

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._manager: AbstractAsyncContextManager[trio.Nursery] | None = None
        self._nursery: trio.Nursery | None = None

    @property
    def nursery(self) -> trio.Nursery:
        """The open nursery."""
        assert self._nursery is not None  # opened
        return self._nursery

    async def open(self) -> trio.Nursery:
        """Open the nursery (from the owner's ``__aenter__``).

        Raises:
            RuntimeError: it was opened before; each block needs its own owner.
        """
        if self._manager is not None:
            raise RuntimeError(f"{self._owner} can only be entered once")
        self._manager = trio.open_nursery()
        self._nursery = await self._manager.__aenter__()
        return self._nursery

    @asynccontextmanager
    async def opening(self) -> AsyncIterator[trio.Nursery]:
        """Open the nursery for an ``__aenter__`` body; if the body fails, close it again."""
        nursery = await self.open()
        try:
            yield nursery
        except BaseException as error:
            await self.close(type(error), error, error.__traceback__)
            raise

    async def close(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Wait for the nursery's tasks and close it, passing on the block's exception.

        A nursery wraps even a single exception in a group. If the group holds just the
        block's own exception, this returns and lets the owner's ``async with`` carry it on
        unchanged; if it holds one other exception, that is raised as itself; anything more
        stays a group.
        """
        assert self._manager is not None  # opened
        try:
            await self._manager.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            leaf = unwrap_exception_group(group)
            if leaf is group:
                raise
        else:
            return
        if leaf is exc:
            return
        # Raised outside the except block so the test sees the exception, not a group.
        raise leaf
