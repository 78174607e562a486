"""The lifespan handler through the test client's ``app.test_app()`` and a scripted ASGI peer:
hooks, the app nursery, startup and shutdown failures."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing

from trioframe import (
    OutsideContextError,
    SetupError,
    Trioframe,
    current_app,
    g,
    has_request_context,
    request,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class LifespanServer:
    """The server side of an ASGI lifespan, as a test drives it."""

    def __init__(self) -> None:
        self.to_app, self._inbox = trio.open_memory_channel[dict[str, Any]](2)
        self._outbox, self.from_app = trio.open_memory_channel[dict[str, Any]](2)

    async def receive(self) -> dict[str, Any]:
        return await self._inbox.receive()

    async def send(self, message: dict[str, Any]) -> None:
        await self._outbox.send(message)


SCOPE = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}


async def test_hooks_run_in_order_around_serving(app: Trioframe) -> None:
    events: list[str] = []

    @app.before_serving
    async def first() -> None:
        events.append("before 1")

    @app.before_serving
    def second() -> None:  # a plain function runs in a worker thread
        events.append("before 2")

    @app.while_serving
    async def outer() -> AsyncIterator[None]:
        events.append("outer up")
        yield
        events.append("outer down")

    @app.while_serving
    async def inner() -> AsyncIterator[None]:
        events.append("inner up")
        yield
        events.append("inner down")

    @app.after_serving
    async def last() -> None:
        events.append("after")

    async with app.test_app():
        events.append("serving")
    assert events == [
        "before 1",
        "before 2",
        "outer up",
        "inner up",
        "serving",
        "inner down",
        "outer down",
        "after",
    ]


async def test_the_app_nursery_runs_background_tasks(app: Trioframe) -> None:
    events: list[str] = []
    ticks = trio.Event()

    async def heartbeat(label: str) -> None:
        try:
            g.label = label  # an application context of its own
            events.append(f"{current_app.name} {g.label}")
            ticks.set()
            await trio.sleep_forever()
        finally:
            events.append("heartbeat cancelled")

    @app.before_serving
    async def start_heartbeat() -> None:
        app.nursery.start_soon(heartbeat, "beat")

    @app.after_serving
    async def check() -> None:
        events.append("after serving")  # background tasks have ended by now

    async with app.test_app():
        await ticks.wait()
    assert events == ["tests beat", "heartbeat cancelled", "after serving"]


async def test_a_view_starts_a_background_task(app: Trioframe) -> None:
    seen: list[str] = []
    done = trio.Event()

    async def send_email(address: str) -> None:
        seen.append(f"{address} request_visible={has_request_context()}")
        done.set()

    @app.post("/signup")
    async def signup() -> tuple[str, int]:
        app.nursery.start_soon(send_email, (await request.get_json())["email"])
        return "queued", 202

    async with app.test_app() as test_app:
        response = await test_app.test_client().post("/signup", json={"email": "a@b.c"})
        assert response.status_code == 202
        await done.wait()
    # The task outlives the request, so it must not see the request it came from.
    assert seen == ["a@b.c request_visible=False"]


async def test_start_returns_what_the_task_reports(app: Trioframe) -> None:
    async def listener(*, task_status: trio.TaskStatus[str]) -> None:
        task_status.started("ready on port 9")
        await trio.sleep_forever()

    async def broken(*, task_status: trio.TaskStatus[str]) -> None:
        raise OSError("port taken")

    async with app.test_app():
        assert await app.nursery.start(listener) == "ready on port 9"
        with pytest.raises(OSError, match="port taken"):  # the caller gets it; the app lives
            await app.nursery.start(broken)
        assert await app.nursery.start(listener, name="second") == "ready on port 9"


async def test_the_app_nursery_outside_serving(app: Trioframe) -> None:
    with pytest.raises(OutsideContextError, match=r"trioframe run.*app\.test_app"):
        _ = app.nursery
    async with app.test_app():
        assert app.nursery is not None
    with pytest.raises(OutsideContextError):
        _ = app.nursery


async def test_a_failing_background_task_stops_the_app(
    app: Trioframe, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []

    async def flaky() -> None:
        await trio.sleep(5)
        raise ConnectionError("broker unreachable")

    @app.before_serving
    async def start() -> None:
        app.nursery.start_soon(flaky)

    @app.after_serving
    async def cleanup() -> None:
        events.append("after serving ran")

    async def serve_for_an_hour() -> None:
        async with app.test_app():
            await trio.sleep(3600)  # cancelled when the task fails, not after an hour
            events.append("unreachable")

    with pytest.raises(ConnectionError, match="broker unreachable"):
        await serve_for_an_hour()
    assert trio.current_time() == pytest.approx(5)
    assert events == ["after serving ran"]
    assert (
        "Background task test_a_failing_background_task_stops_the_app.<locals>.flaky failed"
        in caplog.text
    )


async def test_the_server_hears_that_a_background_task_failed(app: Trioframe) -> None:
    async def crash() -> None:
        raise ValueError("bad data")

    @app.before_serving
    async def start() -> None:
        app.nursery.start_soon(crash)

    server = LifespanServer()
    await server.to_app.send({"type": "lifespan.startup"})
    with pytest.raises(ValueError, match="bad data"):
        await app(SCOPE, server.receive, server.send)
    assert server.from_app.receive_nowait() == {"type": "lifespan.startup.complete"}
    assert server.from_app.receive_nowait() == {
        "type": "lifespan.shutdown.failed",
        "message": "a background task failed: ValueError: bad data",
    }


async def test_log_policy_keeps_serving(app: Trioframe, caplog: pytest.LogCaptureFixture) -> None:
    app.config["BACKGROUND_TASK_ERRORS"] = "log"
    survivor_cancelled = trio.Event()

    async def crash() -> None:
        raise ValueError("one bad task")

    async def survivor() -> None:
        try:
            await trio.sleep_forever()
        finally:
            survivor_cancelled.set()

    async with app.test_app():
        app.nursery.start_soon(survivor)
        app.nursery.start_soon(crash)
        await trio.testing.wait_all_tasks_blocked()
        assert not survivor_cancelled.is_set()  # the others keep running
    assert survivor_cancelled.is_set()  # until shutdown
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "Background task test_log_policy_keeps_serving.<locals>.crash failed"
    ]


async def test_a_startup_failure_is_reported_and_unwinds(app: Trioframe) -> None:
    events: list[str] = []

    @app.while_serving
    async def pool() -> AsyncIterator[None]:
        events.append("pool opened")
        yield
        events.append("pool closed")

    async def connect_cache() -> None:
        raise OSError("cache down")

    @app.while_serving
    async def cache() -> AsyncIterator[None]:
        await connect_cache()
        yield

    server = LifespanServer()
    await server.to_app.send({"type": "lifespan.startup"})
    with pytest.raises(OSError, match="cache down"):
        await app(SCOPE, server.receive, server.send)
    assert server.from_app.receive_nowait() == {
        "type": "lifespan.startup.failed",
        "message": "OSError: cache down",
    }
    assert events == ["pool opened", "pool closed"]

    with pytest.raises(OSError, match="cache down"):
        async with app.test_app():
            raise AssertionError("the block does not run when startup fails")


async def test_shutdown_failures_are_reported(app: Trioframe) -> None:
    @app.after_serving
    async def flush() -> None:
        raise OSError("disk full")

    @app.after_serving
    async def still_runs() -> None:
        events.append("second after_serving")

    events: list[str] = []
    server = LifespanServer()
    await server.to_app.send({"type": "lifespan.startup"})
    await server.to_app.send({"type": "lifespan.shutdown"})
    with pytest.raises(OSError, match="disk full"):
        await app(SCOPE, server.receive, server.send)
    assert server.from_app.receive_nowait() == {"type": "lifespan.startup.complete"}
    assert server.from_app.receive_nowait() == {
        "type": "lifespan.shutdown.failed",
        "message": "shutdown failed: OSError: disk full",
    }
    assert events == ["second after_serving"]


async def test_while_serving_must_yield_exactly_once(
    app: Trioframe, caplog: pytest.LogCaptureFixture
) -> None:
    async def no_yield() -> AsyncIterator[None]:
        for _ in ():  # a generator that never yields
            yield

    async def twice() -> AsyncIterator[None]:
        yield
        yield

    app.while_serving(twice)
    with pytest.raises(RuntimeError, match="yielded more than once"):
        async with app.test_app():
            pass
    other = Trioframe("other")
    other.while_serving(no_yield)
    with pytest.raises(SetupError, match="ended without yielding"):
        async with other.test_app():
            pass


def test_while_serving_needs_an_async_generator(app: Trioframe) -> None:
    async def coroutine() -> None:
        pass

    with pytest.raises(SetupError, match="async generator function"):
        app.while_serving(coroutine)  # type: ignore[type-var]  # the mistake under test


async def test_invalid_background_policy(app: Trioframe) -> None:
    app.config["BACKGROUND_TASK_ERRORS"] = "ignore"
    with pytest.raises(SetupError, match="'stop'"):
        async with app.test_app():
            pass
    # The server hears it as a failed startup, so it stops instead of serving on.
    server = LifespanServer()
    await server.to_app.send({"type": "lifespan.startup"})
    with pytest.raises(SetupError):
        await app(SCOPE, server.receive, server.send)
    failed = server.from_app.receive_nowait()
    assert failed["type"] == "lifespan.startup.failed"
    assert failed["message"].startswith("SetupError: BACKGROUND_TASK_ERRORS is 'ignore'")


async def test_one_lifespan_at_a_time(app: Trioframe) -> None:
    async with app.test_app():
        with pytest.raises(SetupError, match="already serving"):
            async with app.test_app():
                pass
        assert app.nursery is not None  # the first lifespan is unaffected


async def test_a_test_app_is_entered_once(app: Trioframe) -> None:
    test_app = app.test_app()
    async with test_app:
        pass
    with pytest.raises(RuntimeError, match="entered once"):
        async with test_app:
            pass


async def test_the_test_body_failing_still_shuts_down(app: Trioframe) -> None:
    events: list[str] = []

    @app.after_serving
    async def cleanup() -> None:
        events.append("cleaned up")

    with pytest.raises(KeyError):
        async with app.test_app():
            raise KeyError("test failed")
    assert events == ["cleaned up"]


async def test_a_server_without_startup(app: Trioframe) -> None:
    server = LifespanServer()
    await server.to_app.send({"type": "lifespan.shutdown"})
    await app(SCOPE, server.receive, server.send)  # returns at once, nothing to do
    with pytest.raises(trio.WouldBlock):
        server.from_app.receive_nowait()


async def test_a_started_task_that_fails_later_stops_the_app(app: Trioframe) -> None:
    async def listener(*, task_status: trio.TaskStatus[None]) -> None:
        task_status.started()
        await trio.lowlevel.checkpoint()
        raise ConnectionResetError("listener lost its socket")

    async def run() -> None:
        async with app.test_app():
            await app.nursery.start(listener)
            await trio.sleep_forever()

    with pytest.raises(ConnectionResetError, match="lost its socket"):
        await run()


async def test_the_first_of_several_failures_is_reported(
    app: Trioframe, caplog: pytest.LogCaptureFixture
) -> None:
    async def fail(message: str) -> None:
        raise ValueError(message)

    async def run() -> None:
        async with app.test_app():
            app.nursery.start_soon(fail, "first")
            app.nursery.start_soon(fail, "second")
            await trio.sleep_forever()

    with pytest.raises(ValueError, match=r"first|second") as raised:
        await run()
    failures = [record for record in caplog.records if "stopping the app" in record.getMessage()]
    assert len(failures) == 2  # both are logged
    assert failures[0].exc_info is not None
    assert failures[0].exc_info[1] is raised.value  # the one that failed first stops the app


async def test_a_failing_while_serving_cleanup_fails_the_shutdown(app: Trioframe) -> None:
    @app.while_serving
    async def pool() -> AsyncIterator[None]:
        yield
        raise OSError("could not close the pool")

    with pytest.raises(OSError, match="could not close the pool"):
        async with app.test_app():
            pass


async def test_a_startup_that_hangs_is_bounded_by_the_test(
    app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    @app.before_serving
    async def hang() -> None:
        await trio.sleep_forever()

    with trio.move_on_after(30) as scope:
        async with app.test_app():
            raise AssertionError("never serving")
    assert scope.cancelled_caught
    assert trio.current_time() == pytest.approx(30)


async def test_an_app_without_lifespan_support() -> None:
    class NoLifespan(Trioframe):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await trio.lowlevel.checkpoint()  # ignores the lifespan entirely

    with pytest.raises(RuntimeError, match=r"without answering lifespan\.startup"):
        async with NoLifespan("raw").test_app():
            pass


async def test_an_app_failing_before_it_answers_the_startup() -> None:
    class Broken(Trioframe):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await receive()
            raise LookupError("middleware misconfigured")

    with pytest.raises(LookupError, match="middleware misconfigured"):
        async with Broken("broken").test_app():
            raise AssertionError("never serving")


async def test_the_app_nursery_refuses_tasks_once_shutdown_began(app: Trioframe) -> None:
    refusals: list[str] = []

    async def job(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        raise AssertionError("never started")

    @app.while_serving
    async def resources() -> AsyncIterator[None]:
        yield
        with pytest.raises(OutsideContextError, match="shutting down") as refused:
            app.nursery.start_soon(job)
        refusals.append(str(refused.value))

    @app.after_serving
    async def late() -> None:
        with pytest.raises(OutsideContextError, match="shutting down"):
            await app.nursery.start(job)
        refusals.append("start refused")

    async with app.test_app():
        pass
    assert len(refusals) == 2
    assert "start background tasks from before_serving" in refusals[0]
