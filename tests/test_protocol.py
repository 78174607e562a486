"""The protocol guards, by direct calls: what the server hands an app never waits for ever,
and a request gets one access line. (The guards on the wire are in hardening/ and
test_server.py.)"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing
from hypercorn.config import Config as HypercornConfig
from hypercorn.protocol.events import Body, EndBody, Request, StreamClosed

from trioframe._protocol import AppMessages, HTTPStreamLoggedOnce

if TYPE_CHECKING:
    from hypercorn.protocol.events import Event


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


class _SpawnNothing:
    """A task group that runs no app: the test plays the app's part."""

    async def spawn_app(self, *args: object) -> Any:
        async def put(message: object) -> None:
            pass

        return put


@pytest.mark.parametrize("closed_during", [Body, EndBody])
async def test_a_client_closing_as_the_response_ends_gets_one_access_line(
    closed_during: type[Event], caplog: pytest.LogCaptureFixture
) -> None:
    config = HypercornConfig()
    config.accesslog = logging.getLogger("hypercorn.access")
    stream: HTTPStreamLoggedOnce

    async def send(event: Event) -> None:
        if isinstance(event, closed_during):
            # The client has read the whole body and hangs up while the last of it is sent.
            await stream.handle(StreamClosed(stream_id=1))

    unused: Any = None  # the app and the worker context
    tasks: Any = _SpawnNothing()
    state: Any = {}
    stream = HTTPStreamLoggedOnce(unused, config, unused, tasks, False, None, None, send, 1)
    request = Request(
        stream_id=1, headers=[], http_version="1.1", method="GET", raw_path=b"/", state=state
    )
    await stream.handle(request)
    await stream.app_send(message(type="http.response.start", status=200, headers=[]))
    caplog.set_level(logging.INFO, logger="hypercorn.access")
    await stream.app_send(message(type="http.response.body", body=b"done"))
    lines = [r.getMessage() for r in caplog.records if r.name == "hypercorn.access"]
    assert len(lines) == 1
    assert '"GET / 1.1" 200' in lines[0]
