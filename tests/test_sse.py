"""Server-sent events through the test client and a scripted ASGI peer: encoding, keep-alive,
disconnects."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
import trio
import trio.testing

from tests.support.asgi import Peer, http_scope
from trioframe import Response, ServerSentEvent, Trioframe, event_stream, request

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from trioframe.testing import TestClient


def test_events_are_encoded() -> None:
    assert ServerSentEvent("hello").encode() == b"data: hello\n\n"
    assert ServerSentEvent("a\nb\r\nc\rd", event="note", id="7", retry=500).encode() == (
        b"event: note\nid: 7\nretry: 500\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
    )
    assert ServerSentEvent("").encode() == b"data: \n\n"  # an empty message
    assert ServerSentEvent(retry=3000).encode() == b"retry: 3000\n\n"  # no message at all


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"event": "a\nb"}, "event cannot contain a line break"),
        ({"id": "1\r2"}, "id cannot contain a line break"),
        ({"id": "1\x002"}, "NUL"),
        ({"retry": -1}, "milliseconds"),
    ],
)
def test_events_that_would_corrupt_the_stream(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServerSentEvent("data", **fields)  # type: ignore[arg-type]


async def test_an_event_stream(app: Trioframe, client: TestClient) -> None:
    @app.get("/events")
    async def events() -> Response:
        async def stream() -> AsyncIterator[ServerSentEvent | str]:
            yield f"hello {request.args['name']}"  # the request is there while streaming
            yield ServerSentEvent('{"price": 3}', event="price", id="1")

        return event_stream(stream(), retry=2000, headers={"X-Stream": "prices"})

    response = await client.get("/events?name=ada")
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert response.headers["X-Stream"] == "prices"
    assert "Content-Length" not in response.headers
    assert await response.get_data() == (
        b'retry: 2000\n\ndata: hello ada\n\nevent: price\nid: 1\ndata: {"price": 3}\n\n'
    )


async def test_keep_alive_comments_fill_the_silence(
    app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    sent_at: list[tuple[float, bytes]] = []

    @app.get("/slow")
    async def slow() -> Response:
        async def stream() -> AsyncIterator[str]:
            await trio.sleep(40)
            yield "finally"
            await trio.sleep(10)
            yield "again"

        return event_stream(stream(), keep_alive_interval=15)

    peer = Peer()

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.body" and message["body"]:
            sent_at.append((trio.current_time(), message["body"]))  # type: ignore[arg-type]
        await peer.send(message)

    await app(http_scope("/slow"), peer.receive, send)
    assert sent_at == [
        (15, b": keep-alive\n\n"),
        (30, b": keep-alive\n\n"),
        (40, b"data: finally\n\n"),
        (50, b"data: again\n\n"),  # ten quiet seconds are under the interval
    ]


async def test_no_keep_alive(
    app: Trioframe, client: TestClient, autojump_clock: trio.testing.MockClock
) -> None:
    @app.get("/quiet")
    async def quiet() -> Response:
        async def stream() -> AsyncIterator[str]:
            await trio.sleep(100)
            yield "done"

        return event_stream(stream(), keep_alive_interval=None)

    response = await client.get("/quiet", timeout=None)  # a hundred silent seconds
    assert await response.get_data() == b"data: done\n\n"


async def test_the_client_leaving_cancels_and_closes_the_stream(
    app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    events: list[str] = []

    @app.get("/live")
    async def live() -> Response:
        async def stream() -> AsyncIterator[str]:
            try:
                while True:
                    yield "tick"
                    await trio.sleep(60)
            except trio.Cancelled:
                events.append("cancelled")
                raise
            finally:
                events.append("closed")

        return event_stream(stream())

    peer = Peer()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, http_scope("/live"), peer.receive, peer.send)
        await trio.sleep(20)  # one tick, then a keep-alive at 15 s
        peer.disconnect()
    assert trio.current_time() == pytest.approx(20)  # promptly, not at the next tick
    assert peer.body_chunks == [b"data: tick\n\n", b": keep-alive\n\n"]
    assert events == ["cancelled", "closed"]


async def test_a_head_request_does_not_start_the_stream(app: Trioframe, client: TestClient) -> None:
    started: list[bool] = []

    @app.get("/events")
    async def events() -> Response:
        async def stream() -> AsyncIterator[str]:
            started.append(True)
            yield "never"

        return event_stream(stream())

    response = await client.head("/events")
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert started == []


async def test_a_failing_stream(
    app: Trioframe, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/broken")
    async def broken() -> Response:
        async def stream() -> AsyncIterator[str]:
            yield "first"
            raise LookupError("feed lost")

        return event_stream(stream())

    app.testing = True
    # Trio schedules tasks in a varying order: a race that lost the error showed only in
    # some runs, so try many.
    for _ in range(30):
        with pytest.raises(LookupError, match="feed lost"):  # itself, not an ExceptionGroup
            await client.get("/broken")
    app.testing = False
    peer = Peer()
    await app(http_scope("/broken"), peer.receive, peer.send)
    assert peer.body_chunks == [b"data: first\n\n"]  # cut off after what was sent
    assert not peer.response_complete.is_set()
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert errors[-1].exc_info is not None
    assert isinstance(errors[-1].exc_info[1], LookupError)


async def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="needs an async iterable"):
        event_stream(["not", "async"])  # type: ignore[arg-type]

    async def nothing() -> AsyncIterator[str]:
        for _ in ():
            yield ""

    with pytest.raises(ValueError, match="positive number of seconds"):
        event_stream(nothing(), keep_alive_interval=0)
    response = event_stream(nothing())  # outside an app, a plain Response
    assert await response.get_data() == b""


async def test_iterables_without_aclose(app: Trioframe, client: TestClient) -> None:
    class Countdown:
        """An async iterator that is not a generator (it has no aclose)."""

        def __init__(self) -> None:
            self.left = 2

        def __aiter__(self) -> Countdown:
            return self

        async def __anext__(self) -> str:
            await trio.lowlevel.checkpoint()
            if not self.left:
                raise StopAsyncIteration
            self.left -= 1
            return str(self.left)

    @app.get("/countdown")
    async def countdown() -> Response:
        return event_stream(Countdown())

    response = await client.get("/countdown")
    assert await response.get_data() == b"data: 1\n\ndata: 0\n\n"
