"""trioframe's Trio idioms, by direct calls: they are plain helpers with no app."""

from __future__ import annotations

import logging
import types
from typing import TYPE_CHECKING

import pytest
import trio
import trio.testing

from trioframe._concurrency import (
    CLEANUP_TIMEOUTS_S,
    ConflictDetector,
    LoneError,
    bounded_cleanup,
    calling_before_first_wait,
    single_errors_unwrapped,
)

if TYPE_CHECKING:
    from collections.abc import Generator


def test_waiting_is_passed_through_both_ways() -> None:
    # Trio resumes tasks with send(); whatever is thrown in instead reaches the view too.
    @types.coroutine
    def view() -> Generator[str, str, str]:
        try:
            resumed = yield "first wait"
        except KeyError:
            return "gave up"
        try:
            resumed += yield "second wait"
        except KeyError:
            resumed += yield "third wait"
        return resumed

    waits: list[str] = []
    driver = calling_before_first_wait(view(), lambda: waits.append("started"))
    assert driver.send(None) == "first wait"
    assert waits == ["started"]
    assert driver.send("a") == "second wait"
    assert driver.throw(KeyError()) == "third wait"
    with pytest.raises(StopIteration) as finished:
        driver.send("b")
    assert finished.value.value == "ab"
    assert waits == ["started"]

    driver = calling_before_first_wait(view(), lambda: None)
    driver.send(None)
    with pytest.raises(StopIteration) as finished:
        driver.throw(KeyError())
    assert finished.value.value == "gave up"


def fail() -> None:
    raise KeyError("the body's own")


async def body_failing_beside_a_helper() -> None:
    lone = LoneError()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.sleep_forever)
        with lone.caught():
            try:
                fail()
            finally:
                nursery.cancel_scope.cancel()
    lone.reraise()


async def test_a_lone_error_leaves_the_nursery_bare() -> None:
    with pytest.raises(KeyError) as raised:
        await body_failing_beside_a_helper()
    assert not isinstance(raised.value, BaseExceptionGroup)

    nothing = LoneError()
    with nothing.caught():
        pass
    nothing.reraise()  # no error kept: returns


async def test_a_lone_error_does_not_catch_cancellation() -> None:
    lone = LoneError()
    with trio.CancelScope() as scope:
        scope.cancel()
        with lone.caught():
            await trio.lowlevel.checkpoint()
    assert scope.cancelled_caught
    assert lone.error is None


def test_single_errors_unwrapped_keeps_groups_of_several() -> None:
    with pytest.raises(ValueError, match="one"), single_errors_unwrapped():
        raise ExceptionGroup("outer", [ExceptionGroup("inner", [ValueError("one")])])
    with pytest.raises(ExceptionGroup), single_errors_unwrapped():
        raise ExceptionGroup("two", [ValueError("a"), KeyError("b")])


async def test_bounded_cleanup_runs_shielded_and_is_cut_off_and_logged(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("cleanup-test")
    finished = []
    with trio.CancelScope() as outer:
        outer.cancel()  # the cleanup runs in a task that is being cancelled
        with bounded_cleanup("websocket close", logger, "closing %s took over %s s", "x"):
            await trio.sleep(1)
            finished.append(trio.current_time())
    assert finished == [pytest.approx(1)]  # shielded: the outer cancel did not stop it
    assert caplog.records == []

    start = trio.current_time()
    with bounded_cleanup("teardown", logger, "teardown of %s took over %s s", "y") as scope:
        await trio.sleep(3600)
    assert scope.cancelled_caught
    assert trio.current_time() - start == pytest.approx(CLEANUP_TIMEOUTS_S["teardown"])
    assert caplog.messages == ["teardown of y took over 10.0 s"]


async def test_a_conflict_detector_refuses_a_second_task() -> None:
    detector = ConflictDetector("only one reader; pass messages through a channel")
    inside = trio.Event()

    async def first() -> None:
        with detector:
            inside.set()
            await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(first)
        await inside.wait()
        with pytest.raises(trio.BusyResourceError, match="pass messages through a channel"):
            detector.__enter__()
        nursery.cancel_scope.cancel()
    with detector:  # free again once the first task left
        pass
