"""The chat example: page, static script, broadcast, notices and slow browsers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from examples.chat import app as chat
from trioframe import WebsocketDisconnect
from trioframe.testing import WebsocketResponse

if TYPE_CHECKING:
    from collections.abc import Iterator

    from trioframe.testing import TestClient, TestWebsocketConnection


@pytest.fixture
def client() -> Iterator[TestClient]:
    yield chat.app.test_client()
    assert chat.hub.stats().subscribers == 0


async def next_of_type(ws: TestWebsocketConnection, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = await ws.receive_json()
        if message["type"] == kind:
            return message


async def drain(ws: TestWebsocketConnection) -> None:
    """Receive until the connection closes."""
    while True:
        await ws.receive()


async def test_the_page_and_its_script(client: TestClient) -> None:
    page = await (await client.get("/")).get_data(as_text=True)
    assert 'data-socket="ws://localhost/ws"' in page
    assert '<script src="/static/chat.js">' in page
    script = await client.get("/static/chat.js")
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert "new WebSocket(url)" in await script.get_data(as_text=True)


async def test_two_browsers_chat(client: TestClient) -> None:
    async with client.websocket("/ws", query_string={"name": "ada"}) as ada:
        assert await ada.receive_json() == {"type": "join", "name": "ada"}
        async with client.websocket("/ws", query_string={"name": "grace"}) as grace:
            joined = {"type": "join", "name": "grace"}
            assert await ada.receive_json() == joined
            assert await grace.receive_json() == joined
            await grace.send_json({"text": "  hello, ada  "})
            said = {"type": "message", "name": "grace", "text": "hello, ada"}
            assert await ada.receive_json() == said
            assert await grace.receive_json() == said
        assert await ada.receive_json() == {"type": "leave", "name": "grace"}


@pytest.mark.parametrize("name", ["", "   ", "x" * (chat.MAX_NAME_LENGTH + 1)])
async def test_a_name_is_required(client: TestClient, name: str) -> None:
    with pytest.raises(WebsocketResponse) as refused:
        async with client.websocket("/ws", query_string={"name": name}):
            pass
    assert refused.value.response.status_code == 400
    assert b"Choose a name" in await refused.value.response.get_data()


async def test_bad_messages_get_an_error_and_the_connection_stays(client: TestClient) -> None:
    async with client.websocket("/ws", query_string={"name": "ada"}) as ada:
        await next_of_type(ada, "join")
        await ada.send("not json")
        assert (await ada.receive_json())["text"].startswith("Send JSON")
        for bad in ({"text": ""}, {"text": "x" * (chat.MAX_TEXT_LENGTH + 1)}, ["text"]):
            await ada.send_json(bad)
            assert (await ada.receive_json())["type"] == "error"
        await ada.send_json({"text": "still here"})
        assert (await ada.receive_json())["text"] == "still here"


async def test_a_slow_browser_is_dropped_and_the_room_carries_on(client: TestClient) -> None:
    async with (
        client.websocket("/ws", query_string={"name": "fast"}) as fast,
        client.websocket("/ws", query_string={"name": "slow"}) as slow,
    ):
        await next_of_type(fast, "join")
        await next_of_type(fast, "join")
        # The slow browser reads nothing while the fast one talks, far past its queue.
        notices = []
        for number in range(chat.QUEUE_SIZE * 3):
            await fast.send_json({"text": f"message {number}"})
            while (message := await fast.receive_json())["type"] != "message":
                notices.append(message)
            assert message["text"] == f"message {number}"  # the room never stalled
        assert notices == [{"type": "leave", "name": "slow"}]
        with pytest.raises(WebsocketDisconnect) as closed:
            await drain(slow)
        assert closed.value.code == 1008
        assert "too slow" in closed.value.reason
