"""The lifespan handler: tells the server when the app is ready and when it has stopped."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._app import Trioframe
    from ._types import (
        ASGIReceive,
        ASGISend,
        LifespanScope,
        LifespanShutdownCompleteEvent,
        LifespanStartupCompleteEvent,
    )


async def handle_lifespan(
    app: Trioframe, scope: LifespanScope, receive: ASGIReceive, send: ASGISend
) -> None:
    """Answer the server's startup and shutdown messages; returns after shutdown."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            started: LifespanStartupCompleteEvent = {"type": "lifespan.startup.complete"}
            await send(started)
        elif message["type"] == "lifespan.shutdown":
            stopped: LifespanShutdownCompleteEvent = {"type": "lifespan.shutdown.complete"}
            await send(stopped)
            return
