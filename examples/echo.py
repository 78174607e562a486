"""The smallest websocket app: every message comes straight back.

Serve it with ``trioframe run examples/echo.py:app`` and connect to ws://127.0.0.1:5000/ws.
"""

from __future__ import annotations

from trioframe import Trioframe, websocket

app = Trioframe(__name__)


@app.websocket("/ws")
async def echo() -> None:
    while True:
        message = await websocket.receive()  # str for text frames, bytes for binary ones
        await websocket.send(message)
