"""A websocket refused without the right credentials.

Before accepting, the handler may return a response, as a view does; the client gets that
HTTP response instead of a websocket. Browsers cannot send Basic credentials with a
websocket, so the token may also come in the query string.
"""

from __future__ import annotations

import os
import secrets

from trioframe import Trioframe, abort, websocket

app = Trioframe(__name__)
app.config["CHAT_TOKEN"] = os.environ.get("CHAT_TOKEN", "let me in")


def authorised() -> bool:
    expected = app.config["CHAT_TOKEN"]
    auth = websocket.authorization
    given = auth.password if auth is not None else websocket.args.get("token")
    return given is not None and secrets.compare_digest(given, expected)


@app.websocket("/private")
async def private() -> tuple[str, int] | None:
    if not authorised():
        return "Invalid password", 403  # the client gets this HTTP response
    await websocket.accept()
    await websocket.send("Welcome to the private channel")
    while True:
        await websocket.send(await websocket.receive())


@app.websocket("/admin")
async def admin() -> None:
    if not authorised():
        abort(401, "Log in first.")  # abort refuses the same way
    await websocket.accept()
    await websocket.send("admin console")
