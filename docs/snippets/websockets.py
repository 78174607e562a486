"""The websockets guide: accepting, closing, and what a disconnect does."""

from __future__ import annotations

import trio

from trioframe import Trioframe, websocket

app = Trioframe(__name__)
events: list[str] = []


# docs: start accept
@app.websocket("/chat")
async def chat() -> None:
    # Choose a subprotocol the client offered, and add headers to the handshake response.
    protocol = "chat.v2" if "chat.v2" in websocket.requested_subprotocols else None
    await websocket.accept(headers={"X-Server": "trioframe"}, subprotocol=protocol)
    await websocket.send(f"speaking {protocol}")


# docs: end accept


# docs: start close
@app.websocket("/quota")
async def quota() -> None:
    for remaining in (2, 1):
        await websocket.send(f"{remaining} messages left")
    await websocket.close(4000, "quota used up")  # codes 4000-4999 are the app's own


# docs: end close


# docs: start disconnect
@app.websocket("/feed")
async def feed() -> None:
    try:
        while True:
            await websocket.send("update")
            await trio.sleep(10)  # only sends: the client leaving still ends it at once
    finally:
        events.append("feed cleaned up")  # runs when the client leaves


# docs: end disconnect
