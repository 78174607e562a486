"""A first trioframe app: routes, JSON, a streamed response and a nursery inside a view.

Serve it on http://127.0.0.1:5000 with hypercorn's trio worker::

    trioframe run examples/hello.py:app
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from trioframe import Trioframe, abort, request, url_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

app = Trioframe(__name__)

#: Seconds between the lines of /countdown.
TICK_S = 1.0
#: How long each simulated mirror takes to answer /fastest.
MIRROR_DELAYS_S = {"mirror-a": 0.3, "mirror-b": 0.1, "mirror-c": 0.2}


@app.get("/")
async def index() -> str:
    links = [
        url_for("greet", name="Trio"),
        url_for("countdown", start=3),
        url_for("fastest"),
    ]
    items = "".join(f'<li><a href="{link}">{link}</a></li>' for link in links)
    return f"<!doctype html><title>trioframe</title><h1>Hello from trioframe</h1><ul>{items}</ul>"


@app.get("/hello/<name>")
async def greet(name: str) -> dict[str, str]:
    return {"message": f"Hello, {name}!"}


@app.post("/echo")
async def echo() -> dict[str, Any]:
    """Send back the JSON body (a non-JSON body gets 415, malformed JSON 400)."""
    return {"you_sent": await request.get_json()}


@app.get("/countdown/<int:start>")
async def countdown(start: int) -> tuple[AsyncIterator[str], dict[str, str]]:
    """Stream one line per tick; if the client leaves, the generator is cancelled."""
    if start > 10:
        abort(400, "Count down from 10 or less.")

    async def lines() -> AsyncIterator[str]:
        for remaining in range(start, 0, -1):
            yield f"{remaining}\n"
            await trio.sleep(TICK_S)
        yield "liftoff\n"

    return lines(), {"Content-Type": "text/plain; charset=utf-8"}


@app.get("/fastest")
async def fastest() -> dict[str, str]:
    """Ask every mirror at once; the first answer wins and the others are cancelled."""
    winner = ""

    async def ask(mirror: str, delay: float, nursery: trio.Nursery) -> None:
        nonlocal winner
        await trio.sleep(delay)  # stands in for a network call
        winner = mirror
        nursery.cancel_scope.cancel()

    async with trio.open_nursery() as nursery:
        for mirror, delay in MIRROR_DELAYS_S.items():
            nursery.start_soon(ask, mirror, delay, nursery)
    return {"winner": winner}
