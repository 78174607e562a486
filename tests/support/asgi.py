"""A scripted ASGI peer, for tests that need to control exactly what the server side does.

The test client covers ordinary requests; these helpers are for what it cannot express:
a client that disconnects mid-response, reads slowly, or never finishes its upload.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


def http_scope(
    path: str = "/",
    *,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    query_string: bytes = b"",
    root_path: str = "",
) -> dict[str, Any]:
    """A minimal ASGI ``http`` scope, as hypercorn builds them."""
    return {
        "type": "http",
        "asgi": {"spec_version": "2.4", "version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": root_path + path,
        "raw_path": (root_path + path).encode(),
        "query_string": query_string,
        "root_path": root_path,
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


class Peer:
    """The server side of one ASGI HTTP connection, driven by the test.

    ``receive`` hands out the queued body messages (the last one ends the body unless
    ``complete`` is false); once they are used up it blocks until the test calls
    `disconnect` or the response is complete, then reports ``http.disconnect``, as ASGI
    servers do. ``send`` records what the app sends and, when ``gated``,
    blocks each body message until the test calls `allow_body`, like a client that reads
    slowly.
    """

    def __init__(
        self,
        body_messages: list[bytes] | None = None,
        *,
        complete: bool = True,
        gated: bool = False,
    ) -> None:
        self._body = list(body_messages or [b""])
        # An incomplete upload stalls after its last message, as a client that stopped sending.
        self._more = [True] * (len(self._body) - 1) + [not complete]
        self.received_count = 0
        self.sent: list[dict[str, Any]] = []
        self._disconnected = trio.Event()
        self._gated = gated
        self._allowance = 0
        self._allowance_changed = trio.Event()
        self.response_complete = trio.Event()

    async def receive(self) -> dict[str, Any]:
        await trio.lowlevel.checkpoint()
        if self.received_count < len(self._body):
            index = self.received_count
            self.received_count += 1
            return {
                "type": "http.request",
                "body": self._body[index],
                "more_body": self._more[index],
            }
        async with trio.open_nursery() as race:
            for event in (self._disconnected, self.response_complete):
                race.start_soon(_set_then_cancel, event, race.cancel_scope)
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        await trio.lowlevel.checkpoint()
        if self._gated and message["type"] == "http.response.body":
            while self._allowance == 0:
                await self._allowance_changed.wait()
            self._allowance -= 1
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.response_complete.set()

    def allow_body(self, messages: int = 1) -> None:
        """Let ``messages`` more body messages through a gated `send`."""
        self._allowance += messages
        self._allowance_changed.set()
        self._allowance_changed = trio.Event()

    def disconnect(self) -> None:
        """The client goes away: `receive` reports ``http.disconnect``."""
        self._disconnected.set()

    @property
    def status(self) -> int | None:
        """The response status, once ``http.response.start`` was sent."""
        for message in self.sent:
            if message["type"] == "http.response.start":
                return int(message["status"])
        return None

    @property
    def body_chunks(self) -> list[bytes]:
        """The non-empty body chunks sent so far."""
        return [
            message["body"]
            for message in self.sent
            if message["type"] == "http.response.body" and message["body"]
        ]


def one_request(
    until: Callable[[], Awaitable[object]],
) -> Callable[[], Awaitable[dict[str, Any]]]:
    """An ASGI ``receive`` for one bodyless request, whose disconnect is reported once
    ``until()`` returns (never, for ``trio.sleep_forever``)."""
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await until()
        return {"type": "http.disconnect"}

    return receive


async def _set_then_cancel(event: trio.Event, scope: trio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


def websocket_scope(
    path: str = "/",
    *,
    denial_responses: bool = True,
    subprotocols: list[str] | None = None,
) -> dict[str, Any]:
    """A minimal ASGI ``websocket`` scope; ``denial_responses`` offers that extension."""
    return {
        "type": "websocket",
        "asgi": {"spec_version": "2.4", "version": "3.0"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "subprotocols": subprotocols or [],
        "extensions": {"websocket.http.response": {}} if denial_responses else {},
    }


class WebsocketPeer:
    """The server side of one ASGI websocket connection, with scripted client messages.

    ``receive`` hands out the queued messages (``websocket.connect`` first unless told
    otherwise), then blocks until the test calls `disconnect`. ``send`` records everything.
    """

    def __init__(self, messages: list[dict[str, Any]] | None = None, *, connect: bool = True):
        self._messages = ([{"type": "websocket.connect"}] if connect else []) + list(messages or [])
        self.sent: list[dict[str, Any]] = []
        self._disconnected = trio.Event()
        self._disconnect_code = 1000

    async def receive(self) -> dict[str, Any]:
        await trio.lowlevel.checkpoint()
        if self._messages:
            message: dict[str, Any] = self._messages.pop(0)
            return message
        await self._disconnected.wait()
        return {"type": "websocket.disconnect", "code": self._disconnect_code}

    async def send(self, message: dict[str, Any]) -> None:
        await trio.lowlevel.checkpoint()
        self.sent.append(message)

    def disconnect(self, code: int = 1000) -> None:
        """The client goes away with ``code``."""
        self._disconnect_code = code
        self._disconnected.set()

    @property
    def types(self) -> list[str]:
        """The types of the messages sent so far."""
        return [message["type"] for message in self.sent]
