"""A real ``redis-server`` for the tests, on a free loopback port, with no persistence.

``.ci/run`` installs Debian's ``redis-server`` and sets ``TRIOFRAME_REDIS_TESTS=required``,
so in CI a missing server fails the tests that need it instead of skipping them. Elsewhere
they are skipped, and say how to run them.

Every wait is bounded by ``WAIT_S``: far above what the tests need, far below a hang.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import coredis
import pytest
import trio

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

#: A bound on every wait; far above what the tests need, far below a hang.
WAIT_S = 20
REDIS_SERVER = os.environ.get("TRIOFRAME_REDIS_SERVER", "redis-server")


def redis_server_path() -> str:
    """Where ``redis-server`` is; skips the test (fails it in CI) when it is not there."""
    path = shutil.which(REDIS_SERVER)
    if path is None:
        message = (
            f"no {REDIS_SERVER!r} on PATH: install Debian's 'redis-server' package (or point "
            "TRIOFRAME_REDIS_SERVER at one) to run the Redis tests"
        )
        if os.environ.get("TRIOFRAME_REDIS_TESTS") == "required":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process that a test can stop and start again on its port."""

    def __init__(self, path: str, port: int) -> None:
        self.path = path
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._process: trio.Process | None = None
        self.output = ""

    async def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        assert self._process is None, "the server is already running"
        self._process = await trio.lowlevel.open_process(
            [
                self.path,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "notice",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert self._process.stdout is not None
        self.output = ""
        with trio.fail_after(WAIT_S):
            while "Ready to accept connections" not in self.output:
                chunk = await self._process.stdout.receive_some(65536)
                if not chunk:
                    raise AssertionError(f"redis-server exited; it printed:\n{self.output}")
                self.output += chunk.decode(errors="replace")
        # Nothing reads the rest: the server logs a few lines until it stops, far less than
        # the pipe holds.

    async def stop(self) -> None:
        """Stop the server; its clients see their connections end."""
        process, self._process = self._process, None
        assert process is not None, "the server is not running"
        process.kill()
        with trio.fail_after(WAIT_S):
            await process.wait()
        assert process.stdout is not None
        await process.stdout.aclose()

    def client(self) -> coredis.Redis[bytes]:
        """A client of the test's own, for looking at the server (``async with`` it)."""
        return coredis.Redis.from_url(self.url, connect_timeout=WAIT_S)

    async def subscribers(self, channel: str) -> int:
        """How many connections Redis has subscribed to ``channel`` (``PUBSUB NUMSUB``)."""
        async with self.client() as client:
            counts = await client.pubsub_numsub(channel)
        return counts.get(channel.encode(), 0)

    async def wait_for_subscribers(self, channel: str, count: int) -> None:
        """Ask Redis until ``count`` connections are subscribed to ``channel``; a
        subscriber's leaving reaches Redis in its own time, on the hub's connection."""
        with trio.fail_after(WAIT_S):
            while await self.subscribers(channel) != count:
                pass


@asynccontextmanager
async def redis_server() -> AsyncIterator[RedisServer]:
    """A fresh ``redis-server`` for the block, stopped at its end."""
    server = RedisServer(redis_server_path(), free_port())
    await server.start()
    try:
        yield server
    finally:
        if server._process is not None:
            with trio.CancelScope(shield=True):
                await server.stop()
