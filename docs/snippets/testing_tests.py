"""The testing guide: both harnesses, the mock clock, the lifespan, fixtures.

Each test the guide shows carries its own imports, so it runs as copied.
"""

from __future__ import annotations

# docs: start fixtures
from collections.abc import AsyncIterator

import pytest

from trioframe import Trioframe
from trioframe.testing import TestClient

from .quickstart import app  # your app module


@pytest.fixture
def client() -> TestClient:
    return app.test_client()


@pytest.fixture
async def serving() -> AsyncIterator[Trioframe]:
    # An async fixture runs in the test's Trio run (pytest-trio's trio mode).
    async with app.test_app():
        yield app


# docs: end fixtures


# docs: start http
from trioframe.testing import TestClient


async def test_orders(client: TestClient) -> None:
    response = await client.post("/orders", json={"item": "tea"})
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json"
    assert (await response.get_json())["item"] == "tea"


# docs: end http


# docs: start preserve
from trioframe import request

from .quickstart import app  # your app module


async def test_the_order_request_as_the_view_left_it() -> None:
    async with app.test_client() as client:
        await client.post("/orders", json={"item": "scones"})
        assert request.method == "POST"  # the last request's context, kept for the test
        assert (await request.get_json())["item"] == "scones"


# docs: end preserve


# docs: start clock
import pytest
import trio
import trio.testing

from examples.ticker import app as ticker_app


async def test_the_ticker_ticks_every_second(autojump_clock: trio.testing.MockClock) -> None:
    async with ticker_app.test_client().websocket("/ticker") as ws:
        assert await ws.receive_json() == {"tick": 0}
        assert await ws.receive_json() == {"tick": 1}  # a second later, instantly
    assert trio.current_time() == pytest.approx(1)


# docs: end clock


# docs: start timeout
import pytest
import trio
import trio.testing

from examples.ticker import app as ticker_app


async def test_a_silent_ticker_fails_at_once(autojump_clock: trio.testing.MockClock) -> None:
    async with ticker_app.test_client().websocket("/ticker") as ws:
        await ws.receive_json()  # tick 0
        with pytest.raises(trio.TooSlowError, match="sent nothing"):
            await ws.receive_json(timeout=0.5)  # the next tick is a second away
        assert await ws.receive_json(timeout=None) == {"tick": 1}  # wait as long as it takes


# docs: end timeout


# docs: start lifespan
from trioframe import Trioframe


async def test_with_the_lifespan(serving: Trioframe) -> None:
    response = await serving.test_client().get("/hello/Trio")
    assert response.status_code == 200
    assert serving.nursery is not None  # background tasks may be started here


# docs: end lifespan


# docs: start wire
from trioframe import Trioframe, websocket
from trioframe.testing import WireServer

wire_app = Trioframe(__name__)


@wire_app.websocket("/echo")
async def echo() -> None:
    while True:
        await websocket.send(await websocket.receive())


async def test_echo_over_the_wire() -> None:
    async with WireServer(wire_app) as server:
        async with server.websocket("/echo") as ws:  # a trio-websocket client
            await ws.send_message("hi")
            assert await ws.get_message() == "hi"
        reply = await server.send_raw(b"GARBAGE\r\n\r\n")  # malformed HTTP
        assert reply.startswith(b"HTTP/1.1 400")


# docs: end wire


import trio_websocket


async def test_a_close_code_seen_by_a_real_client() -> None:
    async with WireServer(wire_app) as server, server.websocket("/echo") as ws:
        await server.shutdown()
        with pytest.raises(trio_websocket.ConnectionClosed) as closed:
            await ws.get_message()
    assert closed.value.reason is not None
    assert closed.value.reason.code == 1001
