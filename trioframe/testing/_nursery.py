"""Leaving a nursery entered by hand, so tests see exceptions as themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trioframe._exceptions import unwrap_exception_group

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager
    from types import TracebackType

    import trio


async def exit_nursery(
    manager: AbstractAsyncContextManager[trio.Nursery],
    exc_type: type[BaseException] | None,
    exc: BaseException | None,
    tb: TracebackType | None,
) -> None:
    """Exit ``manager`` (a nursery entered with ``__aenter__``), passing the body's exception.

    A nursery wraps even a single exception in a group. If the group holds just the body's
    own exception, this returns and lets the caller's ``async with`` carry it on unchanged;
    if it holds one other exception, that is raised as itself; anything more stays a group.
    """
    try:
        await manager.__aexit__(exc_type, exc, tb)
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
