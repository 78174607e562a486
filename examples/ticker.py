"""Independent sending and receiving: a ticker that also answers the client.

One task sends a tick every ``TICK_S`` seconds; another answers each message the client
sends. They run in a nursery inside the handler, so there is nothing to gather or clean up:
when the client leaves, trioframe cancels the handler and both tasks with it.
"""

from __future__ import annotations

import trio

from trioframe import Trioframe, websocket

app = Trioframe(__name__)

#: Seconds between ticks.
TICK_S = 1.0


@app.websocket("/ticker")
async def ticker() -> None:
    async def send_ticks() -> None:
        count = 0
        while True:
            await websocket.send_json({"tick": count})
            count += 1
            await trio.sleep(TICK_S)

    async def answer() -> None:
        while True:
            message = await websocket.receive()
            await websocket.send_json({"echo": message})

    async with trio.open_nursery() as nursery:
        nursery.start_soon(send_ticks)
        nursery.start_soon(answer)
