"""The testing guide's tests of the project, as its tests/test_myapp.py."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trioframe import Trioframe
from trioframe.testing import TestClient


async def test_index(client: TestClient) -> None:
    response = await client.get("/")
    assert await response.get_data(as_text=True) == "hello"


async def test_a_fresh_app_each_time(app: Trioframe, client: TestClient) -> None:
    app.config["GREETING"] = "hi"  # no other test sees this
    assert await (await client.get("/")).get_data(as_text=True) == "hi"


async def test_with_the_lifespan(app_running: Trioframe) -> None:
    assert app_running.config["CONNECTED"]  # before_serving ran
    assert app_running.nursery is not None


@pytest.mark.trioframe_timeout(0.5)
async def test_a_silent_echo_fails_at_once(
    client: TestClient, autojump_clock: trio.testing.MockClock
) -> None:
    async with client.websocket("/echo") as ws:
        with pytest.raises(trio.TooSlowError):
            await ws.receive()  # nothing was sent, so nothing comes back
