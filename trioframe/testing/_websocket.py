"""The websocket half of the test client: a connection to the app over memory channels.

The app runs in a task owned by the connection's own nursery, opened when the ``async with``
block is entered and closed when it is left, so no task outlives the block. Messages pass
through bounded memory channels both ways, as through a server's queues. What the app
raises is captured in its task and raised in the test as itself, from the next ``send`` or
``receive`` or on leaving the block, where it takes precedence over what the test body
raised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn, Self

import trio
from werkzeug.datastructures import Headers

from trioframe._asgi._translate import decode_headers
from trioframe._context import calls_from_test_client
from trioframe._exceptions import WebsocketDisconnect
from trioframe._types import CloseCode

from ._nursery import HeldNursery
from ._response import TestResponse
from ._timeouts import DEFAULT, Timeout, given_or, waiting_for

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from trioframe._app import Trioframe
    from trioframe._types import WebsocketScope

#: Messages queued each way between the test and the app, like hypercorn's default
#: ``max_app_queue_size``.
SERVER_QUEUE_SIZE = 10


class WebsocketResponse(Exception):
    """The app refused the websocket with an HTTP response, held in ``response``.

    Raised by the test client's first ``send`` or ``receive`` on a refused connection, or
    when its ``async with`` block ends if neither was called.
    """

    def __init__(self, response: TestResponse) -> None:
        super().__init__(f"the websocket was refused with {response.status}")
        #: The refusal: ``status_code``, ``headers`` and ``await get_data()``.
        self.response = response


class TestWebsocketConnection:
    """A websocket from a test to the app: ``async with client.websocket(path) as ws:``.

    Entering sends the handshake and waits until the app accepts or refuses. Use ``send``,
    ``receive``, ``send_json``, ``receive_json`` and ``close`` inside the block. Leaving it
    disconnects (if neither side has closed) and waits for the handler to finish.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        app: Trioframe,
        scope: WebsocketScope,
        *,
        on_handshake: Callable[[Headers], None],
        timeout: float | None = None,
    ) -> None:
        self._app = app
        #: Seconds to wait for the app in the handshake, ``send`` and ``receive``.
        self.timeout = timeout
        self._scope = scope
        self._path = scope["path"]
        self._on_handshake = on_handshake
        #: The subprotocol the app accepted, if any.
        self.subprotocol: str | None = None
        #: The headers the app added to its accept.
        self.headers = Headers()
        #: The refusal, if the app refused the connection.
        self.response: TestResponse | None = None
        #: The close code, once either side has closed.
        self.close_code: int | None = None
        self._close_reason = ""
        self._to_app, self._app_inbox = trio.open_memory_channel[dict[str, Any]](SERVER_QUEUE_SIZE)
        self._app_outbox, self._from_app = trio.open_memory_channel[dict[str, Any]](
            SERVER_QUEUE_SIZE
        )
        self._app_done = trio.Event()
        self._app_error: Exception | None = None
        self._surfaced = False
        self._held = HeldNursery("a test websocket connection")

    async def __aenter__(self) -> Self:
        nursery = await self._held.open()
        try:
            nursery.start_soon(self._run_app)
            what = f"The app neither accepted nor refused the websocket {self._path}"
            with waiting_for(what, self.timeout):
                await self._to_app.send({"type": "websocket.connect"})
                await self._handshake()
        except BaseException as error:
            await self._leave(type(error), error, error.__traceback__)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._leave(exc_type, exc, tb)
        if self._app_error is not None and not self._surfaced:
            # The app's own failure explains more than what the test saw of it (often the
            # 1011 close it caused); the test's exception stays attached as the context.
            self._surfaced = True
            raise self._app_error
        if exc is None:
            self._raise_unsurfaced()

    async def send(self, data: str | bytes, *, timeout: Timeout = DEFAULT) -> None:
        """Send a text (``str``) or binary (``bytes``) message to the app.

        Waits while the app's queue is full (backpressure), for up to ``timeout`` seconds
        (by default the connection's; ``None``: no limit).

        Raises:
            WebsocketResponse: the app refused the connection.
            WebsocketDisconnect: the connection is closed.
            trio.TooSlowError: the app took no message for ``timeout`` seconds.
        """
        self._check_open()
        message = (
            {"type": "websocket.receive", "text": data, "bytes": None}
            if isinstance(data, str)
            else {"type": "websocket.receive", "text": None, "bytes": bytes(data)}
        )
        what = f"The app took no message on the websocket {self._path}"
        try:
            with waiting_for(what, given_or(timeout, self.timeout)):
                await self._to_app.send(message)
        except trio.BrokenResourceError:
            self._raise_app_gone()

    async def receive(self, *, timeout: Timeout = DEFAULT) -> str | bytes:
        """Wait for the app's next message: ``str`` for text, ``bytes`` for binary.

        Waits for up to ``timeout`` seconds (by default the connection's, 5 s unless the
        client says otherwise; ``None``: no limit). Safe to cancel: no message is lost.

        Raises:
            WebsocketResponse: the app refused the connection.
            WebsocketDisconnect: the connection is closed; ``code`` is the app's close code.
            trio.TooSlowError: the app sent nothing for ``timeout`` seconds.
        """
        self._check_open()
        what = f"The app sent nothing on the websocket {self._path}"
        try:
            with waiting_for(what, given_or(timeout, self.timeout)):
                message = await self._from_app.receive()
        except trio.EndOfChannel:
            self._raise_app_gone()
        if message["type"] == "websocket.send":
            text = message.get("text")
            return text if text is not None else bytes(message.get("bytes") or b"")
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", CloseCode.NORMAL)
            self._close_reason = message.get("reason") or ""
            raise WebsocketDisconnect(self.close_code, self._close_reason)
        raise RuntimeError(f"The app sent {message['type']!r} on an open websocket")

    async def send_json(self, value: Any, *, timeout: Timeout = DEFAULT) -> None:
        """Send ``value`` as a JSON text message; ``timeout`` as in `send`."""
        await self.send(self._app.json.dumps(value), timeout=timeout)

    async def receive_json(self, *, timeout: Timeout = DEFAULT) -> Any:
        """Receive a message and parse it as JSON; ``timeout`` as in `receive`."""
        return self._app.json.loads(await self.receive(timeout=timeout))

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Close the connection from the client side; the app sees this ``code``."""
        if self.close_code is not None or self._app_done.is_set():
            await trio.lowlevel.checkpoint()
            return
        self.close_code, self._close_reason = code, reason
        await self._to_app.send({"type": "websocket.disconnect", "code": code, "reason": reason})

    async def _run_app(self) -> None:
        try:
            with calls_from_test_client():
                await self._app(self._scope, self._app_inbox.receive, self._app_send)
        except Exception as error:
            # Kept for the test, not left to cancel it: raised by the next send or receive.
            self._app_error = error
        # The test learns that the app ended through its channels. A BaseException skips
        # this and cancels the test through the nursery instead, so the two cannot race.
        self._app_done.set()
        self._app_outbox.close()
        self._app_inbox.close()

    async def _app_send(self, message: dict[str, Any]) -> None:
        try:
            await self._app_outbox.send(message)
        except trio.BrokenResourceError:
            await trio.lowlevel.checkpoint()  # the test stopped listening, as a gone client

    async def _handshake(self) -> None:
        try:
            message = await self._from_app.receive()
        except trio.EndOfChannel:
            self._raise_app_gone()
        if message["type"] == "websocket.accept":
            self.subprotocol = message.get("subprotocol")
            self.headers = decode_headers(message.get("headers", []))
        elif message["type"] == "websocket.http.response.start":
            chunks = []
            while True:
                body = await self._from_app.receive()
                chunks.append(body.get("body", b""))
                if not body.get("more_body", False):
                    break
            self.response = TestResponse.from_asgi(
                message["status"], message.get("headers", []), b"".join(chunks)
            )
        elif message["type"] == "websocket.close":
            # A close before accept is a refusal; servers answer it with an empty 403.
            self.response = TestResponse.from_asgi(403, [], b"")
        else:
            raise RuntimeError(f"The app sent {message['type']!r} during the handshake")
        # The client keeps the cookies of the handshake response, as a browser does.
        self._on_handshake(self.response.headers if self.response else self.headers)

    def _check_open(self) -> None:
        self._raise_unsurfaced()
        if self.close_code is not None:
            raise WebsocketDisconnect(self.close_code, self._close_reason)

    def _raise_unsurfaced(self) -> None:
        if self._surfaced:
            return
        if self._app_error is not None:
            self._surfaced = True
            raise self._app_error
        if self.response is not None:
            self._surfaced = True
            raise WebsocketResponse(self.response)

    def _raise_app_gone(self) -> NoReturn:
        self._raise_unsurfaced()
        # The app may have closed properly before it ended: its close is still queued.
        # What a server sends when the app ends without closing (hypercorn does this).
        code, reason = CloseCode.INTERNAL_ERROR, "the app ended without closing"
        while True:
            try:
                message = self._from_app.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
            if message["type"] == "websocket.close":
                code, reason = message.get("code", CloseCode.NORMAL), message.get("reason") or ""
                break
        self.close_code, self._close_reason = code, reason
        raise WebsocketDisconnect(code, reason)

    async def _leave(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._app_done.is_set():
                stopped = False
                if self.close_code is None:
                    try:
                        self._to_app.send_nowait(
                            {"type": "websocket.disconnect", "code": CloseCode.NORMAL}
                        )
                    except trio.WouldBlock:
                        # The app stopped reading, so it cannot hear the disconnect; stop it
                        # as a server shutting down would.
                        self._held.nursery.cancel_scope.cancel()
                        stopped = True
                self._from_app.close()  # what the app still sends is dropped, as for a gone client
                if not stopped:
                    # Let it finish on its own (and fail in its own words) before the nursery
                    # closes; waiting inside a scope we cancelled would end at once instead.
                    await self._app_done.wait()
        finally:
            try:
                await self._held.close(exc_type, exc, tb)
            finally:
                for channel in (self._to_app, self._app_inbox, self._app_outbox, self._from_app):
                    channel.close()
