"""The proxy set-up sees the client the proxy saw."""

from __future__ import annotations

import json
from typing import Any

import trio

from .deployment import app


async def test_the_forwarded_headers_are_believed() -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/whoami",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"10.0.0.5:8000"),
            (b"x-forwarded-for", b"6.6.6.6, 203.0.113.7"),  # the first was made up by the client
            (b"x-forwarded-proto", b"https"),
            (b"x-forwarded-host", b"shop.example.com"),
        ],
        "client": ("10.0.0.1", 51000),
        "server": ("10.0.0.5", 8000),
    }
    sent: list[dict[str, Any]] = []
    requested, done = trio.Event(), trio.Event()

    async def receive() -> dict[str, Any]:  # the server's side of ASGI, as hypercorn does it
        if not requested.is_set():
            requested.set()
            await trio.lowlevel.checkpoint()
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await app(scope, receive, send)
    assert json.loads(sent[1]["body"]) == {
        "client": "203.0.113.7",
        "scheme": "https",
        "host": "shop.example.com",
    }
