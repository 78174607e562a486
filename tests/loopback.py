"""Serving an app on 127.0.0.1 with hypercorn's trio worker, in the test's own Trio run."""

from __future__ import annotations

from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING

import hypercorn.trio
import trio

from trioframe._serving import hypercorn_config
from trioframe.testing import websocket_client

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import trio_websocket

    from trioframe import Trioframe


async def serve(app: Trioframe, nursery: trio.Nursery) -> tuple[int, trio.Event]:
    """Start hypercorn on a free loopback port; set the returned event to stop it."""
    stop = trio.Event()
    config = hypercorn_config(app, host="127.0.0.1", port=0, access_log=False)
    binds = await nursery.start(
        partial(hypercorn.trio.serve, app, config, shutdown_trigger=stop.wait)
    )
    port = int(binds[0].rsplit(":", 1)[1])
    return port, stop


@asynccontextmanager
async def websocket_to(port: int, path: str) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    """A trio-websocket client on a real TCP connection to the loopback server."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with websocket_client(stream, path, host=f"127.0.0.1:{port}") as ws:
        yield ws


@asynccontextmanager
async def serving(app: Trioframe) -> AsyncIterator[int]:
    """Serve ``app`` on a free loopback port for the block; yields the port."""
    async with trio.open_nursery() as nursery:
        port, stop = await serve(app, nursery)
        try:
            yield port
        finally:
            stop.set()
