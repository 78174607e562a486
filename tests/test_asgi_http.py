"""The HTTP handler, through the test client and a scripted ASGI peer: disconnects,
backpressure, streaming, teardown and the body pump."""

from __future__ import annotations

import itertools
import json
import logging
import threading
from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing

from tests.support.asgi import Peer, http_scope, one_request
from tests.support.loopback import WAIT_S
from trioframe import Trioframe, g, request
from trioframe._asgi._http import DISCONNECT_WAIT_S

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from trioframe.testing import TestClient


async def test_disconnect_cancels_the_view_and_its_tasks(
    app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    events: list[str] = []

    async def worker() -> None:
        try:
            await trio.sleep_forever()
        finally:
            events.append("worker cancelled")

    @app.get("/long-poll")
    async def long_poll() -> str:
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(worker)
                await trio.sleep(3600)
            return "too late"
        finally:
            events.append("view cancelled")

    @app.teardown_request
    async def teardown(error: BaseException | None) -> None:
        await trio.sleep(1)  # teardown may await even though the request was cancelled
        events.append(f"teardown ({error!r})")

    peer = Peer()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, http_scope("/long-poll"), peer.receive, peer.send)
        await trio.sleep(5)
        peer.disconnect()
    assert trio.current_time() < 10  # returned promptly, not after an hour
    assert events == ["worker cancelled", "view cancelled", "teardown (None)"]
    assert peer.sent == []


async def test_a_view_that_never_waits_receives_nothing(app: Trioframe) -> None:
    # A disconnect can only be noticed while the view waits; one that never waits is
    # answered without a task to watch for it, so nothing calls receive.
    @app.get("/")
    async def index() -> str:
        return "hello"

    receives = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal receives
        receives += 1
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(http_scope("/"), receive, send)
    assert receives == 0
    assert sent[-1] == {"type": "http.response.body", "body": b"hello", "more_body": False}


async def test_the_first_of_repeated_headers_counts_in_any_case(app: Trioframe) -> None:
    # Routing and the body read Host and Content-Length before the headers are decoded
    # (most requests never decode them); they must agree with what the view sees then.
    @app.post("/")
    async def index() -> dict[str, Any]:
        return {
            "host": request.host,
            "length": request.body.content_length,
            "headers": request.headers.getlist("Content-Length"),
            "body": await request.get_data(as_text=True),
        }

    scope = http_scope("/", method="POST")
    scope["headers"] = [
        (b"Host", b"first.example"),
        (b"host", b"second.example"),
        (b"Content-Length", b"2"),
        (b"content-length", b"3"),
    ]
    peer = Peer([b"hi"])
    await app(scope, peer.receive, peer.send)
    assert peer.status == 200
    assert json.loads(b"".join(peer.body_chunks)) == {
        "host": "first.example",
        "length": 2,
        "headers": ["2", "3"],
        "body": "hi",
    }


async def test_a_timeout_inside_the_view_is_the_view_s_own(
    app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    @app.get("/slow")
    async def slow() -> str:
        with trio.move_on_after(2):
            await trio.sleep(3600)
        return "gave up waiting"

    peer = Peer()
    with trio.fail_after(60):
        await app(http_scope("/slow"), peer.receive, peer.send)
    assert peer.body_chunks == [b"gave up waiting"]
    assert trio.current_time() == pytest.approx(2)


async def test_streaming_respects_backpressure(app: Trioframe) -> None:
    produced = 0

    @app.get("/stream")
    async def stream() -> Any:
        async def numbers() -> AsyncIterator[str]:
            nonlocal produced
            for number in range(100):
                produced += 1
                yield f"{number}\n"

        return numbers()

    peer = Peer(gated=True)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, http_scope("/stream"), peer.receive, peer.send)
        await trio.testing.wait_all_tasks_blocked()
        assert produced == 1  # the first chunk waits for the client; nothing runs ahead
        peer.allow_body(3)
        await trio.testing.wait_all_tasks_blocked()
        assert produced == 4
        assert peer.body_chunks == [b"0\n", b"1\n", b"2\n"]
        peer.allow_body(1000)
    assert produced == 100
    assert len(peer.body_chunks) == 100


async def test_disconnect_closes_a_streaming_body(
    app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    closed = trio.Event()

    @app.get("/ticks")
    async def ticks() -> Any:
        async def every_ten_seconds() -> AsyncIterator[str]:
            try:
                while True:
                    yield "tick\n"
                    await trio.sleep(10)
            finally:
                with trio.CancelScope(shield=True):
                    await trio.sleep(0.5)  # cleanup may await: closing is shielded
                closed.set()

        return every_ten_seconds()

    peer = Peer()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(app, http_scope("/ticks"), peer.receive, peer.send)
            await trio.sleep(15)
            peer.disconnect()
    assert closed.is_set()
    assert peer.body_chunks == [b"tick\n", b"tick\n"]
    assert trio.current_time() < 20  # cancelled long before the next tick
    assert not peer.response_complete.is_set()


async def test_head_closes_a_stream_unread(app: Trioframe, client: TestClient) -> None:
    events: list[str] = []

    @app.get("/stream")
    async def stream() -> Any:
        async def body() -> AsyncIterator[bytes]:
            try:
                events.append("started")
                yield b"data"
            finally:
                events.append("closed")

        return body()

    response = await client.head("/stream")
    assert response.status_code == 200
    assert await response.get_data() == b""
    assert events == []  # never started, so there was nothing to close
    full = await client.get("/stream")
    assert await full.get_data() == b"data"
    assert events == ["started", "closed"]


async def test_error_mid_stream_cuts_the_body_and_is_logged(
    app: Trioframe, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/broken")
    async def broken() -> Any:
        async def body() -> AsyncIterator[str]:
            yield "partial"
            raise ValueError("database went away")

        return body()

    peer = Peer()
    with trio.fail_after(5):
        await app(http_scope("/broken"), peer.receive, peer.send)
    assert peer.status == 200
    assert peer.body_chunks == [b"partial"]
    assert not peer.response_complete.is_set()  # the client can tell the body is incomplete
    assert "database went away" in caplog.text

    app.testing = True
    testing_peer = Peer()
    with pytest.raises(ValueError, match="database went away"):
        await app(http_scope("/broken"), testing_peer.receive, testing_peer.send)


async def test_sync_views_run_in_a_worker_thread(app: Trioframe, client: TestClient) -> None:
    @app.get("/sync")
    def sync_view() -> dict[str, Any]:
        g.note = "set in a thread"
        return {
            "in_main_thread": threading.current_thread() is threading.main_thread(),
            "arg": request.args["q"],
        }

    @app.after_request
    async def after(response: Any) -> Any:
        response.headers["X-Note"] = g.note
        return response

    response = await client.get("/sync", query_string={"q": "context travels"})
    assert await response.get_json() == {"in_main_thread": False, "arg": "context travels"}
    assert response.headers["X-Note"] == "set in a thread"


async def test_context_is_visible_in_tasks_the_view_starts(
    app: Trioframe, client: TestClient
) -> None:
    @app.get("/fan-out")
    async def fan_out() -> dict[str, list[str]]:
        seen: list[str] = []

        async def child(label: str) -> None:
            seen.append(f"{label}:{request.args['who']}:{g.token}")

        g.token = "t1"
        async with trio.open_nursery() as nursery:
            nursery.start_soon(child, "a")
            nursery.start_soon(child, "b")
        return {"seen": sorted(seen)}

    response = await client.get("/fan-out", query_string={"who": "ada"})
    assert await response.get_json() == {"seen": ["a:ada:t1", "b:ada:t1"]}


async def test_body_left_unread_is_discarded(app: Trioframe) -> None:
    @app.post("/ignore")
    async def ignore() -> str:
        return "ignored your upload"

    peer = Peer([b"x" * 1000] * 20)
    with trio.fail_after(5):
        await app(http_scope("/ignore", method="POST"), peer.receive, peer.send)
    assert peer.status == 200
    assert peer.body_chunks == [b"ignored your upload"]


async def test_unknown_receive_messages_are_ignored(app: Trioframe) -> None:
    @app.post("/echo")
    async def echo() -> bytes:
        return await request.get_data()

    messages: list[dict[str, Any]] = [
        {"type": "http.unknown-extension"},
        {"type": "http.request", "body": b"hello", "more_body": False},
    ]
    peer = Peer()

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        return await peer.receive()

    with trio.fail_after(5):
        await app(http_scope("/echo", method="POST"), receive, peer.send)
    assert peer.sent[-1] == {"type": "http.response.body", "body": b"hello", "more_body": False}


async def test_a_server_that_never_reports_the_disconnect(
    app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    @app.get("/")
    async def index() -> str:
        await trio.lowlevel.checkpoint()  # waits, so something watches for a disconnect
        return "hello"

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # Unlike ASGI servers, this one never says the exchange is over; the app ends anyway.
    await app(http_scope("/"), one_request(until=trio.sleep_forever), send)
    assert sent[-1] == {"type": "http.response.body", "body": b"hello", "more_body": False}
    assert trio.current_time() == pytest.approx(DISCONNECT_WAIT_S)


async def test_a_disconnect_reported_inside_the_last_send_cancels_nothing(
    app: Trioframe,
) -> None:
    # hypercorn reports the end of the exchange from within the send of the last body
    # message, then still has work to do in there (it restarts its keep-alive timer).
    @app.get("/")
    async def index() -> str:
        await trio.lowlevel.checkpoint()  # waits, so something watches for a disconnect
        return "hello"

    exchange_over = trio.Event()
    server_work_done = False

    async def send(message: dict[str, Any]) -> None:
        nonlocal server_work_done
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            exchange_over.set()
            await trio.testing.wait_all_tasks_blocked()  # the app sees the disconnect
            server_work_done = True

    with trio.fail_after(5):
        await app(http_scope("/"), one_request(until=exchange_over.wait), send)
    assert server_work_done


async def test_teardown_sees_the_unhandled_error(
    app: Trioframe, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets
    errors: list[BaseException | None] = []

    @app.get("/fail")
    async def fail() -> str:
        raise KeyError("missing")

    @app.get("/ok")
    async def ok() -> str:
        return "fine"

    @app.teardown_request
    def record(error: BaseException | None) -> None:
        errors.append(error)

    assert (await client.get("/fail")).status_code == 500
    assert (await client.get("/ok")).status_code == 200
    assert [type(error) for error in errors] == [KeyError, type(None)]
    assert caplog.records[0].levelno == logging.ERROR


async def test_an_async_generator_view_streams(app: Trioframe, client: TestClient) -> None:
    @app.get("/lines")
    async def lines() -> AsyncIterator[str]:
        for number in range(3):
            yield f"line {number}\n"

    response = await client.get("/lines")
    assert await response.get_data(as_text=True) == "line 0\nline 1\nline 2\n"


async def test_slow_teardown_is_cut_off_and_reported(
    app: Trioframe,
    client: TestClient,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    @app.teardown_request
    async def stuck(error: BaseException | None) -> None:
        await trio.sleep(3600)

    @app.get("/")
    async def index() -> str:
        return "home"

    start = trio.current_time()
    assert (await client.get("/")).status_code == 200
    assert trio.current_time() - start == pytest.approx(10)
    assert "teardown_request functions for / were cancelled after 10" in caplog.text


async def test_a_stream_that_will_not_close_is_reported(
    app: Trioframe, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/stubborn")
    async def stubborn() -> AsyncIterator[str]:
        try:
            yield "first"
        finally:
            await trio.sleep(3600)  # cleanup that hangs: closing gives it five seconds

    peer = Peer(gated=True)  # the client never reads, so the generator waits at its yield
    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, http_scope("/stubborn"), peer.receive, peer.send)
        await trio.sleep(1)
        peer.disconnect()
    assert trio.current_time() == pytest.approx(6)
    assert "took over 5.0 s to close" in caplog.text


async def test_a_def_view_s_generator_blocks_only_its_own_thread(
    app: Trioframe, client: TestClient
) -> None:
    blocked, gate = threading.Event(), threading.Event()

    @app.get("/slow")
    def slow() -> Any:
        def chunks() -> Iterator[str]:
            yield "a"
            blocked.set()
            gate.wait(WAIT_S)  # blocking work between chunks, as a plain def may do
            yield "b"

        return chunks()

    @app.get("/fast")
    async def fast() -> str:
        return "fast"

    finished: list[bytes] = []

    async def get_slow() -> None:
        response = await client.get("/slow")
        finished.append(await response.get_data())

    with trio.fail_after(WAIT_S):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(get_slow)
            await trio.to_thread.run_sync(blocked.wait)
            finished.append(await (await client.get("/fast")).get_data())
            gate.set()
    assert finished == [b"fast", b"ab"]


async def test_a_client_leaving_stops_a_def_view_s_generator(app: Trioframe) -> None:
    made: list[int] = []
    fourth_made, closed = threading.Event(), threading.Event()

    @app.get("/numbers")
    def numbers() -> Any:
        def chunks() -> Iterator[str]:
            try:
                for number in itertools.count():
                    made.append(number)
                    if number == 3:
                        fourth_made.set()
                    yield f"{number}\n"
            finally:
                closed.set()

        return chunks()

    peer = Peer(gated=True)  # a client that takes three chunks, then nothing more
    peer.allow_body(3)
    with trio.fail_after(WAIT_S):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(app, http_scope("/numbers"), peer.receive, peer.send)
            await trio.to_thread.run_sync(fourth_made.wait)
            peer.disconnect()
    assert peer.body_chunks == [b"0\n", b"1\n", b"2\n"]
    assert made == [0, 1, 2, 3]  # one chunk ahead of the client, never more
    assert closed.is_set()  # its finally block ran
