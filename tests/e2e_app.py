"""The app the end-to-end tests serve in a separate process.

It prints a line at startup and shutdown, flushed, so the test can tell the hooks ran.
"""

from __future__ import annotations

from typing import Any

import trio

from trioframe import Trioframe, websocket

app = Trioframe(__name__)
app.config["GRACEFUL_SHUTDOWN_TIMEOUT"] = 1.0
app.config.from_prefixed_env()  # tests lengthen the grace period with an environment variable


@app.before_serving
async def announce_start() -> None:
    print("e2e: started", flush=True)


@app.after_serving
async def announce_stop() -> None:
    print("e2e: stopped cleanly", flush=True)


@app.get("/")
async def index() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/slow")
async def slow() -> str:
    print("e2e: slow request started", flush=True)
    await trio.sleep(3600)  # an in-flight request for the shutdown tests
    return "finally"


@app.websocket("/echo")
async def echo() -> None:
    while True:
        await websocket.send(await websocket.receive())


@app.websocket("/private")
async def private() -> Any:
    return "Invalid password", 403


@app.websocket("/ticker")
async def ticker() -> None:
    try:
        while True:
            await websocket.send("tick")
            await trio.sleep(10)
    finally:
        print("e2e: ticker cancelled", flush=True)
