"""``app.nursery`` and ``app.add_background_task``, driven through the test client's
``app.test_app()``: what they accept, where the work runs, and what a failure does."""

from __future__ import annotations

import threading
from functools import partial

import pytest
import trio

from tests.support.loopback import WAIT_S
from trioframe import Trioframe, current_app


def tally(results: list[str], label: str) -> None:
    results.append(label)


async def test_start_soon_refuses_a_plain_function_before_running_it(app: Trioframe) -> None:
    ran: list[str] = []
    async with app.test_app():
        for plain in (tally, partial(tally, ran)):
            with pytest.raises(TypeError, match=r"add_background_task\(tally, \.\.\.\)"):
                app.nursery.start_soon(plain, ran, "too soon")  # type: ignore[arg-type]
        assert ran == []
        # The app goes on serving: the refusal stopped nothing.
        assert (await app.test_client().get("/nowhere")).status_code == 404


async def test_start_soon_refuses_what_does_not_give_a_coroutine(app: Trioframe) -> None:
    class Callable:
        def __call__(self) -> str:
            return "not a coroutine"

    async with app.test_app():
        with pytest.raises(TypeError, match="takes an async function"):
            app.nursery.start_soon(Callable())  # type: ignore[arg-type]


async def test_add_background_task_runs_a_plain_function_in_a_thread(app: Trioframe) -> None:
    seen: list[object] = []
    release, finished = threading.Event(), threading.Event()
    main_thread = threading.current_thread()

    def blocking_report(label: str, *, to: list[object]) -> None:
        release.wait(WAIT_S)  # blocks its own thread only
        to.append((label, current_app.name, threading.current_thread() is main_thread))
        finished.set()

    async with app.test_app():
        app.add_background_task(blocking_report, "report", to=seen)
        # The app serves while the function blocks.
        assert (await app.test_client().get("/nowhere")).status_code == 404
        release.set()
        await trio.to_thread.run_sync(finished.wait)
    assert seen == [("report", app.name, False)]


async def test_add_background_task_runs_an_async_function_in_a_task(app: Trioframe) -> None:
    seen = trio.Event()

    async def note(label: str, *, then: trio.Event) -> None:
        assert label == "async"
        then.set()

    async with app.test_app():
        app.add_background_task(note, "async", then=seen)
        with trio.fail_after(WAIT_S):
            await seen.wait()


async def test_a_failing_plain_background_task_stops_the_app_by_its_name(
    app: Trioframe, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise ValueError("out of paper")

    async def serve_until_it_fails() -> None:
        async with app.test_app():
            app.add_background_task(broken)
            await trio.sleep_forever()  # cancelled when the task fails

    with trio.fail_after(WAIT_S), pytest.raises(ValueError, match="out of paper"):
        await serve_until_it_fails()
    assert "Background task " + broken.__qualname__ + " failed" in caplog.text
