"""The broadcast guide, through the test client."""

from __future__ import annotations

import json

import trio
import trio.testing

from tests.support.asgi import Peer, http_scope
from trioframe import WebsocketDisconnect

from .broadcast import app, hub, prices


async def test_a_message_said_in_a_room_reaches_everyone_in_it() -> None:
    client = app.test_client()
    async with client.websocket("/rooms/lobby") as ann, client.websocket("/rooms/lobby") as bob:
        await trio.testing.wait_all_tasks_blocked()
        response = await client.post("/rooms/lobby", json={"user": "ann", "text": "hi"})
        assert response.status_code == 204
        for member in (ann, bob):
            assert json.loads(await member.receive()) == {"user": "ann", "text": "hi"}
    assert hub.stats().subscribers == 0


async def test_the_ticker_skips_old_prices_for_a_slow_client() -> None:
    async with app.test_client().websocket("/ticker") as client:
        await trio.testing.wait_all_tasks_blocked()
        for price in range(3):
            await prices.publish("prices", str(price))
        assert [await client.receive() for _ in range(3)] == ["0", "1", "2"]


async def test_a_slow_alert_reader_is_told_why_it_was_closed() -> None:
    async with app.test_client().websocket("/alerts") as client:
        await trio.testing.wait_all_tasks_blocked()
        # Nothing is read until all 200 are published: the handler's sends back up, and
        # its subscription's 32 places overflow.
        for number in range(200):
            await hub.publish("alerts", f"alert {number}")
        received: list[str | bytes] = []
        while True:
            try:
                received.append(await client.receive())
            except WebsocketDisconnect as closed:
                code = closed.code
                break
    assert received[-1] == "too slow: reconnect to catch up"
    assert code == 1008


async def test_the_feed_streams_what_is_published_until_the_client_leaves() -> None:
    peer = Peer(complete=True)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, http_scope("/feed"), peer.receive, peer.send)
        await trio.testing.wait_all_tasks_blocked()
        assert hub.stats().subscribers == 1
        await hub.publish("news", "first")
        await hub.publish("news", b"second")
        await trio.testing.wait_all_tasks_blocked()
        peer.disconnect()
    assert peer.status == 200
    assert b"".join(peer.body_chunks) == (
        b"event: news\ndata: first\n\nevent: news\ndata: second\n\n"
    )
    assert hub.stats().subscribers == 0  # the client left, and so did its subscription
