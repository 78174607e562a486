"""The floor: a hand-written ASGI callable with the benchmark's three endpoints.

It does the least any framework could: match the path by hand, write the bytes, echo
websocket messages. Every framework's cost is measured against it.
"""

from __future__ import annotations

import json
from typing import Any

import trio

PLAINTEXT = b"Hello, World!"
TEXT_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"13")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
    elif scope["type"] == "http":
        path = scope["path"]
        if path == "/plaintext":
            await send({"type": "http.response.start", "status": 200, "headers": TEXT_HEADERS})
            await send({"type": "http.response.body", "body": PLAINTEXT})
        elif path.startswith("/json/") and path[6:].isdigit():
            body = json.dumps({"id": int(path[6:]), "message": "Hello, World!"}).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        else:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
    elif scope["type"] == "websocket" and scope["path"] == "/fanin":
        await fan_in(receive, send)
    elif scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes")})


async def lifespan(receive: Any, send: Any) -> None:
    """Say yes to startup and shutdown: nothing to set up."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def fan_in(receive: Any, send: Any) -> None:
    """Independent receiving and sending tasks, as the frameworks' fan-in handlers have."""
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    outbox, inbox = trio.open_memory_channel[str](16)

    async def receiving() -> None:
        async with outbox:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                await outbox.send(message.get("text") or "")

    async def sending() -> None:
        async with inbox:
            async for text in inbox:
                await send({"type": "websocket.send", "text": text})

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receiving)
        nursery.start_soon(sending)
