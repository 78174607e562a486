"""The benchmark's endpoints in trioframe."""

from __future__ import annotations

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
