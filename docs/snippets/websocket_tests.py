"""The websockets guide's tests."""

from __future__ import annotations

# docs: start tests
import pytest

from examples.echo import app as echo_app
from examples.private import app as private_app
from trioframe.testing import WebsocketResponse


async def test_echo() -> None:
    async with echo_app.test_client().websocket("/ws") as ws:
        await ws.send("hello")
        assert await ws.receive() == "hello"


async def test_private_needs_a_password() -> None:
    async with private_app.test_client().websocket("/private") as ws:
        with pytest.raises(WebsocketResponse) as refused:
            await ws.send("data")
    assert refused.value.response.status_code == 403


# docs: end tests


import trio
import trio.testing

from trioframe import WebsocketDisconnect

from .websockets import app, events


async def test_accept_with_a_subprotocol() -> None:
    client = app.test_client()
    async with client.websocket("/chat", subprotocols=["chat.v1", "chat.v2"]) as ws:
        assert ws.subprotocol == "chat.v2"
        assert ws.headers["X-Server"] == "trioframe"
        assert await ws.receive() == "speaking chat.v2"


async def test_close_with_a_code() -> None:
    async with app.test_client().websocket("/quota") as ws:
        assert await ws.receive() == "2 messages left"
        assert await ws.receive() == "1 messages left"
        with pytest.raises(WebsocketDisconnect) as closed:
            await ws.receive()
    assert (closed.value.code, closed.value.reason) == (4000, "quota used up")


async def test_a_send_only_handler_ends_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    events.clear()
    async with app.test_client().websocket("/feed") as ws:
        assert await ws.receive() == "update"
    assert events == ["feed cleaned up"]
    assert trio.current_time() < 10  # not at the next send
