"""``Websocket``: what a websocket handler sees of its connection, and its state machine.

How the states go::

    HANDSHAKE --accept()/send()/receive()--> CONNECTED --close() or client leaves--> CLOSED
        |                                                                           ^
        +--a response (denial) is sent--> REJECTED       client leaves before accept+

Every operation checks the state first and names both the state and the operation when it
is not allowed there, as wsproto does. The connection handler supplies the transport that
turns these operations into ASGI messages, and feeds received messages into ``inbound``.
"""

from __future__ import annotations

import enum
import json
from typing import TYPE_CHECKING, Any, Protocol

import trio
from werkzeug.datastructures import Headers

from ._exceptions import WebsocketDisconnect
from ._json import parse_client_json
from ._request import BaseRequestWebsocket

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ._response import Response
    from ._types import HeadersValue

#: Close codes an application may send: the standard ones that make sense for it, and the
#: ranges RFC 6455 reserves for libraries (3000-3999) and applications (4000-4999).
_SENDABLE_CLOSE_CODES = frozenset(
    {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}
)
#: The longest close reason a close frame can carry, in UTF-8 bytes.
MAX_CLOSE_REASON_BYTES = 123


class WebsocketState(enum.Enum):
    """Where a websocket is in its life."""

    HANDSHAKE = enum.auto()  #: connecting: it may be accepted or rejected
    CONNECTED = enum.auto()  #: accepted: messages flow both ways
    REJECTED = enum.auto()  #: refused with an HTTP response
    CLOSED = enum.auto()  #: closed by either side


class WebsocketTransport(Protocol):
    """How a `Websocket` reaches its client; the connection handler implements it."""

    async def accept(self, subprotocol: str | None, headers: Headers) -> None: ...
    async def send(self, data: str | bytes) -> None: ...
    async def close(self, code: int, reason: str) -> None: ...
    async def reject(self, response: Response) -> None: ...


class Websocket(BaseRequestWebsocket):
    """The websocket being handled, also available as the ``websocket`` global.

    URL, headers, cookies, ``authorization``, ``args``, ``host``, ``scheme`` and
    ``remote_addr`` work as on a request. ``receive()`` and ``send()`` accept the connection
    first if the handler has not; to reject it, return a response (or ``abort``) before
    accepting.
    """

    def __init__(
        self,
        scheme: str,
        server: tuple[str, int | None] | None,
        root_path: str,
        path: str,
        query_string: bytes,
        headers: Headers,
        remote_addr: str | None,
        *,
        subprotocols: list[str],
        transport: WebsocketTransport,
        inbound: trio.MemoryReceiveChannel[str | bytes],
        http_version: str = "1.1",
        json_loads: Callable[[str | bytes], Any] = json.loads,
        json_dumps: Callable[[Any], str] = json.dumps,
    ) -> None:
        super().__init__("GET", scheme, server, root_path, path, query_string, headers, remote_addr)
        #: The subprotocols the client offered, in its order of preference.
        self.requested_subprotocols = subprotocols
        #: The HTTP version of the handshake.
        self.http_version = http_version
        self.json_loads = json_loads
        self.json_dumps = json_dumps
        #: Where the connection is in its life; see `WebsocketState`.
        self.state = WebsocketState.HANDSHAKE
        #: The subprotocol chosen by ``accept``, if any.
        self.subprotocol: str | None = None
        #: The close code, once closed (by the app, or as the client reported it).
        self.close_code: int | None = None
        #: The close reason, once closed.
        self.close_reason = ""
        self._transport = transport
        self._inbound = inbound
        self._accept_headers: Headers | None = None
        #: Called with the handshake response's headers just before accepting (the app
        #: adds the session cookie there).
        self._on_accept: Callable[[Headers], Awaitable[None]] | None = None
        self._send_lock = trio.Lock()
        self._receiving = False

    @property
    def accepted(self) -> bool:
        """Whether the connection was accepted (it may have closed since)."""
        return self._accept_headers is not None

    async def accept(
        self, headers: HeadersValue | None = None, subprotocol: str | None = None
    ) -> None:
        """Accept the connection; calling it again with the same arguments does nothing.

        Args:
            headers: Extra headers for the handshake response.
            subprotocol: The subprotocol to speak; it must be one the client requested.

        Raises:
            ValueError: ``subprotocol`` was not requested by the client.
            RuntimeError: the websocket was already accepted with other arguments, or was
                rejected.
            WebsocketDisconnect: the client left before the connection was accepted.
        """
        accept_headers = Headers(headers) if headers is not None else Headers()
        async with self._send_lock:
            if self.state is WebsocketState.HANDSHAKE:
                if subprotocol is not None and subprotocol not in self.requested_subprotocols:
                    raise ValueError(
                        f"accept(subprotocol={subprotocol!r}): the client asked for "
                        f"{self.requested_subprotocols!r}; choose one of those or None"
                    )
                handshake_headers = accept_headers.copy()
                if self._on_accept is not None:
                    await self._on_accept(handshake_headers)
                self.state = WebsocketState.CONNECTED
                self.subprotocol = subprotocol
                self._accept_headers = accept_headers
                await self._transport.accept(subprotocol, handshake_headers)
                return
            self._check_not(WebsocketState.REJECTED, "accept")
            if self._accept_headers is None:  # the client left during the handshake
                raise self._disconnect()
            if subprotocol != self.subprotocol or accept_headers != self._accept_headers:
                raise RuntimeError(
                    "accept() was called again with different arguments; the websocket was "
                    f"already accepted with subprotocol={self.subprotocol!r} and headers "
                    f"{self._accept_headers.to_wsgi_list()!r}"
                )
            # Already accepted alike: nothing to do (taking the lock was the checkpoint).
            return

    async def receive(self) -> str | bytes:
        """Wait for the next message from the client: ``str`` for text, ``bytes`` for binary.

        Accepts the connection first if needed. Safe to cancel: no message is lost. Only
        one task may receive at a time; hand messages to others through a memory channel.

        Raises:
            WebsocketDisconnect: the connection is closed; ``code`` says how.
            trio.BusyResourceError: another task is already receiving.
        """
        if self._receiving:
            raise trio.BusyResourceError(
                "another task is already receiving on this websocket; receive in one task "
                "and pass messages to the others through a trio memory channel"
            )
        self._receiving = True
        try:
            await self._ensure_accepted("receive")
            if self.state is WebsocketState.CLOSED:
                raise self._disconnect()
            try:
                return await self._inbound.receive()
            except (trio.EndOfChannel, trio.ClosedResourceError):
                raise self._disconnect() from None
        finally:
            self._receiving = False

    async def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send a text (``str``) or binary (``bytes`` or another buffer) message.

        Accepts the connection first if needed. Waits while the client is slow to read, so
        a fast producer is held to the client's pace. Concurrent sends are sent one at a time.

        Raises:
            TypeError: ``data`` is neither ``str`` nor ``bytes``; use `send_json` for others.
            WebsocketDisconnect: the connection is closed.
        """
        payload: object = data  # checked at run time: callers are not always type-checked
        if isinstance(payload, bytearray | memoryview):
            payload = bytes(payload)
        if not isinstance(payload, str | bytes):
            raise TypeError(
                f"send() takes str or bytes, not {type(payload).__name__}; use send_json() to "
                "send other values as JSON"
            )
        await self._ensure_accepted("send")
        # The lock only keeps concurrent sends apart. Uncontended, it is taken without a
        # trip through the scheduler: the server's send is this method's checkpoint.
        try:
            self._send_lock.acquire_nowait()
        except trio.WouldBlock:
            await self._send_lock.acquire()
        try:
            if self.state is WebsocketState.CLOSED:
                raise self._disconnect()
            await self._transport.send(payload)
        finally:
            self._send_lock.release()

    async def receive_json(self) -> Any:
        """Receive a message and parse it as JSON.

        Raises:
            BadRequest: the message is not JSON, or nested too deeply to parse; uncaught, it
                closes the connection with 1008.
            WebsocketDisconnect: the connection is closed.
        """
        return parse_client_json(self.json_loads, await self.receive(), "a JSON message")

    async def send_json(self, value: Any) -> None:
        """Send ``value`` as a JSON text message.

        Raises:
            TypeError: ``value`` cannot be serialised.
            WebsocketDisconnect: the connection is closed.
        """
        await self.send(self.json_dumps(value))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection; closing a closed websocket does nothing.

        Before ``accept`` this refuses the connection (servers answer with 403); to refuse
        with a status and body of your choice, return a response instead.

        Args:
            code: 1000 (normal), another standard code, or one of 3000-4999.
            reason: A short reason for the client, at most 123 bytes as UTF-8.

        Raises:
            ValueError: the code cannot be sent or the reason is too long.
        """
        validate_close(code, reason)
        async with self._send_lock:
            if self.state in (WebsocketState.CLOSED, WebsocketState.REJECTED):
                return  # taking the lock was the checkpoint
            self.state = WebsocketState.CLOSED
            self.close_code, self.close_reason = code, reason
            await self._transport.close(code, reason)

    async def _ensure_accepted(self, operation: str) -> None:
        self._check_not(WebsocketState.REJECTED, operation)
        if self.state is WebsocketState.HANDSHAKE:
            await self.accept()

    def _check_not(self, state: WebsocketState, operation: str) -> None:
        if self.state is state:
            raise RuntimeError(
                f"websocket.{operation}() is not allowed in state {state.name}: the connection "
                "was refused with an HTTP response and never opened"
            )

    def _disconnect(self) -> WebsocketDisconnect:
        return WebsocketDisconnect(
            self.close_code if self.close_code is not None else 1000, self.close_reason
        )

    def _peer_closed(self, code: int, reason: str) -> bool:
        """Record that the client left; ``True`` if the connection was still open until now."""
        if self.state in (WebsocketState.CLOSED, WebsocketState.REJECTED):
            return False
        self.state = WebsocketState.CLOSED
        self.close_code, self.close_reason = code, reason
        return True

    async def _reject(self, response: Response) -> None:
        """Refuse the connection with ``response``; only possible before it is accepted.

        Raises:
            RuntimeError: the websocket is not in the handshake any more.
        """
        async with self._send_lock:
            if self.state is not WebsocketState.HANDSHAKE:
                raise RuntimeError(
                    f"websocket rejection is not allowed in state {self.state.name}: a "
                    "connection can only be refused before it is accepted"
                )
            self.state = WebsocketState.REJECTED
            await self._transport.reject(response)


def validate_close(code: int, reason: str) -> None:
    """Check a close code and reason can be sent.

    Raises:
        ValueError: what is wrong, and what is allowed.
    """
    if code not in _SENDABLE_CLOSE_CODES and not 3000 <= code <= 4999:
        raise ValueError(
            f"close code {code} cannot be sent; use 1000 (normal), another standard code "
            "such as 1001, 1008 or 1011, or an application code in 3000-4999"
        )
    if len(reason.encode("utf-8")) > MAX_CLOSE_REASON_BYTES:
        raise ValueError(
            f"a close reason may be at most {MAX_CLOSE_REASON_BYTES} bytes as UTF-8; shorten it"
        )
