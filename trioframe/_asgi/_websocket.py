"""The websocket handler: an ASGI ``websocket`` scope in, a `Websocket` to the app.

How one connection is served:

1. After ``websocket.connect``, a `Websocket` is built. Messages from the client reach it
   through a memory channel of ``WEBSOCKET_QUEUE_SIZE`` messages.
2. A nursery owned by the connection holds a reader task beside the handler. The reader is
   the only caller of ASGI ``receive``. It forwards messages, enforces the message size
   limit and the queue overflow policy, and when the client leaves it cancels the handler,
   and with it every task the handler started, whatever the handler was doing.
3. When the handler ends, its outcome decides what the client gets: before accept, the
   HTTP response it returned (a denial); after accept, a close: 1000 when it returned,
   1008 or 1011 when it failed, 1009 or 1008 when the client broke a limit, 1008 when it
   read nothing of a message for ``WEBSOCKET_SEND_TIMEOUT``.
4. ``teardown_websocket`` runs (shielded, bounded) and the reader is cancelled.

When the server stops, it asks `ServingState` to close every connection at once, with
1001 (or 503 for one still in its handshake): a websocket never finishes by itself, so
waiting out the grace period the server gives HTTP requests would gain nothing. A server
that cannot ask cancels the connection when its grace period ends, with the same result.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import trio
from werkzeug.http import HTTP_STATUS_CODES

from trioframe._concurrency import LoneError, bounded_cleanup
from trioframe._config import checked_setting
from trioframe._context import WebsocketContext
from trioframe._exceptions import (
    InternalServerError,
    ServiceUnavailable,
    TrioframeError,
    WebsocketDisconnect,
    strip_disconnects,
)
from trioframe._response import http_exception_response
from trioframe._serving_state import GOING_AWAY
from trioframe._types import CloseCode
from trioframe._websocket import WebsocketState, over_size

from ._translate import build_websocket, encode_headers, send_response

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from werkzeug.datastructures import Headers

    from trioframe._app import Trioframe
    from trioframe._response import Response
    from trioframe._types import (
        ASGIReceive,
        ASGISend,
        WebsocketAcceptEvent,
        WebsocketCloseEvent,
        WebsocketScope,
        WebsocketSendEvent,
    )
    from trioframe._websocket import Websocket

#: The close reason for a client that reads too slowly.
TOO_SLOW = "the client read nothing for too long"


@dataclass(frozen=True)
class Limits:
    """The configured limits for one connection."""

    queue_size: int
    max_message_size: int | None
    overflow: str
    send_timeout: float | None

    @classmethod
    def from_config(cls, config: dict[str, object]) -> Limits:
        """Read the limits from the app's configuration.

        Raises:
            SetupError: a setting has a value trioframe cannot use.
        """
        send_timeout = checked_setting(config, "WEBSOCKET_SEND_TIMEOUT")
        return cls(
            queue_size=checked_setting(config, "WEBSOCKET_QUEUE_SIZE"),
            max_message_size=checked_setting(config, "WEBSOCKET_MAX_MESSAGE_SIZE"),
            overflow=str(checked_setting(config, "WEBSOCKET_QUEUE_OVERFLOW")),
            send_timeout=None if send_timeout is None else float(send_timeout),
        )


class ASGITransport:
    """Turns `Websocket` operations into ASGI messages.

    A message that took ``send_timeout`` or longer to send calls ``on_too_slow`` and makes
    the operation raise `WebsocketDisconnect` with 1008.
    """

    def __init__(
        self,
        send: ASGISend,
        *,
        can_send_response: bool,
        logger: logging.Logger,
        send_timeout: float | None,
    ):
        self._send = send
        self._can_send_response = can_send_response
        self._logger = logger
        self._send_timeout = send_timeout
        #: Called once a message could not be sent in time.
        self.on_too_slow: Callable[[], None] = lambda: None

    async def accept(self, subprotocol: str | None, headers: Headers) -> None:
        message: WebsocketAcceptEvent = {
            "type": "websocket.accept",
            "subprotocol": subprotocol,
            "headers": encode_headers(headers),
        }
        await self._send_in_time(message)

    async def send(self, data: str | bytes) -> None:
        message: WebsocketSendEvent = (
            {"type": "websocket.send", "text": data, "bytes": None}
            if isinstance(data, str)
            else {"type": "websocket.send", "text": None, "bytes": data}
        )
        await self._send_in_time(message)

    async def close(self, code: int, reason: str) -> None:
        message: WebsocketCloseEvent = {"type": "websocket.close", "code": code, "reason": reason}
        await self._send_in_time(message)

    async def reject(self, response: Response) -> None:
        if self._can_send_response:
            await send_response(
                self._send,
                response,
                head=False,
                logger=self._logger,
                message_prefix="websocket.http",
            )
        else:
            # Without the denial-response extension, a close before accept is the only way
            # to refuse; servers answer it with 403.
            await self.close(CloseCode.NORMAL, "")

    async def _send_in_time(self, message: object) -> None:
        if self._send_timeout is None:
            await self._send(message)
            return
        # Checked when the send returns, not with a cancel scope around each message (which
        # would cost every message more than the check): hypercorn's write cannot be
        # cancelled anyway, and trioframe's server ends it at the same timeout.
        deadline = trio.current_time() + self._send_timeout
        try:
            await self._send(message)
        finally:
            too_slow = trio.current_time() >= deadline
            if too_slow:
                self.on_too_slow()  # also when the late send ended in a cancel from outside
        if too_slow:
            raise WebsocketDisconnect(CloseCode.POLICY_VIOLATION, TOO_SLOW)


@dataclass(eq=False)  # compared and hashed by identity: each is one live connection
class Connection:
    """What the reader and the handler side share about one connection."""

    websocket: Websocket
    handler_scope: trio.CancelScope
    #: A close the reader asked for because the client broke a limit.
    close_request: tuple[int, str] | None = None

    def stop(self, code: int, reason: str) -> None:
        """End the handler, and close with ``code`` after."""
        self.close_request = (code, reason)
        self.handler_scope.cancel()


async def handle_websocket(
    app: Trioframe, scope: WebsocketScope, receive: ASGIReceive, send: ASGISend
) -> None:
    """Serve one websocket connection, from handshake to close.

    Raises:
        SetupError: the websocket settings are invalid.
        Exception: an unhandled application error, only when exceptions propagate
            (``TESTING``); the connection is refused or closed with 1011 first.
    """
    first = await receive()
    if first["type"] != "websocket.connect":
        return  # the client left before the handshake began
    limits = Limits.from_config(app.config)
    inbound_sender, inbound_receiver = trio.open_memory_channel[str | bytes](limits.queue_size)
    transport = ASGITransport(
        send,
        can_send_response="websocket.http.response" in scope.get("extensions", {}),
        logger=app.logger,
        send_timeout=limits.send_timeout,
    )
    connection = Connection(
        build_websocket(app, scope, transport, inbound_receiver), trio.CancelScope()
    )
    transport.on_too_slow = partial(_too_slow, app, connection, limits)
    lone = LoneError()  # the caller sees the handler's error, not a group
    async with trio.open_nursery() as nursery:
        nursery.start_soon(read_messages, receive, inbound_sender, connection, limits)
        with lone.caught():
            try:
                with app.serving_state.websocket_open(connection):
                    await _serve(app, connection)
            finally:
                inbound_receiver.close()
                nursery.cancel_scope.cancel()
    lone.reraise()


@trio.lowlevel.enable_ki_protection  # a task of its own: see Trioframe.__call__
async def read_messages(
    receive: ASGIReceive,
    inbound: trio.MemorySendChannel[str | bytes],
    connection: Connection,
    limits: Limits,
) -> None:
    """Forward the client's messages to the handler until the client leaves."""
    websocket = connection.websocket
    with inbound:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                code = message.get("code", CloseCode.ABNORMAL)
                if websocket._peer_closed(code, message.get("reason") or ""):
                    connection.handler_scope.cancel()
                return
            if message["type"] != "websocket.receive":
                continue
            text = message.get("text")
            data: str | bytes = text if text is not None else message.get("bytes") or b""
            if over_size(data, limits.max_message_size):
                connection.stop(
                    CloseCode.MESSAGE_TOO_BIG, f"message over {limits.max_message_size} bytes"
                )
                return
            try:
                try:
                    # Without waiting when there is room: the next receive() is the
                    # checkpoint, and each trip through the scheduler costs every message.
                    inbound.send_nowait(data)
                except trio.WouldBlock:
                    if limits.overflow != "block":
                        connection.stop(
                            CloseCode.POLICY_VIOLATION, "messages arrive faster than handled"
                        )
                        return
                    await inbound.send(data)
            except trio.BrokenResourceError:
                return  # the handler has finished; nobody will read more


def _too_slow(app: Trioframe, connection: Connection, limits: Limits) -> None:
    """End a connection whose client read nothing of a message in time; log it once."""
    if connection.close_request == (CloseCode.POLICY_VIOLATION, TOO_SLOW):
        return
    websocket = connection.websocket
    app.logger.warning(
        "Closing the websocket %s from %s with 1008: the client read nothing for %g s "
        "(WEBSOCKET_SEND_TIMEOUT)",
        websocket.path,
        websocket.remote_addr,
        limits.send_timeout,
    )
    connection.stop(CloseCode.POLICY_VIOLATION, TOO_SLOW)


async def _serve(app: Trioframe, connection: Connection) -> None:
    websocket = connection.websocket
    ctx = WebsocketContext(app, websocket)
    ctx.push()
    error: Exception | None = None
    response: Response | None = None
    propagating: Exception | None = None
    try:
        try:
            with connection.handler_scope:
                response = await app.full_dispatch_websocket(ctx)
        except Exception as unhandled:
            # What is left once the cancel scope has taken its own Cancelled out of a group.
            error = strip_disconnects(unhandled)
        if (
            isinstance(error, TrioframeError)
            and error.close_code is not None
            and websocket.state is WebsocketState.CONNECTED
        ):
            # Not a failure of the app: the error says how the connection must end.
            app.logger.warning(
                "Closing the websocket %s with %d: %s", websocket.path, error.close_code, error
            )
            connection.close_request = (error.close_code, type(error).__name__)
        elif error is not None:
            if app.propagate_exceptions:
                propagating = error
                response = http_exception_response(InternalServerError(), app.response_class)
            else:
                response = await app.handle_websocket_exception(ctx, error)
        if connection.close_request != GOING_AWAY:
            # A client too slow to take the close gets no more time than for a message.
            with bounded_cleanup("websocket close"), suppress(WebsocketDisconnect):
                await _finish(connection, response)
    finally:
        if websocket.state in (WebsocketState.HANDSHAKE, WebsocketState.CONNECTED):
            # The server is stopping: it asked (close_all), or cancelled the connection.
            with bounded_cleanup("websocket close"), suppress(WebsocketDisconnect):
                await _going_away(app, websocket)
        await ctx.end(error)
    if propagating is not None:
        raise propagating


async def _going_away(app: Trioframe, websocket: Websocket) -> None:
    """Tell the client the server is going away: 1001 if open, 503 if still connecting."""
    if websocket.state is WebsocketState.CONNECTED:
        await websocket.close(*GOING_AWAY)
    else:
        await websocket._reject(
            http_exception_response(
                ServiceUnavailable("The server is shutting down."), app.response_class
            )
        )


async def _finish(connection: Connection, response: Response | None) -> None:
    """Tell the client how it ended: a denial before accept, a close code after."""
    websocket = connection.websocket
    if websocket.state is WebsocketState.HANDSHAKE:
        if response is None:
            await websocket.close()  # ended without accepting: refuse (servers answer 403)
        else:
            await websocket._reject(response)
    elif websocket.state is WebsocketState.CONNECTED:
        if connection.close_request is not None:
            code, reason = connection.close_request
        elif response is None:
            code, reason = CloseCode.NORMAL, ""
        else:
            # A response cannot be sent once accepted; its status picks the close code.
            status = response.status_code
            code = CloseCode.POLICY_VIOLATION if status < 500 else CloseCode.INTERNAL_ERROR
            reason = HTTP_STATUS_CODES.get(status, "")
        await websocket.close(code, reason)
