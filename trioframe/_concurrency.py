"""Trio idioms trioframe relies on, each written once with its reasons and trade-offs.

Errors out of nurseries
    A nursery wraps even one failure in an ``ExceptionGroup``. Where trioframe's caller
    (a server, a test, an error handler) must see the error itself, `LoneError` carries
    the body's error past the nursery's exit and raises it bare, and
    `single_errors_unwrapped` / `unwrap_exception_group` turn a group of one into its
    member. Groups of several stay groups: flattening them would hide failures.

Cleanup that awaits
    `bounded_cleanup` shields cleanup from the cancellation that usually triggers it,
    bounds it by the one table of timeouts, `CLEANUP_TIMEOUTS_S`, and logs a cleanup that
    ran out of time. Shielded but unbounded cleanup could hold a shutdown for ever;
    unshielded cleanup would not run at all in a cancelled task.

One caller at a time
    `ConflictDetector` raises ``trio.BusyResourceError`` when two tasks use what only one
    may (a websocket's ``receive()``, a request body), as Trio's own streams do, instead
    of interleaving them silently.

Sync or async user code
    `call_maybe_async` awaits a coroutine function and runs anything else in a worker
    thread, so a blocking ``def`` hook or view never stalls the event loop.

Worker threads under a test's autojump clock
    Trio's autojump clock takes a task that waits for a worker thread for an idle one and
    jumps to the next deadline, so a test client's timeout would fire while a template
    loads or a file is read. Every thread trioframe starts goes through `in_thread`, which
    holds such a clock still while the thread works; threads take no time on a mock clock
    anyway.

Starting work only when needed
    `calling_before_first_wait` drives a coroutine by hand in the calling task and says
    just before it first yields to the scheduler. The HTTP handler uses it to start a
    request's body pump only for views that wait for something, so a view that answers at
    once costs no task. The price is a hand-written ``yield from`` loop; a task or a
    ``trio.lowlevel`` hook would cost every request more.

Races and checkpoints
    `wait_any` waits until the first of several waits is over, the others cancelled.
    `checkpointing` makes any server call a Trio checkpoint. Trio's rule is that every
    awaitable operation may be cancelled and lets other tasks run; an ASGI server does not
    promise that (hypercorn's ``send`` on a closed websocket returns without yielding), and
    a handler looping on such a call would starve the whole server, the task that would
    tell it the client left included.
"""

from __future__ import annotations

import inspect
import math
import types
import weakref
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, Self, TypeVar, cast, overload

import trio
import trio.testing

if TYPE_CHECKING:
    import logging
    from collections.abc import Awaitable, Callable, Generator, Iterator
    from types import TracebackType

T = TypeVar("T")
P = ParamSpec("P")

CleanupKind = Literal["teardown", "websocket close", "body close"]
#: How long each kind of shielded cleanup may take, in seconds.
CLEANUP_TIMEOUTS_S: dict[CleanupKind, float] = {
    # teardown_request and teardown_websocket functions: user code, maybe a database call.
    "teardown": 10.0,
    # Telling a websocket client how its connection ended (a close, a refusal's body): a
    # client too slow to take it gets no more time than for a message.
    "websocket close": 5.0,
    # Closing a streaming body (a generator's finally blocks, a file, an SSE iterator).
    "body close": 5.0,
}


@overload
def unwrap_exception_group(error: Exception) -> Exception: ...
@overload
def unwrap_exception_group(error: BaseException) -> BaseException: ...
def unwrap_exception_group(error: BaseException) -> BaseException:
    """The single exception inside nested one-member groups, or ``error`` itself.

    A nursery wraps even one failure in an ``ExceptionGroup``; error handlers and tests
    should see what the user raised.
    """
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


@contextmanager
def single_errors_unwrapped() -> Iterator[None]:
    """Let a group of one exception (nested groups too) out of the block as that exception;
    a group of several passes unchanged. For nurseries whose caller wants what failed."""
    try:
        yield
    except BaseExceptionGroup as group:
        error = unwrap_exception_group(group)
        if error is group:
            raise
        raise error from None


class LoneError:
    """Carries the error of a nursery's body past the nursery, to be raised bare.

    For a body whose ``Exception`` is the caller's business while the nursery's other
    tasks only serve it (a body pump, a message reader)::

        lone = LoneError()
        async with trio.open_nursery() as nursery:
            with lone.caught():
                ...
        lone.reraise()

    Only ``Exception`` is carried: ``Cancelled`` and ``KeyboardInterrupt`` go through the
    nursery as usual.
    """

    __slots__ = ("error",)

    def __init__(self) -> None:
        self.error: Exception | None = None

    def caught(self) -> Self:
        """Keep an ``Exception`` raised in the block, to be raised by `reraise`."""
        # A plain context manager rather than @contextmanager: this wraps every request,
        # and a generator per request costs several thousand instructions.
        return self

    def __enter__(self) -> None:
        pass

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if isinstance(exc, Exception):
            self.error = exc
            return True
        return False

    def reraise(self) -> None:
        """Raise the kept error, if there is one."""
        if self.error is not None:
            raise self.error


@contextmanager
def bounded_cleanup(
    kind: CleanupKind, logger: logging.Logger | None = None, message: str = "", *args: object
) -> Iterator[trio.CancelScope]:
    """Run the block shielded from cancellation for at most ``CLEANUP_TIMEOUTS_S[kind]``.

    If the time runs out, the block is cancelled and ``logger`` (if given) gets the warning
    ``message % (*args, timeout)``.
    """
    timeout = CLEANUP_TIMEOUTS_S[kind]
    with trio.move_on_after(timeout, shield=True) as scope:
        yield scope
    if scope.cancelled_caught and logger is not None:
        logger.warning(message, *args, timeout)


class ConflictDetector:
    """``with detector:`` around an operation only one task may run at a time.

    Raises:
        trio.BusyResourceError: another task is inside already; the message says what to
            do. ``error`` may name a subclass, to keep an older exception type too.
    """

    __slots__ = ("_busy", "_error", "_message")

    def __init__(
        self, message: str, *, error: type[trio.BusyResourceError] = trio.BusyResourceError
    ) -> None:
        self._message = message
        self._error = error
        self._busy = False

    def __enter__(self) -> Self:
        if self._busy:
            raise self._error(self._message)
        self._busy = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._busy = False


async def call_maybe_async(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Await ``func`` if it is a coroutine function; otherwise run it in a worker thread.

    An async generator function is called directly: its generator is a streaming body.
    Threads come from Trio's default limiter, shared by the whole process, and see the
    caller's context (``request``, ``g``). Cancelling waits for a running thread to finish.
    """
    if inspect.iscoroutinefunction(func):
        return await func(*args, **kwargs)
    if inspect.isasyncgenfunction(func):
        await trio.lowlevel.checkpoint()
        return func(*args, **kwargs)
    return await in_thread(partial(func, *args, **kwargs))


async def in_thread(func: Callable[[], T], *, abandon_on_cancel: bool = False) -> T:
    """``trio.to_thread.run_sync(func)``, with a test's autojump clock held meanwhile."""
    with _autojump_held():
        return await trio.to_thread.run_sync(func, abandon_on_cancel=abandon_on_cancel)


# Each autojump clock held by some thread: how many hold it, and its own threshold.
_held_clocks: weakref.WeakKeyDictionary[trio.testing.MockClock, tuple[int, float]] = (
    weakref.WeakKeyDictionary()
)


@contextmanager
def _autojump_held() -> Iterator[None]:
    """Keep an autojump clock, if the run has one, from jumping while the block waits
    for a worker thread."""
    clock = trio.lowlevel.current_clock()
    if not isinstance(clock, trio.testing.MockClock) or (
        clock not in _held_clocks and clock.autojump_threshold == math.inf
    ):
        yield
        return
    holders, threshold = _held_clocks.get(clock, (0, clock.autojump_threshold))
    _held_clocks[clock] = (holders + 1, threshold)
    clock.autojump_threshold = math.inf
    try:
        yield
    finally:
        holders, threshold = _held_clocks.pop(clock)
        if holders > 1:
            _held_clocks[clock] = (holders - 1, threshold)
        else:
            clock.autojump_threshold = threshold


@types.coroutine
def calling_before_first_wait(
    awaitable: Awaitable[T], before_first_wait: Callable[[], None]
) -> Generator[Any, Any, T]:
    """Await ``awaitable`` in this task, calling ``before_first_wait()`` just before it first
    yields to the scheduler; if it finishes without waiting, it is never called."""
    # A generator-based coroutine (``@types.coroutine``) has no __await__: it is its own.
    await_method = getattr(awaitable, "__await__", None)
    steps = cast("Generator[Any, Any, T]", awaitable if await_method is None else await_method())
    try:
        trap = steps.send(None)
    except StopIteration as done:
        return cast("T", done.value)
    before_first_wait()
    # From here on, what ``yield from`` does; that cannot resume an iterator already started.
    while True:
        try:
            resumed = yield trap
        except BaseException as thrown:  # Cancelled and the rest go to the awaitable
            try:
                trap = steps.throw(thrown)
            except StopIteration as done:
                return cast("T", done.value)
        else:
            try:
                trap = steps.send(resumed)
            except StopIteration as done:
                return cast("T", done.value)


def checkpointing(call: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """``call`` (an ASGI ``send`` or ``receive``) made a full Trio checkpoint each time,
    whatever it does itself.

    Cancellation is checked first, so a cancelled task does not start the operation; if
    the operation then finishes without yielding, the task yields once afterwards (shielded:
    the operation has happened, so it must not be reported as cancelled). Whether it yielded
    is read from the task's count of schedule points, the count ``trio.testing``'s
    ``assert_checkpoints`` reads: this runs for every message, and driving the call through
    a generator to watch it yield would cost each one several microseconds.
    """

    async def checkpointing_call(*args: P.args, **kwargs: P.kwargs) -> T:
        await trio.lowlevel.checkpoint_if_cancelled()
        task = trio.lowlevel.current_task()
        schedule_points = getattr(task, "_schedule_points", None)
        result = await call(*args, **kwargs)
        if schedule_points is None or schedule_points == task._schedule_points:
            await trio.lowlevel.cancel_shielded_checkpoint()
        return result

    return checkpointing_call


async def wait_any(*waits: Callable[[], Awaitable[object]]) -> None:
    """Wait until the first of ``waits`` returns; the others are cancelled."""
    async with trio.open_nursery() as race:
        # Tasks of their own: KeyboardInterrupt goes to the main task (see Trioframe.__call__).
        @trio.lowlevel.enable_ki_protection
        async def then_stop(wait: Callable[[], Awaitable[object]]) -> None:
            await wait()
            race.cancel_scope.cancel()

        for wait in waits:
            race.start_soon(then_stop, wait)
