"""The broadcast hub across processes, on loopback: servers in subprocesses (plain hypercorn
with its trio worker, and ``trioframe run --workers 2``) share one real ``redis-server``;
trio-websocket clients listen on one process while a POST to another publishes."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

import pytest
import trio

from tests.support.loopback import WAIT_S, ServerProcess, running_server, websocket_to
from tests.support.redis import RedisServer, redis_server
from trioframe.testing._wire import http_exchange

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import trio_websocket

APP = "tests.support.broadcast_app:app"


@pytest.fixture
async def redis() -> AsyncIterator[RedisServer]:
    async with redis_server() as server:
        yield server


async def publish(port: int, channel: str, text: str) -> int:
    """POST ``text`` to the server on ``port``; the pid of the process that published."""
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        response = await http_exchange(stream, "POST", f"/publish/{channel}", body=text.encode())
    assert response.status_code == 200, response.body
    return int(json.loads(response.body)["pid"])


async def listener_pid(ws: trio_websocket.WebSocketConnection) -> int:
    """The pid the listening handler says first."""
    greeting = await ws.get_message()
    assert isinstance(greeting, str)
    assert greeting.startswith("pid ")
    return int(greeting.removeprefix("pid "))


async def stop(server: ServerProcess) -> None:
    assert await server.interrupt_and_wait() == 0, server.output


async def test_a_post_to_one_hypercorn_process_reaches_a_websocket_on_another(
    redis: RedisServer,
) -> None:
    command = ("-m", "hypercorn", "--worker-class", "trio", "--bind", "127.0.0.1:0", APP)
    env = {"TRIOFRAME_BROADCAST_URL": json.dumps(redis.url)}
    async with (
        running_server(*command, env=env) as first,
        running_server(*command, env=env) as second,
    ):
        first_port, second_port = await first.wait_for_port(), await second.wait_for_port()
        async with websocket_to(first_port, "/listen/news") as ws:
            listening = await listener_pid(ws)
            with trio.fail_after(WAIT_S):
                publishing = await publish(second_port, "news", "from the other process")
                assert await ws.get_message() == "from the other process"
        assert listening != publishing
        await stop(first)
        await stop(second)
    # Each process unsubscribed when its listener left, or dropped its connection at exit.
    assert await redis.subscribers("news") == 0


async def test_trioframe_run_with_two_workers_delivers_to_clients_on_both(
    redis: RedisServer,
) -> None:
    env = {"TRIOFRAME_BROADCAST_URL": json.dumps(redis.url)}
    command = ("-m", "trioframe", "run", APP, "--port", "0", "--workers", "2")
    async with running_server(*command, env=env) as server:
        port = await server.wait_for_port()
        # One bound around the clients' whole life: a cancel scope must enclose the
        # connections (and their nurseries) it times.
        with trio.fail_after(WAIT_S):
            async with AsyncExitStack() as clients:
                listeners = await connect_to_every_worker(clients, port, workers=2)
                await publish(port, "room", "everyone")
                for sockets in listeners.values():
                    for ws in sockets:
                        assert await ws.get_message() == "everyone"
        await stop(server)
    assert await redis.subscribers("room") == 0


async def connect_to_every_worker(
    clients: AsyncExitStack, port: int, *, workers: int
) -> dict[int, list[trio_websocket.WebSocketConnection]]:
    """Open listeners until each of ``workers`` processes serves one; by pid.

    The kernel hands each connection to whichever worker accepts first, often the same one
    many times in a row, so this may take a few hundred connections; it gives up after 500.
    """
    listeners: dict[int, list[trio_websocket.WebSocketConnection]] = {}
    for _ in range(500):
        ws = await clients.enter_async_context(websocket_to(port, "/listen/room"))
        listeners.setdefault(await listener_pid(ws), []).append(ws)
        if len(listeners) == workers:
            return listeners
    raise AssertionError(f"500 connections all went to the workers {sorted(listeners)}")
