"""The floor for the big app: a hand-written ASGI callable that routes 100 paths (a dict for
the static ones, a split for the others), runs its section's hook and reads the query and
a header, doing no more than any framework must."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from big_shape import SECTIONS, item_indices, static_paths

STATIC = {path for section in range(SECTIONS) for path in static_paths(section)}
ITEMS = {f"item{index}" for index in item_indices()}
hook_calls = 0


def section_hook() -> None:
    global hook_calls
    hook_calls += 1


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    path = scope["path"]
    if path in STATIC:
        section_hook()
        body = b"page"
    else:
        parts = path.split("/")
        if len(parts) != 4 or parts[2] not in ITEMS or not parts[3].isdigit():
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        section_hook()
        query = parse_qs(scope["query_string"].decode("latin-1"))
        token = next(value for name, value in scope["headers"] if name == b"x-token")
        body = json.dumps(
            {"id": int(parts[3]), "q": query["q"][0], "token": token.decode("latin-1")}
        ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
