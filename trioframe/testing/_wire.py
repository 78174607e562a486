"""The wire-level harness: trioframe's server serving the app over in-memory streams.

The same bytes as production cross the wire (the server that ``trioframe run`` runs, with
hypercorn's h11 and wsproto protocols, on one side; h11 and trio-websocket on the other),
but through ``trio.testing.memory_stream_pair`` instead of sockets, so tests stay fast,
deterministic and usable under ``MockClock``. The server starts and stops as under
``trioframe run``: lifespan startup, serving, then on shutdown open websockets closed with
1001, a graceful period for in-flight requests (after which they are ended) and lifespan
shutdown.
"""

from __future__ import annotations

import socket
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, cast

import h11
import trio
import trio.testing
import trio_websocket
from hypercorn.config import Config as HypercornConfig

from trioframe._asgi._translate import decode_headers
from trioframe._server import Server
from trioframe._serving import apply_app_limits

from ._nursery import HeldNursery

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable
    from contextlib import AbstractAsyncContextManager
    from types import TracebackType

    from werkzeug.datastructures import Headers

    from trioframe._app import Trioframe

#: The addresses the server and its in-memory clients appear to have.
SERVER_ADDRESS = ("127.0.0.1", 8000)
CLIENT_HOST = "127.0.0.1"
#: Bytes read from a connection at a time.
RECEIVE_BYTES = 65536
#: How long a websocket handshake may take, as in trio-websocket's own helpers.
CONNECT_TIMEOUT_S = 60.0


@dataclass
class WireResponse:
    """An HTTP response as it came over the wire."""

    status_code: int
    headers: Headers
    body: bytes


class _Endpoints:
    """What hypercorn asks of a socket: its family and the two addresses."""

    family = socket.AF_INET

    def __init__(self, peer: tuple[str, int]) -> None:
        self._peer = peer

    def getpeername(self) -> tuple[str, int]:
        return self._peer

    def getsockname(self) -> tuple[str, int]:
        return SERVER_ADDRESS


class _InMemoryConnection:
    """The server's end of an in-memory connection, with the addresses hypercorn reads.

    It offers what hypercorn's ``TCPServer`` uses of a socket stream, and nothing more.
    """

    def __init__(self, stream: trio.StapledStream[Any, Any], peer: tuple[str, int]) -> None:
        self._stream = stream
        self.socket = _Endpoints(peer)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self._stream.receive_some(max_bytes)

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()


class WireServer:
    """trioframe's server running the app in the test, reached over in-memory streams.

    ``async with WireServer(app) as server:`` runs the lifespan startup and starts serving;
    leaving the block (or ``await server.shutdown()``) stops it as ``trioframe run`` does:
    open websockets are closed with 1001, in-flight requests get
    ``GRACEFUL_SHUTDOWN_TIMEOUT``, and the lifespan shuts down. Use `request` and
    `send_raw` for HTTP, and `websocket` for a trio-websocket client connection.

    Args:
        app: The application to serve.
        config: A hypercorn configuration to serve with, instead of the defaults.
    """

    __test__ = False

    def __init__(self, app: Trioframe, config: HypercornConfig | None = None) -> None:
        self.app = app
        self.config = config or HypercornConfig()
        if config is None:
            self.config.graceful_timeout = float(app.config["GRACEFUL_SHUTDOWN_TIMEOUT"])
            apply_app_limits(self.config, app)
        self._server = Server(app, self.config)
        self._serving = False
        self._stopped = trio.Event()
        self._next_port = 50000
        self._held = HeldNursery("a WireServer")

    async def __aenter__(self) -> Self:
        async with self._held.opening() as nursery:
            await nursery.start(self._serve)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None:
                await self.shutdown()
        finally:
            await self._held.close(exc_type, exc, tb)

    async def _serve(
        self, *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            await self._server.serve([], task_status=task_status)
        finally:
            self._stopped.set()

    async def shutdown(self) -> None:
        """Stop the server as ``trioframe run`` does, and wait until it has stopped."""
        self._server.stop.gracefully()
        await self._stopped.wait()

    async def connect(self) -> trio.abc.HalfCloseableStream:
        """Open a new connection to the server: the client's end of an in-memory stream.

        Raises:
            RuntimeError: the server is not serving.
        """
        client, server = trio.testing.memory_stream_pair()
        self._next_port += 1
        try:
            self._server.open_connection(
                _InMemoryConnection(server, (CLIENT_HOST, self._next_port))
            )
        except RuntimeError:
            raise RuntimeError(
                "The WireServer is not serving; connect inside its async with"
            ) from None
        await trio.lowlevel.checkpoint()
        return client

    async def send_raw(self, data: bytes) -> bytes:
        """Send raw bytes on a new connection and return everything the server sends back
        until it closes the connection. Bound the call with ``trio.fail_after``."""
        stream = await self.connect()
        try:
            await stream.send_all(data)
            return await read_until_closed(stream)
        finally:
            await stream.aclose()

    async def request(
        self,
        method: str,
        target: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> WireResponse:
        """Send one HTTP/1.1 request with h11 on a new connection and read the response."""
        stream = await self.connect()
        try:
            return await http_exchange(stream, method, target, headers=headers, body=body)
        finally:
            await stream.aclose()

    def websocket(
        self,
        path: str,
        *,
        subprotocols: Iterable[str] | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> AbstractAsyncContextManager[trio_websocket.WebSocketConnection]:
        """Open a trio-websocket client connection: ``async with server.websocket("/ws") as ws``.

        Raises:
            trio_websocket.ConnectionRejected: the app refused the connection; it holds the
                status code, headers and body.
        """
        return _websocket_over_new_connection(self, path, subprotocols, headers)


async def read_until_closed(stream: trio.abc.ReceiveStream) -> bytes:
    """Everything the other end sends on ``stream`` until it closes its side."""
    received = bytearray()
    while chunk := await stream.receive_some(RECEIVE_BYTES):
        received += chunk
    return bytes(received)


async def http_exchange(
    stream: trio.abc.Stream,
    method: str,
    target: str,
    *,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> WireResponse:
    """Send one HTTP/1.1 request with h11 over ``stream`` and read the response.

    A ``Host: localhost`` header is added unless ``headers`` has one, and ``Content-Length``
    for a body unless ``Transfer-Encoding: chunked`` is given.
    """
    client = h11.Connection(h11.CLIENT)
    request_headers = list(headers)
    names = {name.lower() for name, _ in request_headers}
    if "host" not in names:
        request_headers.insert(0, ("Host", "localhost"))
    if body and "transfer-encoding" not in names:
        request_headers.append(("Content-Length", str(len(body))))
    await stream.send_all(
        client.send(h11.Request(method=method, target=target, headers=request_headers))
        + (client.send(h11.Data(data=body)) if body else b"")
        + client.send(h11.EndOfMessage())
    )
    response: h11.Response | None = None
    chunks: list[bytes] = []
    while True:
        event = client.next_event()
        if event is h11.NEED_DATA:
            client.receive_data(bytes(await stream.receive_some(RECEIVE_BYTES)))
            continue
        if isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            break
        # Informational (1xx) responses pass by; the final Response is the one kept.
        if isinstance(event, h11.Response):
            response = event
        if isinstance(event, h11.Data):
            chunks.append(bytes(event.data))
    assert response is not None  # h11 reports a Response before the end of one
    return WireResponse(
        status_code=response.status_code,
        headers=decode_headers(response.headers),
        body=b"".join(chunks),
    )


@asynccontextmanager
async def _websocket_over_new_connection(
    server: WireServer,
    path: str,
    subprotocols: Iterable[str] | None,
    headers: Iterable[tuple[str, str]],
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    stream = await server.connect()
    async with websocket_client(stream, path, subprotocols=subprotocols, headers=headers) as ws:
        yield ws


@asynccontextmanager
async def websocket_client(
    stream: trio.abc.Stream,
    path: str,
    *,
    host: str = "localhost",
    subprotocols: Iterable[str] | None = None,
    headers: Iterable[tuple[str, str]] = (),
    connect_timeout: float = CONNECT_TIMEOUT_S,
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    """A trio-websocket client connection over ``stream``, for any stream a test opened.

    ``async with websocket_client(await trio.open_tcp_stream(host, port), "/ws") as ws:``.
    The stream is closed when the block ends, whoever closed the websocket (trio-websocket
    leaves it open when the server closes first or refuses the handshake).

    Raises:
        trio_websocket.ConnectionRejected: the server refused the connection, as a plain
            exception with the status code, headers and body.
        trio_websocket.ConnectionTimeout: the handshake took longer than
            ``connect_timeout`` seconds (it never ends if the server hangs up first).
    """
    held = HeldNursery("a websocket client")
    try:
        nursery = await held.open()
        try:
            with trio.fail_after(connect_timeout):
                connection = await trio_websocket.wrap_client_stream(
                    nursery,
                    cast("trio.SocketStream", stream),  # trio-websocket only needs a stream
                    host,
                    path,
                    subprotocols=subprotocols,
                    extra_headers=[(name.encode(), value.encode()) for name, value in headers],
                )
        except trio.TooSlowError:
            nursery.cancel_scope.cancel()
            await held.close(None, None, None)
            raise trio_websocket.ConnectionTimeout(
                f"No websocket handshake for {path!r} within {connect_timeout} s"
            ) from None
        except BaseException as error:
            nursery.cancel_scope.cancel()
            await held.close(type(error), error, error.__traceback__)
            raise
        try:
            yield connection
        except BaseException as error:
            await connection.aclose()
            await held.close(type(error), error, error.__traceback__)
            raise
        await connection.aclose()
        await held.close(None, None, None)
    finally:
        await stream.aclose()
