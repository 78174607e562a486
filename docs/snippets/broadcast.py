"""The broadcast guide: rooms over websockets, a ticker that keeps the newest prices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trioframe import BodyProducer, Response, ServerSentEvent, Trioframe, request, websocket
from trioframe.broadcast import Broadcast, SlowConsumer

if TYPE_CHECKING:
    import trio

app = Trioframe(__name__)
app.config["BROADCAST_BUFFER"] = 32

# docs: start hub
hub = Broadcast(app)


@app.websocket("/rooms/<name>")
async def room(name: str) -> None:
    # Everything published to the room goes to this client until it leaves.
    await hub.forward(f"room:{name}", websocket)


@app.post("/rooms/<name>")
async def say(name: str) -> tuple[str, int]:
    message = await request.get_json()
    await hub.publish_json(f"room:{name}", {"user": message["user"], "text": message["text"]})
    return "", 204


# docs: end hub

# docs: start ticker
prices = Broadcast(app, overflow="drop_oldest", buffer=4)


@app.websocket("/ticker")
async def ticker() -> None:
    # A client that falls behind skips old prices instead of being disconnected.
    await websocket.accept()
    async with prices.subscribe("prices") as updates:
        async for update in updates:
            await websocket.send(update)


# docs: end ticker


# docs: start own
@app.websocket("/alerts")
async def alerts() -> None:
    await websocket.accept()
    try:
        async with hub.subscribe("alerts") as messages:
            async for message in messages:
                await websocket.send(message)
    except SlowConsumer:
        # Left unhandled, the hub's error would close the websocket with 1008; here the
        # client is told why first.
        await websocket.send("too slow: reconnect to catch up")
        await websocket.close(1008, "too slow")


# docs: end own


# docs: start feed
@app.get("/feed")
async def feed() -> Response:
    # The subscription lives in the producer task, never in an async generator.
    async def produce(chunks: trio.MemorySendChannel[bytes]) -> None:
        async with hub.subscribe("news") as messages:
            async for message in messages:
                text = message if isinstance(message, str) else message.decode()
                await chunks.send(ServerSentEvent(text, event="news").encode())

    return Response(
        BodyProducer(produce),
        headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"},
    )


# docs: end feed
