"""The API reference's examples at work, and the test client's own example."""

from __future__ import annotations

# docs: start test_client
from .api import app  # your app module


async def test_search_reads_the_query() -> None:
    client = app.test_client()
    response = await client.get("/search", query_string={"q": "trio", "page": "2"})
    assert response.status_code == 200
    assert await response.get_json() == {"q": "trio", "page": 2}


# docs: end test_client


from typing import TYPE_CHECKING

import pytest
import trio

from trioframe import WebsocketDisconnect

if TYPE_CHECKING:
    import trio.testing


async def test_route_serves_both_methods() -> None:
    client = app.test_client()
    assert await (await client.get("/items/3")).get_json() == {"id": 3}
    saved = await client.put("/items/3", json={"name": "kettle"})
    assert await saved.get_json() == {"id": 3, "saved": {"name": "kettle"}}


async def test_request_reads_headers_and_json() -> None:
    client = app.test_client()
    response = await client.post("/notes", json="hi", headers={"User-Agent": "tests"})
    assert response.status_code == 201
    assert await response.get_json() == {"by": "tests", "note": "hi"}


async def test_before_request_refuses_writes_without_json() -> None:
    response = await app.test_client().post("/notes", data=b"hi")
    assert response.status_code == 415
    assert await response.get_data(as_text=True) == "Send JSON."


async def test_websockets_echo_and_tick(autojump_clock: trio.testing.MockClock) -> None:
    client = app.test_client()
    async with client.websocket("/ws/echo") as ws:
        await ws.send("ping")
        assert await ws.receive() == "ping"
    async with client.websocket("/ws/clock") as ws:
        assert [await ws.receive_json() for _ in range(3)] == [
            {"tick": 0},
            {"tick": 1},
            {"tick": 2},
        ]
        await ws.send("stop")
        with pytest.raises(WebsocketDisconnect) as closed:
            await ws.receive()
        assert closed.value.code == 1000


async def test_abort_url_for_errorhandler_and_blueprint() -> None:
    client = app.test_client()
    refused = await client.get("/admin")
    assert refused.status_code == 403
    assert "X-Token" in await refused.get_data(as_text=True)
    assert await (await client.get("/admin", headers={"X-Token": "secret"})).get_data() == (
        b"welcome"
    )
    links = await (await client.get("/links")).get_json()
    assert links == {"item": "/items/7", "search": "/search?q=trio"}
    missing = await client.get("/nowhere")
    assert missing.status_code == 404
    assert "error" in await missing.get_json()
    assert await (await client.get("/accounts/ada")).get_json() == {
        "account": "ada",
        "url": "/accounts/ada",
    }
