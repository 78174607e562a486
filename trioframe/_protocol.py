"""hypercorn's HTTP/1.1 and websocket protocols, with the bounds trioframe's serving promises.

trioframe's server (``_server.py``) runs hypercorn's protocol code for every connection,
with these subclasses where hypercorn alone falls short of what trioframe promises:

- `HTTP11Protocol` speaks HTTP/1.1 (and 1.0) only: trioframe's serving has no TLS, and no
  browser speaks HTTP/2 in clear text, so ``Upgrade: h2c`` is ignored and other versions
  get 505. It refuses a request head over ``h11_max_incomplete_size`` or with more than
  `MAX_HEADER_LINES` lines with 431, also when it arrives in one read (h11 only limits an
  incomplete head). It closes the connection after a request that has both
  ``Content-Length`` and ``Transfer-Encoding`` (RFC 9112 6.1). It holds ``100 Continue``
  back until the app reads the body, so a body the app refuses is never asked for. And it
  tells the connection when a client that shuts its sending side still wants its answer
  (`HTTP11Protocol.half_close_expected`).
- `GuardedWebsocket` never negotiates permessage-deflate (wsproto inflates a frame without
  any limit), ends the connection once a message passes the size limit (hypercorn sends
  1009 and then keeps buffering whatever follows), and sends a close frame with 1002 or
  1007 when a client breaks the protocol (hypercorn hangs up without one).
- `HTTPStreamLoggedOnce` writes one access line per request (hypercorn writes a second,
  without a status, for a client that closes as the response ends).
- `ConnectionTasks` runs the app and closes its message channel when the app ends, so the
  server never waits to hand a message to an app that has finished (hypercorn does, and a
  client that fills the queue and goes quiet then holds its connection for good).
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING, Any, Protocol

import h11
import trio
from hypercorn.events import Closed
from hypercorn.protocol.events import Request, StreamClosed
from hypercorn.protocol.events import Response as ResponseEvent
from hypercorn.protocol.h11 import STREAM_ID, H11Protocol, H11WSConnection
from hypercorn.protocol.http_stream import ASGIHTTPState, HTTPStream
from hypercorn.protocol.ws_stream import FrameTooLargeError, WSStream
from hypercorn.trio.task_group import TaskGroup
from wsproto.connection import ConnectionState
from wsproto.events import CloseConnection, Message, Ping
from wsproto.frame_protocol import CloseReason

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from hypercorn.config import Config
    from hypercorn.events import Event
    from hypercorn.protocol.events import Event as StreamEvent
    from hypercorn.typing import (
        AppWrapper,
        ASGIReceiveEvent,
        ASGISendEvent,
        H11SendableEvent,
        Scope,
        WorkerContext,
    )
    from hypercorn.typing import ConnectionState as ConnectionStateType
    from hypercorn.typing import TaskGroup as TaskGroupType

#: The most header lines a request head may have.
MAX_HEADER_LINES = 100
#: The HTTP versions trioframe's serving speaks.
HTTP_VERSIONS = frozenset({b"1.0", b"1.1"})


class ConnectionGuard(Protocol):
    """What the protocol tells the connection that carries it."""

    def websocket_started(self) -> None:
        """The connection now carries a websocket."""


class _Refused(Exception):
    """A request was answered with an error and the connection is closing."""


class HTTP11Protocol(H11Protocol):
    """hypercorn's HTTP/1.1 protocol with the request checks described in the module."""

    def __init__(
        self,
        app: AppWrapper,
        config: Config,
        context: WorkerContext,
        task_group: TaskGroupType,
        connection_state: ConnectionStateType,
        client: tuple[str, int] | None,
        server: tuple[str, int] | None,
        send: Callable[[Event], Awaitable[None]],
        guard: ConnectionGuard,
    ) -> None:
        super().__init__(
            app, config, context, task_group, connection_state, False, client, server, send
        )
        self._guard = guard
        self._close_after_response = False
        self._continue_wanted = False
        #: Whether the client said this request is its last (``Connection: close``, HTTP/1.0).
        self._last_request = False
        self._answered = trio.Event()

    async def handle(self, event: Event) -> None:
        # A refused request is answered, and the connection is closing: the rest is not read.
        with contextlib.suppress(_Refused):
            await super().handle(event)

    async def send_continue(self) -> None:
        """Send the ``100 Continue`` the client waits for, if it waits for one."""
        self._continue_wanted = True
        if self.connection.they_are_waiting_for_100_continue:
            await self._send_h11_event(
                h11.InformationalResponse(
                    status_code=100, headers=self.config.response_headers("h11")
                )
            )

    async def _send_h11_event(self, event: H11SendableEvent) -> None:
        if (
            isinstance(event, h11.InformationalResponse)
            and event.status_code == 100
            and not self._continue_wanted
        ):
            return  # held back until the app reads the body; see send_continue
        await super()._send_h11_event(event)

    async def stream_send(self, event: StreamEvent) -> None:
        if self._close_after_response and isinstance(event, ResponseEvent):
            event = dataclasses.replace(event, headers=[*event.headers, (b"connection", b"close")])
        if isinstance(event, StreamClosed):
            self._answered.set()
        await super().stream_send(event)

    def half_close_expected(self) -> bool:
        """Whether a client that shuts its sending side now still wants the answer.

        A client that said its request is the last one (``Connection: close``, or HTTP/1.0
        without keep-alive) and has sent it whole has nothing more to send: shutting its
        side is how some clients say so. Any other client closing its side has gone.
        """
        return (
            self._last_request
            and isinstance(self.stream, HTTPStream)
            # Its request is in whole: DONE, or MUST_CLOSE when it said it was the last.
            and self.connection.their_state in (h11.DONE, h11.MUST_CLOSE)
            and not self._answered.is_set()
        )

    async def wait_answered(self) -> None:
        """Wait until the response to the current request is complete (or was not begun)."""
        await self._answered.wait()

    async def _check_protocol(self, event: h11.Request) -> None:
        """Ignore ``Upgrade: h2c``; the version check in `_create_stream` refuses HTTP/2."""

    async def _create_stream(self, request: h11.Request) -> None:
        await self._check_request(request)
        names = [name.lower() for name, _ in request.headers]
        # RFC 9112 6.1: a request with both may have been framed differently by a proxy.
        self._close_after_response = b"content-length" in names and b"transfer-encoding" in names
        self._continue_wanted = False
        self._answered = trio.Event()
        self._last_request = not _keeps_alive(request)
        websocket = _is_websocket_upgrade(request)
        stream_class = GuardedWebsocket if websocket else HTTPStreamLoggedOnce
        stream = stream_class(
            self.app,
            self.config,
            self.context,
            self.task_group,
            False,
            self.client,
            self.server,
            self.stream_send,
            STREAM_ID,
        )
        if websocket:
            self.connection = H11WSConnection(self.connection)  # type: ignore[arg-type]
            self._guard.websocket_started()
        self.stream = stream
        headers = (
            request.headers.raw_items()
            if self.config.h11_pass_raw_headers
            else list(request.headers)
        )
        await stream.handle(
            Request(
                stream_id=STREAM_ID,
                headers=headers,
                http_version=request.http_version.decode(),
                method=request.method.decode("ascii").upper(),
                raw_path=request.target,
                state=self.connection_state,
            )
        )
        self.keep_alive_requests += 1
        await self.context.mark_request()

    async def _check_request(self, request: h11.Request) -> None:
        if request.http_version not in HTTP_VERSIONS:
            await self._refuse(505)
        head_size = len(request.method) + len(request.target) + 12
        head_size += sum(len(name) + len(value) + 4 for name, value in request.headers)
        too_large = head_size > self.config.h11_max_incomplete_size
        if too_large or len(request.headers) > MAX_HEADER_LINES:
            await self._refuse(431)

    async def _refuse(self, status_code: int) -> None:
        await self._send_error_response(status_code)
        await self.send(Closed())
        raise _Refused()


def _keeps_alive(request: h11.Request) -> bool:
    tokens = {
        token.strip().lower()
        for name, value in request.headers
        if name == b"connection"
        for token in value.split(b",")
    }
    if request.http_version == b"1.0":
        return b"keep-alive" in tokens
    return b"close" not in tokens


def _is_websocket_upgrade(request: h11.Request) -> bool:
    upgrade = b""
    connection = b""
    for name, value in request.headers:
        if name == b"upgrade":
            upgrade = value.strip().lower()
        elif name == b"connection":
            connection = value.lower()
    tokens = {token.strip() for token in connection.split(b",")}
    return upgrade == b"websocket" and b"upgrade" in tokens and request.method.upper() == b"GET"


class HTTPStreamLoggedOnce(HTTPStream):
    """hypercorn's HTTP stream, with one access line per request: hypercorn writes a
    second one, with no status, when the client closes while the last part of the
    response is being sent."""

    _ending = False

    async def app_send(self, message: ASGISendEvent | None) -> None:
        if (
            message is not None
            and message["type"] == "http.response.body"
            and not message.get("more_body", False)
        ):
            # The client may read this last part and hang up before it is fully sent.
            self._ending = True
        await super().app_send(message)

    async def handle(self, event: StreamEvent) -> None:
        if isinstance(event, StreamClosed) and self._ending:
            # The response was whole: its line, with its status, is written as it ends.
            self.state = ASGIHTTPState.CLOSED
        await super().handle(event)


class GuardedWebsocket(WSStream):
    """hypercorn's websocket stream with the bounds described in the module."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The close code this side ended the connection with, for the app's disconnect.
        self._ended_with: int | None = None

    async def handle(self, event: StreamEvent) -> None:
        if isinstance(event, Request):
            # Without the offer, the handshake negotiates no compression.
            headers = [(n, v) for n, v in event.headers if n.lower() != b"sec-websocket-extensions"]
            await super().handle(dataclasses.replace(event, headers=headers))
        elif isinstance(event, StreamClosed) and self._ended_with is not None and not self.closed:
            # Ended here, after the handshake spawned the app: it hears the code sent.
            self.closed = True
            assert self.app_put is not None
            await self.app_put({"type": "websocket.disconnect", "code": self._ended_with})
        else:  # hypercorn's own handling (which ignores everything once closed)
            await super().handle(event)

    async def _handle_events(self) -> None:
        for event in self.connection.events():
            if isinstance(event, Message):
                try:
                    self.buffer.extend(event)
                except FrameTooLargeError:
                    self.buffer.clear()
                    limit = self.buffer.max_length
                    await self._end(CloseReason.MESSAGE_TOO_BIG, f"message over {limit} bytes")
                    return
                if event.message_finished:
                    message = self.buffer.to_message()
                    self.buffer.clear()
                    # wsproto reports messages only once the handshake, which set
                    # app_put, is done.
                    assert self.app_put is not None
                    await self.app_put(message)
            elif isinstance(event, Ping):
                await self._send_wsproto_event(event.response())
            elif isinstance(event, CloseConnection):
                if self.connection.state in (ConnectionState.OPEN, ConnectionState.LOCAL_CLOSING):
                    # A close the client never sent: wsproto reports a broken frame this way.
                    await self._end(event.code, event.reason or "")
                    return
                if self.connection.state is ConnectionState.REMOTE_CLOSING:
                    await self._send_wsproto_event(event.response())
                await self.send(StreamClosed(stream_id=self.stream_id))

    async def _end(self, code: int, reason: str) -> None:
        """Close with ``code`` and end the connection: nothing more is read from it."""
        self._ended_with = code
        await self._send_wsproto_event(CloseConnection(code=code, reason=reason))
        await self.send(StreamClosed(stream_id=self.stream_id))


class ConnectionTasks(TaskGroup):
    """A connection's task group, where the server's messages to an app never wait for
    ever; see `AppMessages`.

    Args:
        queue_size: Messages queued for the app, beside the disconnect.
    """

    def __init__(self, queue_size: int) -> None:
        super().__init__()
        self._queue_size = queue_size

    async def spawn_app(
        self,
        app: AppWrapper,
        config: Config,
        scope: Scope,
        send: Callable[[ASGISendEvent | None], Awaitable[None]],
    ) -> Callable[[ASGIReceiveEvent], Awaitable[None]]:
        messages = AppMessages(self._queue_size)
        assert self._nursery is not None  # spawn_app is only called inside the group
        self._nursery.start_soon(_run_app, app, config, scope, messages, send)
        return messages.put


class AppMessages:
    """What the server has for one app call: a bounded queue, and a slot for the disconnect.

    hypercorn hands every message to the app through one bounded queue, the disconnect
    included, and waits while it is full. That wait is for ever once the app has finished,
    or when the app's own ``send`` is where the server reports the disconnect (as it does
    after the last message of a response) while the queue holds a body the app never read.
    Here the disconnect never waits: it comes after whatever is queued, and once it is in
    (or the app has finished) nothing more is queued.
    """

    def __init__(self, capacity: int) -> None:
        self._sender: trio.MemorySendChannel[ASGIReceiveEvent]
        self._receiver: trio.MemoryReceiveChannel[ASGIReceiveEvent]
        self._sender, self._receiver = trio.open_memory_channel(capacity)
        self._disconnect: ASGIReceiveEvent | None = None

    async def put(self, message: ASGIReceiveEvent) -> None:
        """Queue ``message`` for the app, waiting while the queue is full; a disconnect
        never waits."""
        if message["type"] in _DISCONNECTS:
            if self._disconnect is None:
                self._disconnect = message
                self._sender.close()  # a put waiting for room gives up
            await trio.lowlevel.checkpoint()
            return
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await self._sender.send(message)  # broken: the app has finished; closed: gone

    async def receive(self) -> ASGIReceiveEvent:
        """The next message for the app: what is queued, then the disconnect."""
        try:
            return await self._receiver.receive()
        except trio.EndOfChannel:
            assert self._disconnect is not None  # only the disconnect closes the queue
            await trio.lowlevel.checkpoint()
            return self._disconnect

    def close(self) -> None:
        """The app has finished: nothing more is queued."""
        self._receiver.close()
        self._sender.close()


_DISCONNECTS = frozenset({"http.disconnect", "websocket.disconnect"})


async def _run_app(
    app: AppWrapper,
    config: Config,
    scope: Scope,
    messages: AppMessages,
    send: Callable[[ASGISendEvent | None], Awaitable[None]],
) -> None:
    try:
        try:
            await app(scope, messages.receive, send, trio.to_thread.run_sync, trio.from_thread.run)
        finally:
            messages.close()
    except Exception:
        await config.log.exception("Error in ASGI Framework")
    finally:
        await send(None)
