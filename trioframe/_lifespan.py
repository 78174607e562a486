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

import inspect
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import trio

from ._concurrency import wait_any
from ._context import AppContext, hide_connection_contexts
from ._exceptions import OutsideContextError, SetupError
from ._scaffold import call_maybe_async

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Awaitable, Callable

    from ._app import Trioframe
    from ._types import (
        ASGIReceive,
        ASGISend,
        LifespanScope,
        LifespanShutdownCompleteEvent,
        LifespanShutdownFailedEvent,
        LifespanStartupCompleteEvent,
        LifespanStartupFailedEvent,
    )

#: What a failing background task does to the app: ``"stop"`` it, or only ``"log"``.
BACKGROUND_TASK_POLICIES = ("stop", "log")


class AppNursery:
    """``app.nursery``: where background tasks run while the app is serving.

    ``start_soon`` and ``start`` work as on a Trio nursery. Each task runs in an
    application context (``current_app`` and a fresh ``g``), not in the request it was
    started from. Tasks are cancelled when the app shuts down. A task that raises is
    logged, and unless ``BACKGROUND_TASK_ERRORS`` is ``"log"`` the app stops.
    """

    def __init__(self, app: Trioframe, nursery: trio.Nursery, finished: trio.Event) -> None:
        self._app = app
        self._nursery = nursery
        self._stop_policy = app.config["BACKGROUND_TASK_ERRORS"] == "stop"
        self._stopping = trio.Event()
        self._finished = finished
        self._failed = trio.Event()
        #: The first error that stops the app, if one did.
        self.failure: Exception | None = None

    def start_soon(
        self, async_fn: Callable[..., Awaitable[object]], *args: object, name: object = None
    ) -> None:
        """Start ``async_fn(*args)`` in the background and return at once.

        Raises:
            OutsideContextError: the app is shutting down.
        """
        self._check_open()
        self._nursery.start_soon(self._run, async_fn, *args, name=name or async_fn)

    async def start(
        self, async_fn: Callable[..., Awaitable[object]], *args: object, name: object = None
    ) -> Any:
        """Start ``async_fn(*args, task_status=...)`` and wait until it calls ``started()``.

        Returns:
            The value the task passed to ``task_status.started()``.

        Raises:
            OutsideContextError: the app is shutting down.
            Exception: what the task raised before it called ``started()``.
        """
        self._check_open()
        return await self._nursery.start(
            partial(self._run_started, async_fn), *args, name=name or async_fn
        )

    def _check_open(self) -> None:
        if self._stopping.is_set():
            raise OutsideContextError(
                "app.nursery is closed: the app is shutting down, and a task started now would "
                "only be cancelled; start background tasks from before_serving, a "
                "while_serving function before its yield, or a view"
            )

    # Background tasks are tasks of their own: see Trioframe.__call__ for KI protection.
    @trio.lowlevel.enable_ki_protection
    async def _run(self, async_fn: Callable[..., Awaitable[object]], *args: object) -> None:
        hide_connection_contexts()
        with AppContext(self._app):
            try:
                await async_fn(*args)
            except Exception as error:
                self._report(async_fn, error)

    @trio.lowlevel.enable_ki_protection
    async def _run_started(
        self,
        async_fn: Callable[..., Awaitable[object]],
        *args: object,
        task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        hide_connection_contexts()
        status = _TrackedStatus(task_status)
        with AppContext(self._app):
            try:
                await async_fn(*args, task_status=status)
            except Exception as error:
                if not status.called:
                    raise  # the caller of start() gets it, as from a Trio nursery
                self._report(async_fn, error)

    def _report(self, async_fn: object, error: Exception) -> None:
        name = getattr(async_fn, "__qualname__", repr(async_fn))
        if self._stop_policy:
            self._app.logger.error(
                "Background task %s failed; stopping the app", name, exc_info=error
            )
            if self.failure is None:
                self.failure = error
                self._failed.set()
        else:
            self._app.logger.error("Background task %s failed", name, exc_info=error)

    async def wait_failed(self) -> None:
        """Wait until a task fails in a way that stops the app."""
        await self._failed.wait()

    def stop(self) -> None:
        """Cancel every background task, and refuse new ones."""
        self._stopping.set()

    async def stop_and_wait(self) -> None:
        """Cancel every background task and wait until they have all finished."""
        self.stop()
        await self._finished.wait()

    async def wait_stop_requested(self) -> None:
        """Wait until `stop` is called."""
        await self._stopping.wait()


class _TrackedStatus:
    """Passes ``started()`` on to Trio and remembers that it was called."""

    def __init__(self, status: trio.TaskStatus[Any]) -> None:
        self._status = status
        self.called = False

    def started(self, value: Any = None) -> None:
        self.called = True
        self._status.started(value)


@trio.lowlevel.enable_ki_protection
async def _run_background(
    app: Trioframe, *, task_status: trio.TaskStatus[AppNursery] = trio.TASK_STATUS_IGNORED
) -> None:
    finished = trio.Event()
    try:
        async with trio.open_nursery() as nursery:
            background = AppNursery(app, nursery, finished)
            task_status.started(background)
            await background.wait_stop_requested()
            nursery.cancel_scope.cancel()
    finally:
        # Only now, with the nursery closed, have all background tasks finished.
        finished.set()


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
    try:
        _check_settings(app)
        app._begin_serving()
    except SetupError as error:
        # Reported, not only raised: hypercorn would otherwise serve on without lifespan.
        await _fail_startup(app, send, error)
        raise
    propagating: Exception | None = None
    try:
        async with trio.open_nursery() as lifetime:
            background: AppNursery = await lifetime.start(_run_background, app)
            app._app_nursery = background
            try:
                await _live(app, background, receive, send)
            except Exception as error:
                # Re-raised below, outside the nursery, so the server sees it and not a group.
                propagating = error
            finally:
                background.stop()
    finally:
        app._end_serving()
    if propagating is not None:
        raise propagating


def _check_settings(app: Trioframe) -> None:
    policy = app.config["BACKGROUND_TASK_ERRORS"]
    if policy not in BACKGROUND_TASK_POLICIES:
        raise SetupError(
            f"BACKGROUND_TASK_ERRORS is {policy!r}; set it to 'stop' (a failing background "
            "task stops the app) or 'log' (it is only logged)"
        )


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


def check_while_serving(func: object) -> None:
    """Refuse a ``while_serving`` function that is not an async generator function.

    Raises:
        SetupError: it is not.
    """
    if not inspect.isasyncgenfunction(func):
        raise SetupError(
            f"while_serving needs an async generator function (async def with one yield), "
            f"not {func!r}"
        )
