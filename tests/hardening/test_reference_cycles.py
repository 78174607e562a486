"""No request and no websocket message leaves a reference cycle behind, through a
scripted ASGI peer. With the garbage collector off, everything they made must be freed
by reference counting alone; what only the collector could free piles up on a busy
server until a collection pauses it (werkzeug's matcher used to leave a cycle per
request)."""

from __future__ import annotations

import gc
from collections import Counter
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import trio

from tests.support.asgi import Peer, WebsocketPeer, http_scope, websocket_scope
from trioframe import Trioframe, request, websocket

if TYPE_CHECKING:
    from collections.abc import Iterator

REQUESTS = 1000
MESSAGES = 1000


def cycles_app() -> Trioframe:
    app = Trioframe(__name__, static_folder=None)

    @app.get("/items/<int:item_id>")
    async def item(item_id: int) -> dict[str, Any]:
        return {"id": item_id, "q": request.args["q"], "agent": request.headers["user-agent"]}

    @app.post("/echo")
    async def echo_body() -> bytes:
        return await request.get_data()

    @app.websocket("/ws")
    async def echo() -> None:
        while True:
            await websocket.send(await websocket.receive())

    return app


@contextmanager
def collector_off() -> Iterator[Counter[str]]:
    """Run the block with the garbage collector off; the counter then holds, by type, the
    objects that only the collector could free."""
    found: Counter[str] = Counter()
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.update(type(thing).__name__ for thing in gc.garbage)
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        gc.enable()


async def serve(app: Trioframe, method: str, path: str, body: bytes = b"") -> int | None:
    """One request, as a server makes it (the disconnect reported once the response is
    out); its response's status."""
    path, _, query = path.partition("?")
    scope = http_scope(
        path, method=method, headers=[(b"user-agent", b"cycles")], query_string=query.encode()
    )
    peer = Peer([body])
    await app(scope, peer.receive, peer.send)
    assert peer.response_complete.is_set()
    return peer.status


async def test_requests_leave_no_reference_cycles() -> None:
    app = cycles_app()
    await serve(app, "GET", "/items/0?q=warm")  # what lives as long as the app is made now
    with collector_off() as in_cycles:
        for number in range(REQUESTS):
            assert await serve(app, "GET", f"/items/{number}?q=x") == 200
            assert await serve(app, "POST", "/echo", b"data") == 200
            assert await serve(app, "GET", "/nowhere") == 404
    assert not in_cycles, f"{REQUESTS} requests left objects in cycles: {in_cycles}"


class EchoedPeer(WebsocketPeer):
    """A websocket client that says when ``expected`` messages have come back."""

    def __init__(self, texts: list[str]) -> None:
        super().__init__([{"type": "websocket.receive", "text": text} for text in texts])
        self.expected = len(texts) + 1  # the accept, then the echoes
        self.all_back = trio.Event()

    async def send(self, message: dict[str, Any]) -> None:
        await super().send(message)
        if len(self.sent) == self.expected:
            self.all_back.set()


async def test_websocket_messages_leave_no_reference_cycles() -> None:
    app = cycles_app()
    texts = [f"message {number}" for number in range(MESSAGES)]
    warm, peer = EchoedPeer(["warm"]), EchoedPeer(texts)
    async with trio.open_nursery() as nursery:
        # What lives as long as the app, and what every connection makes, is made now.
        nursery.start_soon(app, websocket_scope("/ws"), warm.receive, warm.send)
        with trio.fail_after(5):
            await warm.all_back.wait()
        with collector_off() as in_cycles:
            nursery.start_soon(app, websocket_scope("/ws"), peer.receive, peer.send)
            with trio.fail_after(5):
                await peer.all_back.wait()
        warm.disconnect()
        peer.disconnect()
    assert [message.get("text") for message in peer.sent[1:]] == texts
    assert not in_cycles, f"{MESSAGES} websocket messages left objects in cycles: {in_cycles}"
