"""The benchmark's endpoints in Quart, on Trio through quart-trio."""

from __future__ import annotations

from quart import websocket
from quart_trio import QuartTrio

app = QuartTrio(__name__)


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
