"""Trio idioms trioframe relies on, each written once with its reasons.

- `calling_before_first_wait` runs a coroutine in the calling task and tells the caller just
  before it first yields to the scheduler. The HTTP handler uses it to start a request's
  body pump only for views that wait for something, so a view that answers at once costs
  no task.
- `wait_any` waits until the first of several waits is over, the others cancelled.
- `checkpointing` makes any server call a Trio checkpoint. Trio's rule is that every
  awaitable operation may be cancelled and lets other tasks run; an ASGI server does not
  promise that (hypercorn's ``send`` on a closed websocket returns without yielding), and a
  handler looping on such a call would starve the whole server, the task that would tell
  it the client left included.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

import trio

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator

T = TypeVar("T")
P = ParamSpec("P")


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
