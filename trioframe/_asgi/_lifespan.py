"""The lifespan handler: startup and shutdown hooks, and the app nursery between them.

How serving starts and stops:

1. On ``lifespan.startup`` the app nursery opens, ``before_serving`` functions run, and
   ``while_serving`` generators run up to their ``yield``. If one fails, the generators
   already started are unwound and the server hears ``lifespan.startup.failed`` (hypercorn
   then exits with an error).
2. While serving, ``app.nursery`` holds background tasks. Each runs in an application
   context. One that fails is logged; with ``BACKGROUND_TASK_ERRORS = "stop"`` (the
   default) it also stops the app: the shutdown below runs at once and the server hears
   ``lifespan.shutdown.failed``, the one message that makes it stop.
3. On ``lifespan.shutdown`` (or that failure) background tasks are cancelled, then the
   ``while_serving`` generators finish in reverse order and ``after_serving`` functions run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import trio

from trioframe._background import AppNursery, run_background
from trioframe._concurrency import LoneError, call_maybe_async, wait_any
from trioframe._config import checked_setting
from trioframe._exceptions import SetupError

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from trioframe._app import Trioframe
    from trioframe._types import (
        ASGIReceive,
        ASGISend,
        LifespanScope,
        LifespanShutdownCompleteEvent,
        LifespanShutdownFailedEvent,
        LifespanStartupCompleteEvent,
        LifespanStartupFailedEvent,
    )


async def handle_lifespan(
    app: Trioframe, scope: LifespanScope, receive: ASGIReceive, send: ASGISend
) -> None:
    """Run the app's whole serving life: startup, serving, shutdown.

    Raises:
        SetupError: the settings are invalid, or the app is already serving.
        Exception: a startup, shutdown or background-task failure, after it was reported to
            the server (hypercorn raises its own error from ``send`` for it first).
    """
    message = await receive()
    if message["type"] != "lifespan.startup":
        return
    state = app.serving_state
    try:
        checked_setting(app.config, "BACKGROUND_TASK_ERRORS")
        state.begin()
    except SetupError as error:
        # Reported, not only raised: hypercorn would otherwise serve on without lifespan.
        await _fail_startup(app, send, error)
        raise
    lone = LoneError()  # the server sees the error, not a group
    try:
        async with trio.open_nursery() as lifetime:
            background: AppNursery = await lifetime.start(run_background, app)
            state.open_nursery(background)
            with lone.caught():
                try:
                    await _live(app, background, receive, send)
                finally:
                    background.stop()
    finally:
        state.end()
    lone.reraise()


async def _fail_startup(app: Trioframe, send: ASGISend, error: Exception) -> None:
    app.logger.error("The app failed to start", exc_info=error)
    failed: LifespanStartupFailedEvent = {
        "type": "lifespan.startup.failed",
        "message": _describe(error),
    }
    await send(failed)


async def _live(
    app: Trioframe, background: AppNursery, receive: ASGIReceive, send: ASGISend
) -> None:
    generators: list[AsyncGenerator[None, None]] = []
    try:
        await _start(app, generators)
    except Exception as error:
        await background.stop_and_wait()
        await _unwind(app, generators)
        await _fail_startup(app, send, error)
        raise
    started: LifespanStartupCompleteEvent = {"type": "lifespan.startup.complete"}
    await send(started)

    # The server's lifespan.shutdown, or a background failure that stops the app.
    await wait_any(receive, background.wait_failed)
    await background.stop_and_wait()
    shutdown_error = await _unwind(app, generators)
    for after in app.after_serving_funcs:
        try:
            await call_maybe_async(after)
        except Exception as hook_error:
            app.logger.error(
                "Error in after_serving function %s", after.__qualname__, exc_info=hook_error
            )
            shutdown_error = shutdown_error or hook_error
    problem = background.failure or shutdown_error
    if problem is not None:
        reason = "a background task failed" if background.failure else "shutdown failed"
        stopped: LifespanShutdownFailedEvent = {
            "type": "lifespan.shutdown.failed",
            "message": f"{reason}: {_describe(problem)}",
        }
        await send(stopped)
        raise problem
    done: LifespanShutdownCompleteEvent = {"type": "lifespan.shutdown.complete"}
    await send(done)


async def _start(app: Trioframe, generators: list[AsyncGenerator[None, None]]) -> None:
    for before in app.before_serving_funcs:
        await call_maybe_async(before)
    for while_serving in app.while_serving_funcs:
        # An async generator function: while_serving() checked that at registration.
        generator = cast("AsyncGenerator[None, None]", while_serving())
        try:
            await anext(generator)
        except StopAsyncIteration:
            raise SetupError(
                f"The while_serving function {while_serving.__qualname__} ended without "
                "yielding; it must yield exactly once, where the app serves"
            ) from None
        generators.append(generator)


async def _unwind(app: Trioframe, generators: list[AsyncGenerator[None, None]]) -> Exception | None:
    """Run the code after each started ``while_serving`` generator's ``yield``, newest first."""
    first_error: Exception | None = None
    while generators:
        generator = generators.pop()
        try:
            await anext(generator)
        except StopAsyncIteration:
            continue
        except Exception as error:
            app.logger.error("Error in a while_serving function", exc_info=error)
            first_error = first_error or error
            continue
        await generator.aclose()
        misuse = RuntimeError(
            f"The while_serving function {_generator_name(generator)} yielded more than once; "
            "it must yield exactly once"
        )
        app.logger.error("%s", misuse)
        first_error = first_error or misuse
    return first_error


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _generator_name(generator: AsyncGenerator[None, None]) -> str:
    code = getattr(generator, "ag_code", None)
    return code.co_qualname if code is not None else repr(generator)
