"""What a plain ``hypercorn --worker-class trio`` command gives, pinned over loopback.

trioframe's own serving (``trioframe run``, ``app.run()``) closes these holes; the limits
page tells people who serve with hypercorn directly about each one. If a hypercorn release
closes one, its test here fails, and the page needs a look.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import trio

from tests.support.loopback import WAIT_S, serve_with_plain_hypercorn
from trioframe import Trioframe, request, websocket
from trioframe.testing._wire import read_until_closed

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


def small_app() -> Trioframe:
    app = Trioframe("tests")
    app.config.update(MAX_CONTENT_LENGTH=1024, GRACEFUL_SHUTDOWN_TIMEOUT=0.5)

    @app.get("/")
    async def index() -> str:
        return "ok"

    @app.post("/echo")
    async def echo() -> str:
        return str(len(await request.get_data()))

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send(await websocket.receive())

    return app


@asynccontextmanager
async def plain_hypercorn() -> AsyncIterator[int]:
    with trio.fail_after(WAIT_S):
        async with trio.open_nursery() as nursery:
            port, stop = await serve_with_plain_hypercorn(small_app(), nursery)
            try:
                yield port
            finally:
                stop.set()


async def exchange(port: int, data: bytes, *, until: bytes = b"") -> bytes:
    """Send ``data`` on a new connection; read until ``until`` appears, or the server closes."""
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        await stream.send_all(data)
        if not until:
            return await read_until_closed(stream)
        received = b""
        while until not in received:
            received += await stream.receive_some(65536)
        return received


async def test_compression_is_negotiated() -> None:
    offer = (
        b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    )
    async with plain_hypercorn() as port:
        response = await exchange(port, offer, until=b"\r\n\r\n")
    assert b"sec-websocket-extensions: permessage-deflate" in response.lower()


async def test_a_request_head_over_16_kib_in_one_read_is_served() -> None:
    head = b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    async with plain_hypercorn() as port:
        response = await exchange(port, head)
    assert response.startswith(b"HTTP/1.1 404")


async def test_100_continue_is_sent_before_the_app_can_refuse_the_body() -> None:
    head = (
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10485760\r\n"
        b"Expect: 100-continue\r\n\r\n"
    )
    async with plain_hypercorn() as port:
        response = await exchange(port, head, until=b" 413 ")
    assert response.startswith(b"HTTP/1.1 100 ")


async def test_a_request_with_both_lengths_keeps_the_connection_open() -> None:
    smuggled = (
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    async with plain_hypercorn() as port:
        response = await exchange(port, smuggled)
    assert response.count(b"HTTP/1.1 200") == 2  # the request after it was served too
