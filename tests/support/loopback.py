"""Serving on 127.0.0.1: in the test's own Trio run, or as ``trioframe run`` in a subprocess.

Every wait here is bounded by ``WAIT_S``: far above what the tests need, far below a hang.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import hypercorn.trio
import trio
from hypercorn.config import Config as HypercornConfig

from trioframe._server import Server
from trioframe._serving import hypercorn_config, open_listeners
from trioframe.testing import websocket_client
from trioframe.testing._wire import http_exchange

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import trio_websocket

    from trioframe import Trioframe

ROOT = Path(__file__).parent.parent.parent
#: A bound on every wait; far above what the tests need, far below a hang.
WAIT_S = 20


async def serve(app: Trioframe, nursery: trio.Nursery) -> tuple[int, trio.Event]:
    """Start trioframe's server on a free loopback port; set the returned event to stop it
    (gracefully, as the first Ctrl-C does)."""
    stop = trio.Event()
    config = hypercorn_config(app, host="127.0.0.1", port=0, access_log=False)
    server = Server(app, config)
    binds = await nursery.start(server.serve, await open_listeners(config))

    async def stop_when_asked() -> None:
        await stop.wait()
        server.stop.gracefully()

    nursery.start_soon(stop_when_asked)
    return int(binds[0].rsplit(":", 1)[1]), stop


async def serve_with_plain_hypercorn(
    app: Trioframe, nursery: trio.Nursery
) -> tuple[int, trio.Event]:
    """Start ``hypercorn.trio.serve`` itself, as a plain ``hypercorn`` command serves, on a
    free loopback port; set the returned event to stop it."""
    stop = trio.Event()
    config = HypercornConfig()
    config.bind = ["127.0.0.1:0"]
    config.graceful_timeout = float(app.config["GRACEFUL_SHUTDOWN_TIMEOUT"])
    binds = await nursery.start(
        partial(hypercorn.trio.serve, app, config, shutdown_trigger=stop.wait)
    )
    return int(binds[0].rsplit(":", 1)[1]), stop


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


async def http_get(host: str, port: int, path: str) -> tuple[int, bytes]:
    """One HTTP/1.1 GET over a real TCP connection, with h11."""
    async with await trio.open_tcp_stream(host, port) as stream:
        response = await http_exchange(stream, "GET", path, headers=[("Host", f"{host}:{port}")])
    return response.status_code, response.body


class ServerProcess:
    """A server in a subprocess, its output read as it comes."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.output = ""
        # Standard output and error together, or standard error alone when output goes
        # to a file of the test's.
        stream = process.stdout if process.stdout is not None else process.stderr
        assert stream is not None
        self._stream = stream

    async def wait_for(self, pattern: str) -> re.Match[str]:
        with trio.fail_after(WAIT_S):
            while (found := re.search(pattern, self.output)) is None:
                chunk = await self._stream.receive_some(65536)
                if not chunk:
                    raise AssertionError(f"the server exited; it printed:\n{self.output}")
                self.output += chunk.decode()
        return found

    async def wait_for_port(self) -> int:
        """Wait until the server says where it serves; return the port."""
        return int((await self.wait_for(r"Running on http://127\.0\.0\.1:(\d+)")).group(1))

    async def wait_for_exit(self) -> int:
        """Wait for the server to exit, reading the rest of its output; return its status."""
        with trio.move_on_after(WAIT_S):
            while chunk := await self._stream.receive_some(65536):
                self.output += chunk.decode()
            return await self.process.wait()
        raise AssertionError(
            f"the server did not exit within {WAIT_S} s (status {self.process.returncode}); "
            f"it printed:\n{self.output}"
        )

    async def interrupt_and_wait(self) -> int:
        """Press Ctrl-C and wait for the server to exit, reading the rest of its output."""
        self.process.send_signal(signal.SIGINT)
        return await self.wait_for_exit()


@asynccontextmanager
async def running_server(
    *command: str,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    stdout: Path | None = None,
) -> AsyncIterator[ServerProcess]:
    """Run ``python *command`` in ``cwd`` (the repository root unless given); kill it if the
    test leaves early. Its output is read together with its standard error, unless
    ``stdout`` names a file for it."""
    with contextlib.ExitStack() as files:
        output = files.enter_context(stdout.open("wb")) if stdout is not None else None
        process = await trio.lowlevel.open_process(
            [sys.executable, *command],
            cwd=cwd,
            stdout=output if output is not None else subprocess.PIPE,
            stderr=subprocess.PIPE if output is not None else subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    try:
        yield ServerProcess(process)
    finally:
        if process.returncode is None:
            process.kill()
        with trio.move_on_after(WAIT_S, shield=True):
            await process.wait()
