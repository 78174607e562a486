"""The websocket examples through the test client: echo, ticker and private."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from examples import echo, private, ticker
from trioframe import WebsocketDisconnect
from trioframe.testing import WebsocketResponse


async def test_echo_sends_each_message_back() -> None:
    async with echo.app.test_client().websocket("/ws") as ws:
        for message in ("hello", b"\x00\x01", ""):
            await ws.send(message)
            assert await ws.receive() == message


async def test_the_ticker_ticks_and_answers_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with ticker.app.test_client().websocket("/ticker") as ws:
        assert await ws.receive_json() == {"tick": 0}
        await ws.send("hi")
        assert await ws.receive_json() == {"echo": "hi"}  # no waiting for the next tick
        start = trio.current_time()
        assert await ws.receive_json() == {"tick": 1}
        assert trio.current_time() - start == pytest.approx(ticker.TICK_S)


async def test_leaving_the_ticker_cancels_both_tasks(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with ticker.app.test_client().websocket("/ticker") as ws:
        assert await ws.receive_json() == {"tick": 0}
    # Leaving the block waited for the handler: nothing ticks on afterwards.
    await trio.testing.wait_all_tasks_blocked()
    assert trio.current_time() < ticker.TICK_S


async def test_private_refuses_without_the_token() -> None:
    client = private.app.test_client()
    async with client.websocket("/private") as ws:
        with pytest.raises(WebsocketResponse) as refused:
            await ws.receive()
    assert refused.value.response.status_code == 403
    assert await refused.value.response.get_data() == b"Invalid password"
    async with client.websocket("/private", auth=("anyone", "wrong")) as ws:
        with pytest.raises(WebsocketResponse):
            await ws.send("let me in?")


async def test_private_accepts_the_token_from_auth_or_the_query() -> None:
    client = private.app.test_client()
    token = private.app.config["CHAT_TOKEN"]
    async with client.websocket("/private", auth=("ada", token)) as ws:
        assert await ws.receive() == "Welcome to the private channel"
        await ws.send("secret plans")
        assert await ws.receive() == "secret plans"
    async with client.websocket("/private", query_string={"token": token}) as ws:
        assert await ws.receive() == "Welcome to the private channel"


async def test_admin_refuses_with_abort() -> None:
    client = private.app.test_client()
    with pytest.raises(WebsocketResponse) as refused:
        async with client.websocket("/admin"):
            pass
    assert refused.value.response.status_code == 401
    assert b"Log in first." in await refused.value.response.get_data()
    token = private.app.config["CHAT_TOKEN"]
    async with client.websocket("/admin", query_string={"token": token}) as ws:
        assert await ws.receive() == "admin console"
        with pytest.raises(WebsocketDisconnect) as closed:
            await ws.receive()
        assert closed.value.code == 1000
