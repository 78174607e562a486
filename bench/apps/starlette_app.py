"""The benchmark's endpoints in Starlette (which runs on Trio through anyio)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

if TYPE_CHECKING:
    from starlette.requests import Request


async def plaintext(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, World!")


async def json_item(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["item_id"], "message": "Hello, World!"})


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message["bytes"])
    except WebSocketDisconnect:
        return


async def fan_in(websocket: WebSocket) -> None:
    await websocket.accept()
    # Starlette runs on Trio here (through anyio), so the handler may use Trio itself.
    outbox, inbox = trio.open_memory_channel[str](16)

    async def receiving() -> None:
        async with outbox:
            while True:
                await outbox.send(await websocket.receive_text())

    async def sending() -> None:
        async with inbox:
            async for message in inbox:
                await websocket.send_text(message)

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(receiving)
            nursery.start_soon(sending)
    except* WebSocketDisconnect:
        pass  # the client left: the end


app = Starlette(
    routes=[
        Route("/plaintext", plaintext),
        Route("/json/{item_id:int}", json_item),
        WebSocketRoute("/ws", echo),
        WebSocketRoute("/fanin", fan_in),
    ]
)
