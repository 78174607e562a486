"""The broadcast benchmark's Starlette app, on encode/broadcaster as its README shows it:
``memory://`` or, from ``BROADCAST_URL``, Redis. broadcaster runs on asyncio only, so this
app is served by hypercorn's asyncio worker."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from broadcaster import Broadcast
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.websockets import WebSocket

broadcast = Broadcast(os.environ.get("BROADCAST_URL", "memory://"))


async def sub(websocket: WebSocket) -> None:
    await websocket.accept()
    async with broadcast.subscribe(channel="bench") as subscriber:
        async for event in subscriber:  # type: ignore[union-attr]
            await websocket.send_text(event.message)


async def pub(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        await broadcast.publish(channel="bench", message=await websocket.receive_text())


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await broadcast.connect()
    try:
        yield
    finally:
        await broadcast.disconnect()


app = Starlette(
    routes=[WebSocketRoute("/sub", sub), WebSocketRoute("/pub", pub)], lifespan=lifespan
)
