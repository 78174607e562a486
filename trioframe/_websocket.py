"""``Websocket``: what a websocket handler sees of its connection, and its state machine.

How the states go::

    HANDSHAKE --accept()/send()/receive()--> CONNECTED --close() or client leaves--> CLOSED
        |                                                                           ^
        +--a response (denial) is sent--> REJECTED       client leaves before accept+

Every operation looks its step up in one table, ``_STEPS[state, operation]``; a step that
is not allowed raises an error naming both the state and the operation, as wsproto does.
The two directions are recorded apart: ``app_close`` is the close the app sent,
``client_close`` the one the client reported, whichever came first or both. The connection
handler supplies the transport that turns operations into ASGI messages, feeds received
messages into ``inbound``, and reports what only it knows through two methods kept for
it, ``_peer_closed`` (the client left) and ``_reject`` (a refusal to send); dispatch sets
``_on_accept`` to put the session's cookie in the handshake.
"""

from __future__ import annotations

import enum
import json
from typing import TYPE_CHECKING, Any, Protocol

import trio
from werkzeug.datastructures import Headers

from ._concurrency import ConflictDetector
from ._exceptions import WebsocketDisconnect
from ._json import parse_client_json
from ._request import BaseRequestWebsocket
from ._types import CloseCode

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ._response import Response
    from ._types import HeadersValue

#: Close codes an application may send: every named one but ``ABNORMAL``, and the ranges
#: RFC 6455 reserves for libraries (3000-3999) and applications (4000-4999).
_SENDABLE_CLOSE_CODES = frozenset(CloseCode) - {CloseCode.ABNORMAL}
#: The longest close reason a close frame can carry, in UTF-8 bytes.
MAX_CLOSE_REASON_BYTES = 123


class WebsocketState(enum.Enum):
    """Where a websocket is in its life."""

    HANDSHAKE = enum.auto()  #: connecting: it may be accepted or rejected
    CONNECTED = enum.auto()  #: accepted: messages flow both ways
    REJECTED = enum.auto()  #: refused with an HTTP response
    CLOSED = enum.auto()  #: closed by either side


class Operation(enum.Enum):
    """What can happen to a websocket: the app's operations, and the client leaving."""

    ACCEPT = "websocket.accept()"
    RECEIVE = "websocket.receive()"
    SEND = "websocket.send()"
    CLOSE = "websocket.close()"
    REJECT = "websocket rejection"
    CLIENT_CLOSE = "the client's close"


class Step(enum.Enum):
    """What an operation does in a state."""

    MOVE = enum.auto()  #: carry it out; the table names the state it leads to
    ACCEPT_FIRST = enum.auto()  #: accept implicitly, then carry it out
    ALREADY_DONE = enum.auto()  #: nothing to do: it has happened already
    DISCONNECTED = enum.auto()  #: raise WebsocketDisconnect with the close code
    NOT_ALLOWED = enum.auto()  #: a programming error: raise RuntimeError


_NEVER_OPENED = "the connection was refused with an HTTP response and never opened"
_REFUSE_BEFORE_ACCEPT = "a connection can only be refused before it is accepted"

_S, _O = WebsocketState, Operation
#: ``(state, operation) -> (step, the state it leads to, or why it is not allowed)``
_STEPS: dict[tuple[WebsocketState, Operation], tuple[Step, WebsocketState | str | None]] = {
    (_S.HANDSHAKE, _O.ACCEPT): (Step.MOVE, _S.CONNECTED),
    (_S.HANDSHAKE, _O.RECEIVE): (Step.ACCEPT_FIRST, None),
    (_S.HANDSHAKE, _O.SEND): (Step.ACCEPT_FIRST, None),
    (_S.HANDSHAKE, _O.CLOSE): (Step.MOVE, _S.CLOSED),  # refuses; servers answer 403
    (_S.HANDSHAKE, _O.REJECT): (Step.MOVE, _S.REJECTED),
    (_S.HANDSHAKE, _O.CLIENT_CLOSE): (Step.MOVE, _S.CLOSED),
    (_S.CONNECTED, _O.ACCEPT): (Step.ALREADY_DONE, None),
    (_S.CONNECTED, _O.RECEIVE): (Step.MOVE, _S.CONNECTED),
    (_S.CONNECTED, _O.SEND): (Step.MOVE, _S.CONNECTED),
    (_S.CONNECTED, _O.CLOSE): (Step.MOVE, _S.CLOSED),
    (_S.CONNECTED, _O.REJECT): (Step.NOT_ALLOWED, _REFUSE_BEFORE_ACCEPT),
    (_S.CONNECTED, _O.CLIENT_CLOSE): (Step.MOVE, _S.CLOSED),
    (_S.REJECTED, _O.ACCEPT): (Step.NOT_ALLOWED, _NEVER_OPENED),
    (_S.REJECTED, _O.RECEIVE): (Step.NOT_ALLOWED, _NEVER_OPENED),
    (_S.REJECTED, _O.SEND): (Step.NOT_ALLOWED, _NEVER_OPENED),
    (_S.REJECTED, _O.CLOSE): (Step.ALREADY_DONE, None),
    (_S.REJECTED, _O.REJECT): (Step.NOT_ALLOWED, _REFUSE_BEFORE_ACCEPT),
    (_S.REJECTED, _O.CLIENT_CLOSE): (Step.ALREADY_DONE, None),
    (_S.CLOSED, _O.ACCEPT): (Step.ALREADY_DONE, None),  # or disconnected, if never accepted
    (_S.CLOSED, _O.RECEIVE): (Step.DISCONNECTED, None),
    (_S.CLOSED, _O.SEND): (Step.DISCONNECTED, None),
    (_S.CLOSED, _O.CLOSE): (Step.ALREADY_DONE, None),
    (_S.CLOSED, _O.REJECT): (Step.NOT_ALLOWED, _REFUSE_BEFORE_ACCEPT),
    (_S.CLOSED, _O.CLIENT_CLOSE): (Step.ALREADY_DONE, None),
}


def step(state: WebsocketState, operation: Operation) -> tuple[Step, WebsocketState | None]:
    """What ``operation`` does in ``state``, and the state it leads to.

    Raises:
        RuntimeError: the operation is not allowed there; the message names both.
    """
    kind, target = _STEPS[state, operation]
    if kind is Step.NOT_ALLOWED:
        raise RuntimeError(f"{operation.value} is not allowed in state {state.name}: {target}")
    return kind, target if isinstance(target, WebsocketState) else None


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
        #: The close code, once closed: the first of the app's and the client's.
        self.close_code: int | None = None
        #: The close reason, once closed.
        self.close_reason = ""
        #: The ``(code, reason)`` the app closed with, once it did.
        self.app_close: tuple[int, str] | None = None
        #: The ``(code, reason)`` the client closed with (1006 for a lost connection).
        self.client_close: tuple[int, str] | None = None
        self._transport = transport
        self._inbound = inbound
        self._accept_headers: Headers | None = None
        #: Called with the handshake response's headers just before accepting (the app
        #: adds the session cookie there).
        self._on_accept: Callable[[Headers], Awaitable[None]] | None = None
        self._send_lock = trio.Lock()
        self._receiving = ConflictDetector(
            "another task is already receiving on this websocket; receive in one task "
            "and pass messages to the others through a trio memory channel"
        )

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
            kind, target = step(self.state, Operation.ACCEPT)
            if kind is Step.MOVE:
                assert target is not None  # the table names where MOVE leads
                if subprotocol is not None and subprotocol not in self.requested_subprotocols:
                    raise ValueError(
                        f"accept(subprotocol={subprotocol!r}): the client asked for "
                        f"{self.requested_subprotocols!r}; choose one of those or None"
                    )
                handshake_headers = accept_headers.copy()
                if self._on_accept is not None:
                    await self._on_accept(handshake_headers)
                self.state = target
                self.subprotocol = subprotocol
                self._accept_headers = accept_headers
                await self._transport.accept(subprotocol, handshake_headers)
                return
            if self._accept_headers is None:  # closed during the handshake
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
        with self._receiving:
            kind = step(self.state, Operation.RECEIVE)[0]
            if kind is Step.ACCEPT_FIRST:
                await self.accept()
                kind = step(self.state, Operation.RECEIVE)[0]
            if kind is Step.DISCONNECTED:
                raise self._disconnect()
            try:
                return await self._inbound.receive()
            except (trio.EndOfChannel, trio.ClosedResourceError):
                raise self._disconnect() from None

    async def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send a text (``str``) or binary (``bytes`` or another buffer) message.

        Accepts the connection first if needed. Waits while the client is slow to read, so
        a fast producer is held to the client's pace. Concurrent sends are sent one at a time.

        Raises:
            TypeError: ``data`` is neither ``str`` nor ``bytes``; use `send_json` for others.
            WebsocketDisconnect: the connection is closed.
        """
        payload = text_or_bytes(data, "send", "send_json")
        if step(self.state, Operation.SEND)[0] is Step.ACCEPT_FIRST:
            await self.accept()
        # The lock only keeps concurrent sends apart. Uncontended, it is taken without a
        # trip through the scheduler: the server's send is this method's checkpoint.
        try:
            self._send_lock.acquire_nowait()
        except trio.WouldBlock:
            await self._send_lock.acquire()
        try:
            if step(self.state, Operation.SEND)[0] is Step.DISCONNECTED:
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

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Close the connection; closing a closed websocket does nothing.

        Before ``accept`` this refuses the connection (servers answer with 403); to refuse
        with a status and body of your choice, return a response instead.

        Args:
            code: 1000 (normal), another standard code (see `CloseCode`), or one of
                3000-4999.
            reason: A short reason for the client, at most 123 bytes as UTF-8.

        Raises:
            ValueError: the code cannot be sent or the reason is too long.
        """
        validate_close(code, reason)
        async with self._send_lock:
            kind, target = step(self.state, Operation.CLOSE)
            if kind is Step.ALREADY_DONE:
                return  # taking the lock was the checkpoint
            assert target is not None  # the table names where MOVE leads
            self.state = target
            # Only an open connection gets here, so this close is the first of the two.
            self.app_close = (code, reason)
            self.close_code, self.close_reason = code, reason
            await self._transport.close(code, reason)

    def _disconnect(self) -> WebsocketDisconnect:
        return WebsocketDisconnect(
            self.close_code if self.close_code is not None else CloseCode.NORMAL,
            self.close_reason,
        )

    def _peer_closed(self, code: int, reason: str) -> bool:
        """Record that the client left; ``True`` if the connection was still open until now."""
        self.client_close = (code, reason)
        kind, target = step(self.state, Operation.CLIENT_CLOSE)
        if kind is Step.ALREADY_DONE:
            return False
        assert target is not None  # the table names where MOVE leads
        self.state = target
        self.close_code, self.close_reason = code, reason  # the first close of the two
        return True

    async def _reject(self, response: Response) -> None:
        """Refuse the connection with ``response``; only possible before it is accepted.

        Raises:
            RuntimeError: the websocket is not in the handshake any more.
        """
        async with self._send_lock:
            _, target = step(self.state, Operation.REJECT)
            assert target is not None  # the table names where MOVE leads
            self.state = target
            await self._transport.reject(response)


def text_or_bytes(value: object, operation: str, json_twin: str) -> str | bytes:
    """``value`` as a message: ``str`` or ``bytes`` (other buffers are copied to ``bytes``).
    Checked at run time: callers are not always type-checked.

    Raises:
        TypeError: it is neither; the message names ``operation`` and its JSON twin.
    """
    if isinstance(value, bytearray | memoryview):
        value = bytes(value)
    if not isinstance(value, str | bytes):
        raise TypeError(
            f"{operation}() takes str or bytes, not {type(value).__name__}; use "
            f"{json_twin}() to send other values as JSON"
        )
    return value


def over_size(message: str | bytes, limit: int | None) -> bool:
    """Whether ``message`` is over ``limit`` bytes (UTF-8 for text); ``None`` is no limit.
    Text is encoded only when its length cannot settle it."""
    if limit is None or len(message) <= limit // 4:
        return False  # within the limit even at four UTF-8 bytes per character
    if isinstance(message, bytes) or len(message) > limit:
        return len(message) > limit
    return len(message.encode("utf-8")) > limit


def validate_close(code: int, reason: str) -> None:
    """Check a close code and reason can be sent.

    Raises:
        ValueError: what is wrong, and what is allowed.
    """
    if code not in _SENDABLE_CLOSE_CODES and not 3000 <= code <= 4999:
        raise ValueError(
            f"Close code {code} cannot be sent; use 1000 (normal), another standard code "
            "such as 1001, 1008 or 1011, or an application code in 3000-4999"
        )
    if len(reason.encode("utf-8")) > MAX_CLOSE_REASON_BYTES:
        raise ValueError(
            f"A close reason may be at most {MAX_CLOSE_REASON_BYTES} bytes as UTF-8; shorten it"
        )
