"""The broadcast floor: a hand-written Trio fan-out as a bare ASGI callable.

``/sub`` subscribes the websocket to the one channel; every text message sent on ``/pub`` is
published to it. Each subscriber has a memory channel of ``BUFFER`` messages, filled without
waiting (``send_nowait``), so publishing never waits on a subscriber; one whose channel is
full is dropped. That is the least a bounded fan-out can do in Trio, and what the hubs are
measured against.
"""

from __future__ import annotations

from typing import Any

import trio
from raw_asgi import lifespan

BUFFER = 64
subscribers: set[trio.MemorySendChannel[str]] = set()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
    elif scope["type"] == "websocket" and scope["path"] == "/sub":
        await subscriber(receive, send)
    elif scope["type"] == "websocket" and scope["path"] == "/pub":
        await publisher(receive, send)


async def subscriber(receive: Any, send: Any) -> None:
    await receive()  # websocket.connect
    outbox, inbox = trio.open_memory_channel[str](BUFFER)
    subscribers.add(outbox)
    await send({"type": "websocket.accept"})
    try:
        async with trio.open_nursery() as nursery:

            async def until_the_client_leaves() -> None:
                while (await receive())["type"] != "websocket.disconnect":
                    pass
                nursery.cancel_scope.cancel()

            nursery.start_soon(until_the_client_leaves)
            # Ends when the publisher drops this subscriber (its channel closes).
            async for text in inbox:
                await send({"type": "websocket.send", "text": text})
            nursery.cancel_scope.cancel()
    finally:
        subscribers.discard(outbox)
        outbox.close()


async def publisher(receive: Any, send: Any) -> None:
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message["text"]
        for outbox in list(subscribers):
            try:
                outbox.send_nowait(text)
            except trio.WouldBlock:  # too slow: dropped
                subscribers.discard(outbox)
                outbox.close()
