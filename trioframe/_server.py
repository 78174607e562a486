"""trioframe's server: hypercorn's trio worker, with every connection bounded in time.

`Server` does what ``hypercorn.trio.serve`` does (the lifespan, listening, a
`hypercorn.trio.tcp_server.TCPServer` per connection, a graceful shutdown), and shields the
app from what hypercorn alone leaves open:

- hypercorn writes to a socket inside a cancel scope shielded from every cancellation, so a
  client that stops reading pins the connection, its handler, and at shutdown the whole
  process, which then ignores every signal. Each connection's stream is a `GuardedStream`:
  a write that makes no progress for the connection's send timeout (``RESPONSE_SEND_TIMEOUT``,
  or ``WEBSOCKET_SEND_TIMEOUT`` once it carries a websocket) ends the connection, and once
  the grace period of a shutdown is over, every connection still open is ended at once.
- hypercorn's protocols are replaced where they fall short; see ``_protocol.py``.

The app reaches its connection through the ASGI extension `CONTINUE_EXTENSION`, with which
it asks for a request's body (the ``100 Continue`` a client may wait for).
"""

from __future__ import annotations

import math
import socket as _socket
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, Self

import trio
from hypercorn.events import Closed, RawData
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.tcp_server import MAX_RECV, TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import parse_socket_addr, repr_socket_addr, wrap_app

from ._concurrency import wait_any
from ._protocol import ConnectionTasks, HTTP11Protocol
from ._types import CONTINUE_EXTENSION

if TYPE_CHECKING:
    import logging
    from collections.abc import Awaitable, Callable

    from hypercorn.config import Config
    from hypercorn.typing import AppWrapper, ASGIReceiveCallable, ASGISendCallable, Scope

    from ._app import Trioframe

#: Bytes written at a time: a client that takes any of them within the send timeout is
#: still reading, however large the whole write.
SEND_SLICE_BYTES = 64 * 1024
#: Messages queued for the app by the server, beside the disconnect: one, since the app
#: keeps its own queue (``WEBSOCKET_QUEUE_SIZE``, and one chunk of a request body) and a
#: second queue would only double what a connection holds.
APP_QUEUE_SIZE = 1


class SocketStream(Protocol):
    """What a connection's stream must offer: a trio socket stream's methods and ``socket``,
    whose addresses hypercorn reads."""

    @property
    def socket(self) -> Any: ...
    async def send_all(self, data: bytes | bytearray | memoryview) -> None: ...
    async def wait_send_all_might_not_block(self) -> None: ...
    async def send_eof(self) -> None: ...
    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray: ...
    async def aclose(self) -> None: ...


class GuardedStream(trio.abc.HalfCloseableStream):
    """A connection's byte stream, whose writes are bounded in time and which can be ended.

    A write gives up when the client takes none of the data for ``send_timeout`` seconds;
    the connection is then ended, and the write raises `trio.BrokenResourceError` (which
    hypercorn treats as the client gone). On a TCP socket where the system offers it (Linux),
    the kernel keeps that bound (``TCP_USER_TIMEOUT``), at no cost per write; elsewhere each
    write runs in a cancel scope of its own, which works inside hypercorn's shielded scope.

    Args:
        stream: The accepted stream; ``stream.socket`` gives the addresses.
        send_timeout: Seconds a write may wait for the client to take some of it; ``None``
            waits for ever.
        on_timeout: Called once when a write gives up, to log it.
    """

    def __init__(
        self,
        stream: SocketStream,
        send_timeout: float | None,
        on_timeout: Callable[[GuardedStream], None],
    ) -> None:
        self._stream = stream
        self._on_timeout = on_timeout
        self._sending: trio.CancelScope | None = None
        #: The client's address, for messages; kept, since a dead socket forgets it.
        self.peer = _peer(stream.socket)
        self._kernel_bound = _can_bound_in_kernel(stream.socket)
        self._send_timeout: float | None = None
        self.send_timeout = send_timeout
        #: Whether the connection was ended by `abort` or a write that gave up.
        self.aborted = False
        #: Whether the connection carries a websocket (whose handler reports a slow client).
        self.websocket = False

    @property
    def socket(self) -> Any:
        """The underlying socket, whose addresses hypercorn reads."""
        return self._stream.socket

    @property
    def send_timeout(self) -> float | None:
        """Seconds a write may wait for the client to take some of it; ``None`` is no limit."""
        return self._send_timeout

    @send_timeout.setter
    def send_timeout(self, value: float | None) -> None:
        self._send_timeout = value
        if self._kernel_bound:
            milliseconds = 0 if value is None else max(1, round(value * 1000))
            self.socket.setsockopt(_socket.IPPROTO_TCP, _TCP_USER_TIMEOUT, milliseconds)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self.aborted:
            raise trio.ClosedResourceError("The connection was ended")
        if self._kernel_bound or self._send_timeout is None:
            try:
                await self._stream.send_all(data)
            except trio.BrokenResourceError as error:
                self._note_kernel_timeout(error)
                raise
            return
        await self._send_in_slices(memoryview(data))

    async def _send_in_slices(self, view: memoryview) -> None:
        """Write ``view`` a slice at a time, each bounded by the send timeout."""
        with trio.CancelScope() as scope:
            self._sending = scope
            try:
                for start in range(0, len(view), SEND_SLICE_BYTES):
                    assert self._send_timeout is not None  # checked by send_all
                    scope.deadline = trio.current_time() + self._send_timeout
                    await self._stream.send_all(view[start : start + SEND_SLICE_BYTES])
            finally:
                self._sending = None
        if scope.cancelled_caught:
            if not self.aborted:
                self._on_timeout(self)
            await self.abort()
            raise trio.BrokenResourceError("The client took nothing of a write in time")

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        try:
            return await self._stream.receive_some(max_bytes)
        except trio.BrokenResourceError as error:
            # The reader may be the first to hear that the kernel ended the connection.
            self._note_kernel_timeout(error)
            raise

    def _note_kernel_timeout(self, error: trio.BrokenResourceError) -> None:
        if isinstance(error.__cause__, TimeoutError) and not self.aborted:
            self.aborted = True  # by the kernel, at the send timeout
            self._on_timeout(self)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def abort(self) -> None:
        """End the connection at once: a write in progress stops, reads see it closed."""
        self.aborted = True
        if self._sending is not None:
            self._sending.cancel()
        with trio.CancelScope(shield=True):  # closing a socket does not wait
            await self._stream.aclose()


#: Linux's bound on how long sent data may stay unacknowledged (the client's window staying
#: shut included), after which the kernel ends the connection.
_TCP_USER_TIMEOUT: int | None = getattr(_socket, "TCP_USER_TIMEOUT", None)


def _peer(sock: Any) -> str:
    try:
        return repr_socket_addr(sock.family, sock.getpeername())
    except OSError:  # gone already
        return "a client that left"


def _can_bound_in_kernel(sock: Any) -> bool:
    return (
        _TCP_USER_TIMEOUT is not None
        and isinstance(sock, trio.socket.SocketType)
        and sock.family in (_socket.AF_INET, _socket.AF_INET6)
        and sock.type == _socket.SOCK_STREAM
    )


class Connection(TCPServer):
    """One client connection, served by hypercorn's TCP server with trioframe's protocol."""

    def __init__(
        self,
        app: AppWrapper,
        config: Config,
        context: WorkerContext,
        state: ConnectionState,
        stream: GuardedStream,
        websocket_send_timeout: float | None,
    ) -> None:
        super().__init__(app, config, context, state, stream)  # type: ignore[arg-type]
        self.guarded_stream = stream
        self._websocket_send_timeout = websocket_send_timeout
        self._protocol: HTTP11Protocol | None = None

    def websocket_started(self) -> None:
        """From now on, writes are bounded by ``WEBSOCKET_SEND_TIMEOUT``."""
        self.guarded_stream.websocket = True
        self.guarded_stream.send_timeout = self._websocket_send_timeout

    async def run(self) -> None:
        socket = self.guarded_stream.socket
        try:
            client = parse_socket_addr(socket.family, socket.getpeername())
            server = parse_socket_addr(socket.family, socket.getsockname())
            async with ConnectionTasks(APP_QUEUE_SIZE) as task_group:
                self._task_group = task_group
                self._protocol = HTTP11Protocol(
                    _ConnectionApp(self.app, self),
                    self.config,
                    self.context,
                    task_group,
                    ConnectionState(self.state),
                    client,
                    server,
                    self.protocol_send,
                    self,
                )
                # hypercorn's own methods (closing, the idle timeout) use self.protocol.
                self.protocol = self._protocol  # type: ignore[assignment]
                await self.idle_task.restart(self._task_group, self._idle_timeout)
                await self._read_data()
                # The client has closed its end: hypercorn would keep the socket, and its
                # tasks, until the keep-alive timer fires; nothing is left to wait for.
                await self.idle_task.stop()
        except OSError:
            pass
        finally:
            await self._close()

    async def _read_data(self) -> None:
        # hypercorn's read loop, but a client that said its request was the last and then
        # shut its sending side is answered before the connection counts as closed.
        while True:
            try:
                with trio.fail_after(self.config.read_timeout or math.inf):
                    data = await self.stream.receive_some(MAX_RECV)
            except (trio.ClosedResourceError, trio.BrokenResourceError, trio.TooSlowError):
                break
            half_close = data == b"" and (
                self._protocol is not None and self._protocol.half_close_expected()
            )
            await self.protocol.handle(RawData(bytes(data)))
            if half_close and self._protocol is not None:
                await self._protocol.wait_answered()
            if data == b"":
                break
        await self.protocol.handle(Closed())

    async def send_continue(self) -> None:
        """Send ``100 Continue`` if the client waits for it before sending its body."""
        # Only an app the protocol called holds this method, so the protocol exists.
        assert self._protocol is not None
        await self._protocol.send_continue()


class _ConnectionApp:
    """The app, as one connection calls it: with the `CONTINUE_EXTENSION` in its scopes."""

    def __init__(self, app: AppWrapper, connection: Connection) -> None:
        self._app = app
        self._extension = _ContinueExtension(connection.send_continue)

    async def __call__(
        self,
        scope: Scope,
        receive: ASGIReceiveCallable,
        send: ASGISendCallable,
        sync_spawn: Callable[..., Any],
        call_soon: Callable[..., Any],
    ) -> None:
        if scope["type"] == "http":
            scope["extensions"][CONTINUE_EXTENSION] = self._extension
        await self._app(scope, receive, send, sync_spawn, call_soon)


class _ContinueExtension(dict[str, Any]):
    """The `CONTINUE_EXTENSION` entry of a scope: ``{"send": <the connection's sender>}``.

    ASGI middleware may deep-copy the scope (hypercorn's ``ProxyFixMiddleware`` does); a
    copy of this entry is the entry itself, since what it names is the live connection,
    which cannot and must not be copied.
    """

    def __init__(self, send: Callable[[], Awaitable[None]]) -> None:
        super().__init__(send=send)

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self


class ServerStop:
    """How a running `Server` is asked to stop: `gracefully`, then `now`."""

    def __init__(self) -> None:
        self.requested = trio.Event()
        self.hurried = trio.Event()

    def gracefully(self) -> None:
        """Stop accepting, close websockets with 1001, give requests the grace period."""
        self.requested.set()

    def now(self) -> None:
        """End every connection at once (the shutdown hooks still run)."""
        self.requested.set()
        self.hurried.set()


class Server:
    """Serves an app as hypercorn's trio worker does, with the bounds in the module docstring.

    Args:
        app: The app; its send timeouts and ``GRACEFUL_SHUTDOWN_TIMEOUT`` apply.
        config: hypercorn's configuration (see ``hypercorn_config``).
    """

    def __init__(self, app: Trioframe, config: Config) -> None:
        self.app = app
        self.config = config
        self.stop = ServerStop()
        self._app_wrapper = wrap_app(app, config.wsgi_max_body_size, "asgi")
        self._context = WorkerContext(config.max_requests)
        self._state: dict[str, Any] = {}
        self._streams: set[GuardedStream] = set()
        self._all_closed = trio.Event()
        self._all_closed.set()
        self._connections: trio.Nursery | None = None
        self._started = False

    @property
    def logger(self) -> logging.Logger:
        return self.app.logger

    async def serve(
        self,
        listeners: list[trio.SocketListener],
        *,
        task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run the lifespan, serve ``listeners`` until `stop` is asked, and shut down.

        ``task_status.started`` receives the addresses served, once the app has started.

        Raises:
            hypercorn.utils.LifespanFailureError: the app failed to start or to stop.
        """
        lifespan = Lifespan(self._observe_startup, self.config, self._state)
        async with trio.open_nursery() as lifespan_nursery:
            await lifespan_nursery.start(lifespan.handle_lifespan)
            await lifespan.wait_for_startup()
            if not self._started:
                # The lifespan task is about to raise the failure (hypercorn marks startup
                # done just before), which cancels this wait.
                await trio.sleep_forever()
            async with trio.open_nursery() as connections:
                self._connections = connections
                async with trio.open_nursery() as accepting:
                    for listener in listeners:
                        accepting.start_soon(
                            partial(
                                trio.serve_listeners,
                                self._serve_socket,
                                [listener],
                                handler_nursery=connections,
                            )
                        )
                    task_status.started([_describe(listener) for listener in listeners])
                    await self._wait_for_stop()
                    accepting.cancel_scope.cancel()
                await self._shut_down(connections)
            self._connections = None
            await lifespan.wait_for_shutdown()
            lifespan_nursery.cancel_scope.cancel()

    def open_connection(self, stream: SocketStream) -> None:
        """Serve a connection that was accepted some other way (the wire-level harness).

        Raises:
            RuntimeError: the server is not serving.
        """
        if self._connections is None:
            raise RuntimeError("The server is not serving; call it while serve() runs")
        self._connections.start_soon(self._serve_stream, stream)

    async def _observe_startup(
        self,
        scope: Scope,
        receive: ASGIReceiveCallable,
        send: ASGISendCallable,
        sync_spawn: Callable[..., Any],
        call_soon: Callable[..., Any],
    ) -> None:
        async def observed_send(message: Any) -> None:
            if message["type"] == "lifespan.startup.complete":
                self._started = True
            await send(message)

        await self._app_wrapper(scope, receive, observed_send, sync_spawn, call_soon)

    async def _wait_for_stop(self) -> None:
        # Asked to stop, or max_requests reached.
        await wait_any(self.stop.requested.wait, self._context.terminate.wait)

    async def _shut_down(self, connections: trio.Nursery) -> None:
        # Websockets never finish by themselves: close them now; requests get the grace period.
        self.app.serving_state.close_websockets()
        await self._context.terminated.set()  # idle keep-alive connections close
        with trio.move_on_after(self.config.graceful_timeout):
            await wait_any(self._all_closed.wait, self.stop.hurried.wait)
        # What is left would hold the shutdown: a write to a client that does not read is
        # shielded from cancellation inside hypercorn, but ending its stream stops it.
        for stream in list(self._streams):
            await stream.abort()
        connections.cancel_scope.cancel()

    async def _serve_socket(self, stream: trio.SocketStream) -> None:
        await self._serve_stream(stream)

    async def _serve_stream(self, stream: SocketStream) -> None:
        guarded = GuardedStream(
            stream, self.app.config["RESPONSE_SEND_TIMEOUT"], self._log_send_timeout
        )
        self._streams.add(guarded)
        self._all_closed = trio.Event()
        try:
            connection = Connection(
                self._app_wrapper,
                self.config,
                self._context,
                ConnectionState(self._state.copy()),
                guarded,
                self.app.config["WEBSOCKET_SEND_TIMEOUT"],
            )
            await connection.run()
        finally:
            self._streams.discard(guarded)
            if not self._streams:
                self._all_closed.set()

    def _log_send_timeout(self, stream: GuardedStream) -> None:
        if stream.websocket:
            return  # the websocket handler reports it, with the close code
        self.logger.warning(
            "Dropped the connection from %s: it took nothing of the response for %g s "
            "(RESPONSE_SEND_TIMEOUT)",
            stream.peer,
            stream.send_timeout,
        )


def _describe(listener: trio.SocketListener) -> str:
    socket = listener.socket
    return f"http://{repr_socket_addr(socket.family, socket.getsockname())}"
