"""The websocket API exactly as the project's design promises it to users, driven through the
test client."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trioframe import Trioframe, WebsocketDisconnect, abort, websocket
from trioframe.testing import WebsocketResponse

USERNAME, PASSWORD = "admin", "hunter2"

app = Trioframe(__name__)


@app.websocket("/ws")
async def ws() -> None:
    while True:
        data = await websocket.receive()
        await websocket.send(data)


@app.websocket("/private")
async def private() -> tuple[str, int] | None:
    auth = websocket.authorization
    if auth is None or (auth.username, auth.password) != (USERNAME, PASSWORD):
        return "Invalid password", 403  # or abort(403)
    await websocket.accept()  # optional: receive/send accept implicitly
    await websocket.send("welcome")
    return None


@app.websocket("/abort")
async def aborting() -> None:
    abort(403)


@app.websocket("/ticker")
async def ticker() -> None:
    async def sending() -> None:
        for tick in range(3):
            await websocket.send(f"tick {tick}")
            await trio.sleep(1)

    async def receiving() -> None:
        while True:
            await websocket.send(f"you said {await websocket.receive()!r}")

    async with trio.open_nursery() as nursery:  # independent send and receive
        nursery.start_soon(sending)
        nursery.start_soon(receiving)


async def test_echo() -> None:
    client = app.test_client()
    async with client.websocket("/ws") as test_websocket:
        await test_websocket.send("hello")
        assert await test_websocket.receive() == "hello"


async def test_rejection_is_a_plain_exception() -> None:
    client = app.test_client()
    for path in ("/private", "/abort"):
        async with client.websocket(path) as test_websocket:
            try:
                await test_websocket.send("data")
            except WebsocketResponse as error:  # a plain exception, never an ExceptionGroup
                # The user's own try/except is what is under test here, not pytest.raises.
                assert error.response.status_code == 403  # noqa: PT017
            else:
                raise AssertionError("the websocket should have been refused")


async def test_accepted_with_the_right_password() -> None:
    client = app.test_client()
    async with client.websocket("/private", auth=(USERNAME, PASSWORD)) as test_websocket:
        assert await test_websocket.receive() == "welcome"
        with pytest.raises(WebsocketDisconnect) as closed:
            await test_websocket.receive()
        assert closed.value.code == 1000


async def test_independent_send_and_receive(autojump_clock: trio.testing.MockClock) -> None:
    client = app.test_client()
    async with client.websocket("/ticker") as test_websocket:
        assert await test_websocket.receive() == "tick 0"
        await test_websocket.send("hi")
        assert await test_websocket.receive() == "you said 'hi'"
        assert await test_websocket.receive() == "tick 1"
