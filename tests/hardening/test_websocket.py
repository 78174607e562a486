"""Hostile websocket clients and a lifetime under churn, over the wire and over loopback.

Every attack states what the attacker gets; the server keeps serving other connections
meanwhile, and no handler is left running afterwards. Raw frames are built here by hand,
since a well-behaved client library refuses to send the broken ones.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing
import trio_websocket

from tests.support.leaks import counting_tasks
from tests.support.loopback import serving, websocket_to
from trioframe import Trioframe, websocket
from trioframe.testing import WireServer
from trioframe.testing._wire import read_until_closed

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from contextlib import AbstractAsyncContextManager as AsyncContextManager

    from trio_websocket import WebSocketConnection

    from trioframe._types import ASGIReceive, ASGIScope, ASGISend

#: A bound on every wait; far above what the tests need, far below a hang.
WAIT_S = 20
HANDSHAKE = (
    b"GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
TEXT, BINARY, CLOSE = 0x1, 0x2, 0x8


class Handlers:
    """How many websocket handlers are running, and how many teardowns have run."""

    def __init__(self) -> None:
        self.live = 0
        self.teardowns = 0
        self._changed = trio.Event()

    def add(self, change: int) -> None:
        self.live += change
        self._changed.set()
        self._changed = trio.Event()

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            await self._changed.wait()


def attack_app(handlers: Handlers) -> Trioframe:
    app = Trioframe("tests")
    app.config.update(
        WEBSOCKET_MAX_MESSAGE_SIZE=1024,
        WEBSOCKET_QUEUE_SIZE=4,
        GRACEFUL_SHUTDOWN_TIMEOUT=0.5,
    )

    @app.websocket("/echo")
    async def echo() -> None:
        handlers.add(+1)
        try:
            while True:
                await websocket.send(await websocket.receive())
        finally:
            handlers.add(-1)

    @app.websocket("/crash")
    async def crash() -> None:
        async def failing_child() -> None:
            await websocket.receive()
            raise ValueError("the child task failed")

        await websocket.accept()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(failing_child)
            await trio.sleep_forever()

    @app.teardown_websocket
    async def count_teardown(error: BaseException | None) -> None:
        handlers.teardowns += 1

    return app


@asynccontextmanager
async def _over_the_wire(app: Trioframe) -> AsyncIterator[Connector]:
    async with WireServer(app) as server:
        yield Connector(server.connect, server.websocket)


@asynccontextmanager
async def _over_loopback(app: Trioframe) -> AsyncIterator[Connector]:
    async with serving(app) as port:

        async def connect() -> trio.abc.HalfCloseableStream:
            return await trio.open_tcp_stream("127.0.0.1", port)

        def open_websocket(path: str) -> AsyncContextManager[WebSocketConnection]:
            return websocket_to(port, path)

        yield Connector(connect, open_websocket)


class Connector:
    """Opens raw streams and trio-websocket connections to the server under attack."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[trio.abc.HalfCloseableStream]],
        open_websocket: Callable[[str], AsyncContextManager[WebSocketConnection]],
    ) -> None:
        self.connect = connect
        self.websocket = open_websocket

    async def raw_websocket(self) -> trio.abc.HalfCloseableStream:
        """A stream whose websocket handshake is done; frames are up to the test."""
        stream = await self.connect()
        await stream.send_all(HANDSHAKE)
        response = b""
        while b"\r\n\r\n" not in response:
            response += await stream.receive_some(4096)
        assert response.startswith(b"HTTP/1.1 101"), response
        return stream

    async def still_echoes(self) -> None:
        async with self.websocket("/echo") as ws:
            await ws.send_message("still here")
            assert await ws.get_message() == "still here"


@pytest.fixture(params=["wire", "loopback"])
async def attacked(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Connector, Handlers]]:
    """The attack app over one transport; afterwards it still echoes and no handler runs.

    Over the in-memory wire, where the server's tasks can be seen to settle, no task started
    during the test may be left either.
    """
    handlers = Handlers()
    app = attack_app(handlers)
    transport = _over_the_wire if request.param == "wire" else _over_loopback
    with trio.fail_after(WAIT_S):
        async with transport(app) as connector:
            with counting_tasks() as counter:
                yield connector, handlers
                await connector.still_echoes()
                await handlers.wait_until(lambda: handlers.live == 0)
                if request.param == "wire":
                    await trio.testing.wait_all_tasks_blocked()
                    assert counter.alive == set()


def frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """A masked client frame, as RFC 6455 section 5.2 lays it out."""
    mask = b"\x37\xfa\x21\x3d"
    length = len(payload)
    if length < 126:
        size = bytes([0x80 | length])
    elif length < 1 << 16:
        size = bytes([0x80 | 126]) + length.to_bytes(2, "big")
    else:
        size = bytes([0x80 | 127]) + length.to_bytes(8, "big")
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return bytes([(0x80 if fin else 0) | opcode]) + size + mask + masked


async def close_code_received(stream: trio.abc.Stream) -> int | None:
    """Read server frames until the connection ends: the code of its close frame, or
    ``None`` if it ended without one."""
    data = await read_until_closed(stream)
    while data:
        opcode, length = data[0] & 0x0F, data[1] & 0x7F
        payload, data = data[2 : 2 + length], data[2 + length :]
        if opcode == CLOSE:
            return int.from_bytes(payload[:2], "big")
    return None


# Attacks ---------------------------------------------------------------------------------


async def test_a_message_over_the_limit_closes_with_1009(
    attacked: tuple[Connector, Handlers],
) -> None:
    connector, _ = attacked
    async with connector.websocket("/echo") as ws:
        await ws.send_message("x" * 1024)
        assert await ws.get_message() == "x" * 1024
        await ws.send_message(b"y" * 1025)
        with pytest.raises(trio_websocket.ConnectionClosed) as closed:
            await ws.get_message()
    assert _code(closed.value) == 1009


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        pytest.param(frame(TEXT, b"caf\xc3"), 1007, id="invalid-utf8"),
        pytest.param(frame(0x3, b"what"), 1002, id="reserved-opcode"),
        pytest.param(frame(CLOSE, b"\x03\xe8" + b"r" * 200), 1002, id="oversized-control"),
        pytest.param(frame(TEXT, b"a", fin=False) + frame(BINARY, b"b"), 1002, id="bad-fragment"),
    ],
)
async def test_protocol_violations_end_the_connection_alone(
    attacked: tuple[Connector, Handlers], payload: bytes, code: int
) -> None:
    # hypercorn alone hangs up without a close frame; RFC 6455 7.1.7 asks for one.
    connector, handlers = attacked
    async with connector.websocket("/echo") as bystander:
        stream = await connector.raw_websocket()
        await handlers.wait_until(lambda: handlers.live == 2)
        await stream.send_all(payload)
        assert await close_code_received(stream) == code
        await stream.aclose()
        await handlers.wait_until(lambda: handlers.live == 1)  # the attacker's handler ended
        await bystander.send_message("unaffected")
        assert await bystander.get_message() == "unaffected"


async def test_a_client_that_ignores_1009_is_cut_off(
    attacked: tuple[Connector, Handlers],
) -> None:
    connector, handlers = attacked
    stream = await connector.raw_websocket()
    await handlers.wait_until(lambda: handlers.live == 1)
    await stream.send_all(frame(TEXT, b"x" * 1025, fin=False))
    # hypercorn alone sends 1009 and then buffers every continuation frame that follows.
    # Here the connection ends with the close: sending more finds it gone.
    with pytest.raises(trio.BrokenResourceError):  # noqa: PT012  the loop is the attack
        for _ in range(10_000):
            await stream.send_all(frame(0x0, b"y" * 1024, fin=False))
    assert await close_code_received(stream) == 1009
    await stream.aclose()
    await handlers.wait_until(lambda: handlers.live == 0)


async def test_a_ping_gets_its_pong(attacked: tuple[Connector, Handlers]) -> None:
    connector, _ = attacked
    stream = await connector.raw_websocket()
    await stream.send_all(frame(0x9, b"are you there"))
    reply = await stream.receive_some(4096)
    assert reply == bytes([0x8A, len(b"are you there")]) + b"are you there"  # a pong, unmasked
    await stream.aclose()


async def test_an_unasked_pong_is_ignored(attacked: tuple[Connector, Handlers]) -> None:
    # RFC 6455 5.5.3: a pong nobody asked for is a heartbeat; it must change nothing.
    connector, _ = attacked
    stream = await connector.raw_websocket()
    await stream.send_all(frame(0xA, b"heartbeat") + frame(TEXT, b"hi"))
    reply = b""
    while len(reply) < 4:
        reply += await stream.receive_some(4096)
    assert reply == bytes([0x81, 2]) + b"hi"  # the echo, and nothing for the pong
    await stream.aclose()


async def test_compression_is_never_negotiated(attacked: tuple[Connector, Handlers]) -> None:
    # wsproto inflates a compressed frame without any limit: 1 MiB could become 1 GiB.
    connector, _ = attacked
    stream = await connector.connect()
    offer = HANDSHAKE.replace(
        b"\r\n\r\n", b"\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    )
    await stream.send_all(offer)
    response = b""
    while b"\r\n\r\n" not in response:
        response += await stream.receive_some(4096)
    assert response.startswith(b"HTTP/1.1 101")
    assert b"sec-websocket-extensions" not in response.lower()
    compressed = bytearray(frame(TEXT, b"\xf2\x48\xcd\xc9\xc9\x07\x00"))
    compressed[0] |= 0x40  # RSV1: a compressed message, which was not agreed
    await stream.send_all(bytes(compressed))
    assert await close_code_received(stream) == 1002
    await stream.aclose()


@pytest.mark.parametrize(
    "vanishing",
    [
        pytest.param(b"", id="without-a-close-frame"),
        pytest.param(frame(TEXT, b"a" * 500)[:200], id="mid-message"),
        pytest.param(frame(TEXT, b"part", fin=False), id="mid-fragments"),
    ],
)
async def test_a_client_that_vanishes_leaves_no_handler(
    attacked: tuple[Connector, Handlers], vanishing: bytes
) -> None:
    connector, handlers = attacked
    stream = await connector.raw_websocket()
    await handlers.wait_until(lambda: handlers.live == 1)
    if vanishing:
        await stream.send_all(vanishing)
    await stream.aclose()
    await handlers.wait_until(lambda: handlers.live == 0)


@pytest.mark.parametrize("attacked", ["loopback"], indirect=True)
async def test_a_client_that_vanishes_during_the_handshake(
    attacked: tuple[Connector, Handlers],
) -> None:
    connector, handlers = attacked
    stream = await connector.connect()
    await stream.send_all(HANDSHAKE[:40])
    await stream.aclose()
    await connector.still_echoes()
    assert handlers.teardowns == 1  # only the echo just now ever reached the app


@pytest.mark.parametrize(
    "sent", [pytest.param(HANDSHAKE[:40], id="half-a-handshake"), pytest.param(b"", id="nothing")]
)
async def test_a_connection_the_client_closes_is_released_at_once(
    autojump_clock: trio.testing.MockClock, sent: bytes
) -> None:
    # hypercorn alone keeps the connection's socket and tasks until its keep-alive timer
    # fires (5 s), though the client has closed its end. The app never sees the request.
    handlers = Handlers()
    with trio.fail_after(WAIT_S):
        async with WireServer(attack_app(handlers)) as server:
            with counting_tasks() as counter:
                stream = await server.connect()
                await stream.send_all(sent)
                await stream.aclose()
                await trio.testing.wait_all_tasks_blocked()
                assert trio.current_time() < server.config.keep_alive_timeout
                assert counter.alive == set()
    assert handlers.teardowns == 0


async def test_a_failing_child_task_closes_with_1011_and_is_logged_once(
    attacked: tuple[Connector, Handlers], caplog: pytest.LogCaptureFixture
) -> None:
    connector, _ = attacked
    async with connector.websocket("/crash") as ws:
        await ws.send_message("trigger")
        with pytest.raises(trio_websocket.ConnectionClosed) as closed:
            await ws.get_message()
    assert _code(closed.value) == 1011
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert "the child task failed" in str(errors[0].exc_info[1])


class CountingApp(Trioframe):
    """Counts the websocket messages the server has handed to trioframe."""

    messages_taken = 0

    async def __call__(self, scope: ASGIScope, receive: ASGIReceive, send: ASGISend) -> None:
        async def counting_receive() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message["type"] == "websocket.receive":
                self.messages_taken += 1
            return message

        await super().__call__(scope, counting_receive, send)


async def _flood_then_wait(ws: WebSocketConnection) -> None:
    for number in range(200):
        await ws.send_message(str(number))
    await ws.get_message()


def flood_app(policy: str) -> tuple[CountingApp, trio.Event, list[str]]:
    """A handler that only starts reading once the returned gate is set."""
    app = CountingApp("tests")
    app.config.update(WEBSOCKET_QUEUE_SIZE=4, WEBSOCKET_QUEUE_OVERFLOW=policy)
    gate = trio.Event()
    handled: list[str] = []

    @app.websocket("/slow")
    async def slow() -> None:
        await websocket.accept()
        await gate.wait()
        while True:
            handled.append(str(await websocket.receive()))

    return app, gate, handled


async def test_a_flood_is_held_back_under_the_block_policy(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app, gate, handled = flood_app("block")
    with trio.fail_after(WAIT_S):
        async with WireServer(app) as server, server.websocket("/slow") as flooder:
            for number in range(200):
                await flooder.send_message(str(number))
            await trio.testing.wait_all_tasks_blocked()
            # The handler's queue and the one message the reader holds; the rest waits in
            # the server and the connection, which stop reading in turn.
            assert app.messages_taken == 4 + 1
            gate.set()
            await flooder.send_message("last")
            while not handled or handled[-1] != "last":
                await trio.testing.wait_all_tasks_blocked()
    assert handled == [*(str(number) for number in range(200)), "last"]  # none lost


async def test_a_flood_is_closed_with_1008_under_the_close_policy(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app, gate, _ = flood_app("close")
    with trio.fail_after(WAIT_S):
        async with WireServer(app) as server, server.websocket("/slow") as flooder:
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await _flood_then_wait(flooder)
            assert _code(closed.value) == 1008
            assert app.messages_taken == 4 + 1  # the queue, and the one that found it full
            async with server.websocket("/slow") as bystander:
                await bystander.send_message("fine")  # other connections are served
                gate.set()


# Lifetime --------------------------------------------------------------------------------


async def test_churn_leaves_no_task_behind() -> None:
    handlers = Handlers()
    app = attack_app(handlers)
    with trio.fail_after(WAIT_S * 3):
        async with WireServer(app) as server:
            with counting_tasks() as counter:
                for _ in range(3):
                    async with trio.open_nursery() as clients:
                        for number in range(500):
                            clients.start_soon(_echo_once, server, number)
                    await handlers.wait_until(lambda: handlers.live == 0)
                    await trio.testing.wait_all_tasks_blocked()
                    assert counter.alive == set()  # every connection's tasks are gone
    assert handlers.teardowns == 3 * 500


async def _echo_once(server: WireServer, number: int) -> None:
    async with server.websocket("/echo") as ws:
        await ws.send_message(str(number))
        assert await ws.get_message() == str(number)


async def test_shutdown_closes_every_websocket_with_1001_and_tears_each_down() -> None:
    handlers = Handlers()
    app = attack_app(handlers)
    codes: list[int | None] = []

    async def hold_open(server: WireServer, opened: trio.Event) -> None:
        async with server.websocket("/echo") as ws:
            await ws.send_message("hello")
            await ws.get_message()
            opened.set()
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await ws.get_message()
            codes.append(_code(closed.value))

    with trio.fail_after(WAIT_S):
        async with trio.open_nursery() as clients, WireServer(app) as server:
            for _ in range(20):
                opened = trio.Event()
                clients.start_soon(hold_open, server, opened)
                await opened.wait()
            assert handlers.live == 20
    assert codes == [1001] * 20
    assert handlers.live == 0
    assert handlers.teardowns == 20


def _code(closed: trio_websocket.ConnectionClosed) -> int | None:
    return closed.reason.code if closed.reason is not None else None
