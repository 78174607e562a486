"""The protocol guards' message queue to the app, by direct calls: what the server hands an
app never waits for ever. (The guards on the wire are in hardening/ and test_server.py.)"""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from trioframe._protocol import AppMessages


def message(**fields: object) -> Any:
    """An ASGI message, as hypercorn hands it over."""
    return dict(fields)


async def next_message(messages: AppMessages) -> dict[str, object]:
    return dict(await messages.receive())


async def test_the_first_disconnect_is_the_one_the_app_hears() -> None:
    messages = AppMessages(2)
    await messages.put(message(type="websocket.receive", text="queued"))
    await messages.put(message(type="websocket.disconnect", code=1001))
    await messages.put(message(type="websocket.disconnect", code=1006))  # a late repeat
    assert await next_message(messages) == {"type": "websocket.receive", "text": "queued"}
    assert await next_message(messages) == {"type": "websocket.disconnect", "code": 1001}
    assert await next_message(messages) == {"type": "websocket.disconnect", "code": 1001}


async def test_a_disconnect_never_waits_for_room() -> None:
    messages = AppMessages(1)
    await messages.put(message(type="http.request", body=b"one", more_body=True))
    with trio.testing.assert_checkpoints(), trio.fail_after(1):
        await messages.put(message(type="http.disconnect"))  # the queue is full
    await messages.put(message(type="http.request", body=b"late"))  # dropped: the client left
    assert (await next_message(messages))["body"] == b"one"
    assert await next_message(messages) == {"type": "http.disconnect"}


async def test_nothing_is_queued_once_the_app_has_finished() -> None:
    messages = AppMessages(1)
    messages.close()
    with trio.fail_after(1):
        for _ in range(3):  # more than the capacity, and none of them waits
            await messages.put(message(type="http.request", body=b"unread"))
