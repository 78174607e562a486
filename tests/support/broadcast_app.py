"""The app the multi-process broadcast tests serve: one hub, its URL from the environment
(``TRIOFRAME_BROADCAST_URL``), so every process the test starts shares the test's Redis."""

from __future__ import annotations

import os

from trioframe import Trioframe, request, websocket
from trioframe.broadcast import Broadcast

app = Trioframe("broadcast_app")
app.config.from_prefixed_env()
hub = Broadcast(app)


@app.websocket("/listen/<channel>")
async def listen(channel: str) -> None:
    async with hub.subscribe(channel) as messages:
        # Accepted once Redis has the subscription: the client may publish at once. The
        # first message says which process serves it.
        await websocket.accept()
        await websocket.send(f"pid {os.getpid()}")
        async for message in messages:
            await websocket.send(message)


@app.post("/publish/<channel>")
async def publish(channel: str) -> dict[str, int]:
    await hub.publish(channel, await request.get_data(as_text=True))
    return {"pid": os.getpid()}
