"""The broadcast benchmark's trioframe app: the hub, ``memory://`` or, from
``TRIOFRAME_BROADCAST_URL``, Redis. ``/sub`` forwards the channel to the websocket; every
message sent on ``/pub`` is published to it."""

from __future__ import annotations

from trioframe import Trioframe, websocket
from trioframe.broadcast import Broadcast

app = Trioframe(__name__)
app.config.from_prefixed_env()
hub = Broadcast(app)


@app.websocket("/sub")
async def sub() -> None:
    await hub.forward("bench", websocket)


@app.websocket("/pub")
async def pub() -> None:
    await websocket.accept()
    while True:
        await hub.publish("bench", await websocket.receive())
