"""Every awaitable operation of the public API is a Trio checkpoint, whatever the server does.

The layer is a scripted ASGI peer: a server whose ``send`` and ``receive`` return without
yielding whenever they can, as hypercorn's ``send`` does once a websocket is closed. Over
it, a handler that only sends must still see its client leave, and every public awaitable
must still be a checkpoint (``trio.testing.assert_checkpoints``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import trio
import trio.testing

from tests.support.asgi import http_scope, websocket_scope
from trioframe import Trioframe, request, websocket

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

#: Messages a send-only handler may send after its client left before the test calls it
#: starvation: with checkpoints it stops after one or two.
STARVATION_SENDS = 1000


class EagerPeer:
    """A server side that never yields when it need not.

    ``receive`` returns the scripted messages at once; once they are used up it waits until
    the client leaves (or the response is complete), and then reports the disconnect.
    ``send`` records each message without yielding; after the client left it only counts
    them, as a server dropping messages for a closed connection does.
    """

    def __init__(self, messages: list[dict[str, Any]], disconnect: dict[str, Any]) -> None:
        self._messages = list(messages)
        self._disconnect = disconnect
        self._left = trio.Event()
        self.sent: list[dict[str, Any]] = []
        self.sent_after_leaving = 0
        #: Leave after this many body or websocket messages were sent; ``None``: never.
        self.leave_after: int | None = None

    async def receive(self) -> dict[str, Any]:
        if self._messages:
            return self._messages.pop(0)
        await self._left.wait()
        return self._disconnect

    async def send(self, message: dict[str, Any]) -> None:
        if self._left.is_set():
            self.sent_after_leaving += 1
            if self.sent_after_leaving > STARVATION_SENDS:
                raise AssertionError(
                    f"{STARVATION_SENDS} messages were sent after the client left without "
                    "the app noticing: the send loop never let the disconnect through"
                )
            return
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self._left.set()  # the exchange is over: servers then report the disconnect
        if self.leave_after is not None and len(self._payloads()) >= self.leave_after:
            self._left.set()

    def _payloads(self) -> list[dict[str, Any]]:
        return [
            message
            for message in self.sent
            if message["type"] in ("websocket.send", "http.response.body")
        ]


def websocket_peer(*texts: str) -> EagerPeer:
    messages = [{"type": "websocket.connect"}]
    messages += [{"type": "websocket.receive", "text": text} for text in texts]
    return EagerPeer(messages, {"type": "websocket.disconnect", "code": 1001})


async def test_every_websocket_operation_is_a_checkpoint() -> None:
    app = Trioframe(__name__)
    app.testing = True
    checked: list[str] = []

    @app.websocket("/ws")
    async def handler() -> None:
        with trio.testing.assert_checkpoints():
            await websocket.accept()
        with trio.testing.assert_checkpoints():
            await websocket.accept()  # again, alike: nothing to do, still a checkpoint
        with trio.testing.assert_checkpoints():
            await websocket.send("text")
        with trio.testing.assert_checkpoints():
            await websocket.send(b"bytes")
        with trio.testing.assert_checkpoints():
            await websocket.send_json({"n": 1})
        with trio.testing.assert_checkpoints():
            assert await websocket.receive() == "first"
        with trio.testing.assert_checkpoints():
            assert await websocket.receive_json() == {"n": 2}
        with trio.testing.assert_checkpoints():
            await websocket.close(1000)
        with trio.testing.assert_checkpoints():
            await websocket.close(1000)  # closed already: nothing to do, still a checkpoint
        checked.append("all")

    peer = websocket_peer("first", json.dumps({"n": 2}))
    await app(websocket_scope("/ws"), peer.receive, peer.send)
    assert checked == ["all"]
    assert [message["type"] for message in peer.sent] == [
        "websocket.accept",
        "websocket.send",
        "websocket.send",
        "websocket.send",
        "websocket.close",
    ]


async def test_a_send_only_handler_notices_its_client_leave() -> None:
    app = Trioframe(__name__)
    app.testing = True
    ended: list[str] = []

    @app.websocket("/ticker")
    async def ticker() -> None:
        try:
            while True:
                await websocket.send("tick")
        finally:
            ended.append("cancelled")

    peer = websocket_peer()
    peer.leave_after = 3
    with trio.fail_after(5):
        await app(websocket_scope("/ticker"), peer.receive, peer.send)
    assert ended == ["cancelled"]
    assert peer.sent_after_leaving <= 2


async def test_every_body_read_is_a_checkpoint() -> None:
    app = Trioframe(__name__)
    app.testing = True

    @app.post("/whole")
    async def whole() -> dict[str, Any]:
        with trio.testing.assert_checkpoints():
            data = await request.get_data()
        with trio.testing.assert_checkpoints():
            assert await request.get_data() == data  # kept: no waiting, still a checkpoint
        with trio.testing.assert_checkpoints():
            parsed = await request.get_json()
        with trio.testing.assert_checkpoints():
            await request.get_json()
        return {"parsed": parsed}

    @app.post("/chunks")
    async def chunks() -> str:
        received = []
        iterator = aiter(request.body)
        while True:
            with trio.testing.assert_checkpoints():
                try:
                    received.append(await anext(iterator))
                except StopAsyncIteration:
                    break
        return b"".join(received).decode()

    @app.post("/form")
    async def form() -> dict[str, Any]:
        with trio.testing.assert_checkpoints():
            fields = await request.form
        with trio.testing.assert_checkpoints():
            await request.files
        return dict(fields)

    def body(*chunks: bytes) -> list[dict[str, Any]]:
        return [
            {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
            for index, chunk in enumerate(chunks)
        ]

    json_type = [(b"content-type", b"application/json")]
    form_type = [(b"content-type", b"application/x-www-form-urlencoded")]
    cases: list[tuple[str, list[tuple[bytes, bytes]], tuple[bytes, ...], bytes]] = [
        ("/whole", json_type, (b'{"a":', b" 1}"), b'{"parsed":{"a":1}}\n'),
        ("/chunks", [], (b"one ", b"two"), b"one two"),
        ("/form", form_type, (b"a=1&", b"b=2"), b'{"a":"1","b":"2"}\n'),
    ]
    for path, headers, body_chunks, expected in cases:
        peer = EagerPeer(body(*body_chunks), {"type": "http.disconnect"})
        scope = http_scope(path, method="POST", headers=headers)
        await app(scope, peer.receive, peer.send)
        assert peer.sent[0]["status"] == 200, path
        assert b"".join(message.get("body", b"") for message in peer.sent[1:]) == expected


async def test_a_streaming_response_notices_its_client_leave() -> None:
    app = Trioframe(__name__)
    app.testing = True
    ended: list[str] = []

    @app.get("/endless")
    async def endless() -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"chunk"  # never waits: only the server's send could yield
            finally:
                ended.append("closed")

        return chunks()

    peer = EagerPeer(
        [{"type": "http.request", "body": b"", "more_body": False}], {"type": "http.disconnect"}
    )
    peer.leave_after = 3
    with trio.fail_after(5):
        await app(http_scope("/endless"), peer.receive, peer.send)
    assert ended == ["closed"]
    assert peer.sent_after_leaving <= 2


async def test_a_whole_response_is_a_checkpoint_and_sends_nothing_once_cancelled() -> None:
    app = Trioframe(__name__)

    @app.get("/")
    async def index() -> str:
        return "hello"

    # The status line goes out without a checkpoint of its own; the body's is for both.
    peer = EagerPeer([{"type": "http.request", "body": b""}], {"type": "http.disconnect"})
    with trio.testing.assert_checkpoints():
        await app(http_scope("/"), peer.receive, peer.send)
    assert [message["type"] for message in peer.sent] == [
        "http.response.start",
        "http.response.body",
    ]
    # A request cancelled before its response goes out sends no half of it.
    peer = EagerPeer([{"type": "http.request", "body": b""}], {"type": "http.disconnect"})
    with trio.CancelScope() as scope:
        scope.cancel()
        await app(http_scope("/"), peer.receive, peer.send)
    assert peer.sent == []
