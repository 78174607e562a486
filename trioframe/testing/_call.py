"""One HTTP request through the app's ASGI callable, in the calling task, for the test
client: the body handed out in chunks, the response collected whole."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import trio

from trioframe._context import calls_from_test_client

if TYPE_CHECKING:
    from trioframe._app import Trioframe
    from trioframe._types import HTTPScope

#: Request bodies reach the app in chunks of this size, as from a server.
BODY_CHUNK_BYTES = 64 * 1024


async def call_app(
    app: Trioframe, scope: HTTPScope, body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run one ASGI request in the calling task and collect the response.

    ``receive`` hands out the body in chunks, then waits until the response is complete and
    reports the disconnect, as a server does once a response has been sent.

    Raises:
        RuntimeError: the app returned without sending a complete response.
    """
    messages = deque(
        {
            "type": "http.request",
            "body": body[start : start + BODY_CHUNK_BYTES],
            "more_body": start + BODY_CHUNK_BYTES < len(body),
        }
        for start in range(0, max(len(body), 1), BODY_CHUNK_BYTES)
    )
    complete = trio.Event()
    status: int | None = None
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        if messages:
            await trio.lowlevel.checkpoint()
            return messages.popleft()
        await complete.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        await trio.lowlevel.checkpoint()
        if message["type"] == "http.response.start":
            status = message["status"]
            headers.extend(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                complete.set()

    with calls_from_test_client():
        await app(scope, receive, send)
    if status is None or not complete.is_set():
        raise RuntimeError(
            f"The app returned without completing a response to {scope['method']} {scope['path']}"
        )
    return status, headers, b"".join(chunks)
