"""The benchmark's endpoints in trioframe."""

from __future__ import annotations

import trio

from trioframe import Trioframe, websocket

app = Trioframe(__name__, static_folder=None)


@app.get("/plaintext")
async def plaintext() -> tuple[str, dict[str, str]]:
    return "Hello, World!", {"Content-Type": "text/plain; charset=utf-8"}


@app.get("/json/<int:item_id>")
async def json_item(item_id: int) -> dict[str, object]:
    return {"id": item_id, "message": "Hello, World!"}


@app.websocket("/ws")
async def echo() -> None:
    while True:
        await websocket.send(await websocket.receive())


@app.websocket("/fanin")
async def fan_in() -> None:
    # Independent receiving and sending tasks, handing messages over a bounded channel.
    outbox, inbox = trio.open_memory_channel[str](16)

    async def receiving() -> None:
        async with outbox:
            while True:
                await outbox.send(await websocket.receive())

    async def sending() -> None:
        async with inbox:
            async for message in inbox:
                await websocket.send(message)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receiving)
        nursery.start_soon(sending)
