"""``app.nursery``: the app-wide nursery for background tasks, open while the app serves.

The lifespan handler opens it with `run_background` at startup and closes it at shutdown;
each task runs in an application context of its own, and what a failing task does to the
app is the ``BACKGROUND_TASK_ERRORS`` setting.
"""

from __future__ import annotations

import inspect
from functools import partial
from typing import TYPE_CHECKING, Any

import trio

from ._context import AppContext, hide_connection_contexts
from ._exceptions import OutsideContextError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from ._app import Trioframe


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

        As Trio's ``start_soon``, it takes an async function only; run a plain function with
        `Trioframe.add_background_task`, which runs it in a worker thread.

        Raises:
            OutsideContextError: the app is shutting down.
            TypeError: ``async_fn`` is not an async function.
        """
        self._check_open()
        coroutine = _coroutine_of(async_fn, args)
        self._nursery.start_soon(self._run, name or async_fn, coroutine, name=name or async_fn)

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
    async def _run(self, async_fn: object, coroutine: Coroutine[Any, Any, object]) -> None:
        hide_connection_contexts()
        async with AppContext(self._app):
            try:
                await coroutine
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
        async with AppContext(self._app):
            try:
                await async_fn(*args, task_status=status)
            except Exception as error:
                if not status.called:
                    raise  # the caller of start() gets it, as from a Trio nursery
                self._report(async_fn, error)

    def _report(self, async_fn: object, error: Exception) -> None:
        name = async_fn if isinstance(async_fn, str) else getattr(async_fn, "__qualname__", None)
        name = name or repr(async_fn)
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


def _coroutine_of(async_fn: Callable[..., Awaitable[object]], args: tuple[object, ...]) -> Any:
    """``async_fn(*args)``, refused unless it is a coroutine; a plain function is refused
    before it runs.

    Raises:
        TypeError: ``async_fn`` is not an async function.
    """
    inner: object = async_fn
    while isinstance(inner, partial):
        inner = inner.func
    plain = inspect.isfunction(inner) or inspect.ismethod(inner) or inspect.isbuiltin(inner)
    coroutine = None if plain and not inspect.iscoroutinefunction(inner) else async_fn(*args)
    if not inspect.iscoroutine(coroutine):
        name = getattr(inner, "__qualname__", repr(inner))
        raise TypeError(
            f"app.nursery.start_soon() takes an async function, and {name} is not one; run a "
            f"plain function with app.add_background_task({name}, ...), in a worker thread"
        )
    return coroutine


@trio.lowlevel.enable_ki_protection
async def run_background(
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
