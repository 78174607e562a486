"""Flask's and Quart's helpers for the context: `after_this_request`, the
``copy_current_*_context`` decorators and `stream_with_context`.

Trio tasks inherit the context of the task that starts them, and a response body is sent
in its request's own task, so in trioframe these are rarely needed; they exist so that code
written for Flask or Quart runs unchanged. Each captures the active context when it is
called and refuses, with `OutsideContextError`, where there is none, as Quart does.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, TypeVar

from ._context import (
    activated,
    current_app_context,
    current_request_context,
    current_websocket_context,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from ._context import AppContext, ConnectionContext
    from ._types import AfterRequestCallable

F = TypeVar("F", bound="Callable[..., Any]")
T_after = TypeVar("T_after", bound="AfterRequestCallable")


def after_this_request(func: T_after) -> T_after:
    """Run ``func(response)`` on this request's response only, before the ``after_request``
    functions; it returns the response to send.

    Raises:
        OutsideContextError: there is no request context.
    """
    current_request_context().after_request_functions.append(func)
    return func


def copy_current_app_context(func: F) -> F:
    """Decorate ``func`` to run in the application context active now, wherever it is
    called later (another task, a worker thread).

    Raises:
        OutsideContextError: there is no application context.
    """
    return _running_in(func, current_app_context())


def copy_current_request_context(func: F) -> F:
    """Decorate ``func`` to run in the request context active now, wherever it is called
    later; ``request``, ``session`` and ``g`` are this request's there.

    Raises:
        OutsideContextError: there is no request context.
    """
    return _running_in(func, current_request_context())


def copy_current_websocket_context(func: F) -> F:
    """Decorate ``func`` to run in the websocket context active now, wherever it is
    called later.

    Raises:
        OutsideContextError: there is no websocket context.
    """
    return _running_in(func, current_websocket_context())


def stream_with_context(func: F) -> F:
    """Decorate an async generator function so that its generator runs in the request
    context active now, even if it is read after the view returned (trioframe sends a
    body in the request's own task, where it is active anyway).

    Raises:
        OutsideContextError: there is no request context.
        TypeError: ``func`` is not an async generator function.
    """
    if not inspect.isasyncgenfunction(func):
        raise TypeError(
            f"stream_with_context() takes an async generator function, not {func!r}; "
            "write the body as 'async def ...: yield ...'"
        )
    request_context = current_request_context()

    @functools.wraps(func)
    async def in_context(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        chunks = func(*args, **kwargs)
        try:
            while True:
                # The context is active while the generator runs, never across a yield, so
                # the reader's own context is not changed.
                with activated(request_context):
                    try:
                        chunk = await anext(chunks)
                    except StopAsyncIteration:
                        return
                yield chunk
        finally:
            with activated(request_context):
                await chunks.aclose()

    return in_context  # type: ignore[return-value]  # the same call, in the context


def _running_in(func: F, context: AppContext | ConnectionContext) -> F:
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            with activated(context):
                return await func(*args, **kwargs)

        return run_async  # type: ignore[return-value]  # the same call, in the context

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        with activated(context):
            return func(*args, **kwargs)

    return run  # type: ignore[return-value]  # the same call, in the context
