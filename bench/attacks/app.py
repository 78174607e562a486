"""The app the attack harness serves with ``trioframe run``: a small but realistic service.

A page, a JSON API, a form, static files, a session-protected page, server-sent events and
websockets (an echo, a send-only ticker, a send-only flood). ``GET /_health`` reports what
the harness needs to judge an attack afterwards: the Trio tasks alive and the file
descriptors open in the server process. The static folder is ``ATTACK_STATIC`` (the harness
makes one, with a symbolic link leading out of it); the limits are tightened through
``TRIOFRAME_*`` environment variables by the harness, as an operator would.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import trio

from trioframe import Trioframe, abort, event_stream, request, session, websocket

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

app = Trioframe(__name__, static_folder=os.environ.get("ATTACK_STATIC", "static"))
app.config.update(SECRET_KEY="attack-harness-secret", GRACEFUL_SHUTDOWN_TIMEOUT=2.0)
app.config.from_prefixed_env()


class TaskCounter(trio.abc.Instrument):
    """How many Trio tasks are alive in the server process."""

    def __init__(self) -> None:
        self.alive = 0

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        self.alive += 1

    def task_exited(self, task: trio.lowlevel.Task) -> None:
        self.alive -= 1


tasks = TaskCounter()


@app.before_serving
async def count_tasks() -> None:
    trio.lowlevel.add_instrument(tasks)
    print("attack-app: started", flush=True)


@app.after_serving
async def stopped() -> None:
    print("attack-app: stopped cleanly", flush=True)


@app.get("/")
async def index() -> str:
    return "<!doctype html><title>shop</title><h1>Welcome</h1>"


@app.get("/_health")
async def health() -> dict[str, int]:
    return {"tasks": tasks.alive, "fds": len(os.listdir("/proc/self/fd"))}


@app.post("/api/items")
async def create_items() -> tuple[dict[str, Any], int]:
    items = await request.get_json()
    return {"received": len(items) if isinstance(items, list | dict) else 1}, 201


@app.post("/form")
async def form() -> dict[str, int]:
    return {"fields": len(await request.form)}


@app.post("/login")
async def login() -> dict[str, str]:
    session["user"] = (await request.form).get("user", "guest")
    return {"status": "logged in"}


@app.get("/me")
async def me() -> dict[str, str]:
    if "user" not in session:
        abort(401)
    return {"user": session["user"]}


@app.get("/slow")
async def slow() -> str:
    await trio.sleep(2)
    return "done"


@app.get("/download")
async def download() -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        while True:
            yield b"x" * 65536

    return chunks()


@app.get("/events")
async def events() -> Any:
    async def ticks() -> AsyncIterator[str]:
        while True:
            yield "x" * 10_000

    return event_stream(ticks())


@app.websocket("/echo")
async def echo() -> None:
    while True:
        await websocket.send(await websocket.receive())


@app.websocket("/ticker")
async def ticker() -> None:
    await websocket.accept()
    while True:
        await websocket.send("x" * 65536)
        await trio.sleep(0.01)


@app.websocket("/flood")
async def flood() -> None:
    await websocket.accept()
    while True:
        await websocket.send("x" * 1000)
