"""Hostile clients against ``trioframe run`` over loopback sockets, in a subprocess.

These attacks used to hang, starve or pin the server process itself, so the server runs
apart from the test: a server that stops answering fails the test at its bound instead of
freezing the test run. After an attack, a bystander must still be served.
"""

from __future__ import annotations

import os
import signal
import socket
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trio

from tests.support.loopback import WAIT_S, ServerProcess, http_get, running_server

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

SERVE_E2E_APP = (
    "-m",
    "trioframe",
    "run",
    "tests.support.e2e_app:app",
    "--port",
    "0",
    "--no-access-log",
)
HANDSHAKE = (
    "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
GET = "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"
#: Attacks repeated per test: some of these races are lost only now and then.
ROUNDS = 5
#: What each endless response is, how to ask for it, and what the app reports of it.
ENDLESS = {
    "download": (GET.format(path="/download"), "download"),
    "event-stream": (GET.format(path="/events"), "events"),
    "websocket": (HANDSHAKE.format(path="/stream"), "stream"),
}


async def test_a_send_only_handler_stops_when_its_client_vanishes() -> None:
    async with running_server(*SERVE_E2E_APP) as server:
        port = await server.wait_for_port()
        for round_number in range(1, ROUNDS + 1):
            with trio.fail_after(WAIT_S):
                stream = await trio.open_tcp_stream("127.0.0.1", port)
                await stream.send_all(HANDSHAKE.format(path="/flood").encode())
                await stream.receive_some(65536)  # the handshake, and the flood begins
                await stream.aclose()  # gone, without a close frame
                # The server used to spin in the handler's sends, answering nobody.
                assert await http_get("127.0.0.1", port, "/") == (200, b'{"status":"ok"}\n')
            await server.wait_for(f"(?s)(e2e: flood cancelled.*?){{{round_number}}}")
        assert await server.interrupt_and_wait() == 0


@asynccontextmanager
async def stalled(port: int, request: str) -> AsyncIterator[trio.SocketStream]:
    """A client that sends ``request``, reads the start of the answer, and then nothing."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    # A small window: the server's writes block sooner.
    stream.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        await stream.send_all(request.encode())
        await stream.receive_some(1024)
        yield stream
    finally:
        await stream.aclose()


async def wait_for_ended(server: ServerProcess, what: str) -> None:
    await server.wait_for(f"e2e: {what} started")
    await server.wait_for(f"e2e: {what} ended")


@pytest.mark.parametrize(
    ("kind", "workers"),
    [*((kind, "1") for kind in sorted(ENDLESS)), ("download", "2")],
)
async def test_shutdown_completes_while_a_client_stops_reading(kind: str, workers: str) -> None:
    request, what = ENDLESS[kind]
    command = (*SERVE_E2E_APP, "--workers", workers)
    async with running_server(*command) as server:  # a grace period of 1 s
        port = await server.wait_for_port()
        with trio.fail_after(WAIT_S):
            async with stalled(port, request):
                await server.wait_for(f"e2e: {what} started")
                # hypercorn's write to this client is shielded from cancellation: it used to
                # hold the process until SIGKILL, and after_serving never ran.
                assert await server.interrupt_and_wait() == 0
    assert f"e2e: {what} ended" in server.output
    assert "e2e: stopped cleanly" in server.output


async def test_a_second_ctrl_c_ends_connections_that_stopped_reading() -> None:
    long_grace = {"TRIOFRAME_GRACEFUL_SHUTDOWN_TIMEOUT": "3600"}
    async with running_server(*SERVE_E2E_APP, env=long_grace) as server:
        port = await server.wait_for_port()
        with trio.fail_after(WAIT_S):
            async with stalled(port, GET.format(path="/download")):
                await server.wait_for("e2e: download started")
                server.process.send_signal(2)
                await server.wait_for("press Ctrl-C again to stop at once")
                assert await server.interrupt_and_wait() == 0
    assert "e2e: download ended" in server.output
    assert "e2e: stopped cleanly" in server.output  # the shutdown hooks still ran


async def test_a_client_that_stops_reading_is_dropped_after_the_send_timeout() -> None:
    quick = {"TRIOFRAME_RESPONSE_SEND_TIMEOUT": "1", "TRIOFRAME_WEBSOCKET_SEND_TIMEOUT": "1"}
    async with running_server(*SERVE_E2E_APP, env=quick) as server:
        port = await server.wait_for_port()
        for kind in ("download", "websocket"):
            request, what = ENDLESS[kind]
            with trio.fail_after(WAIT_S):
                async with stalled(port, request):
                    await wait_for_ended(server, what)
                    assert await http_get("127.0.0.1", port, "/") == (200, b'{"status":"ok"}\n')
        assert await server.interrupt_and_wait() == 0
    assert server.output.count("took nothing of the response for 1 s") == 1
    assert server.output.count("with 1008: the client read nothing for 1 s") == 1


async def test_a_flooding_client_that_leaves_is_cleaned_up() -> None:
    async with running_server(*SERVE_E2E_APP) as server:
        port = await server.wait_for_port()
        frame = b"\x81\xfe\xff\xff" + b"\x00\x00\x00\x00" + b"x" * 0xFFFF  # masked, 64 KiB
        with trio.fail_after(WAIT_S):
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            stream.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            await stream.send_all(HANDSHAKE.format(path="/echo").encode())
            await stream.receive_some(1024)
            # Echoes pile up unread until the server stops reading too.
            with trio.move_on_after(2):
                while True:
                    await stream.send_all(frame)
            await stream.aclose()
            # The handler used to stay blocked, with its queue, until the server restarted.
            await server.wait_for("e2e: echo ended")
            assert await http_get("127.0.0.1", port, "/") == (200, b'{"status":"ok"}\n')
        assert await server.interrupt_and_wait() == 0


# Worker processes: the command always ends, and workers never outlive it. -----------------

STUCK_APP = """\
import trio
from trioframe import Trioframe

app = Trioframe(__name__)
app.config["GRACEFUL_SHUTDOWN_TIMEOUT"] = 0.1


@app.after_serving
async def stuck() -> None:
    print("stuck: shutting down", flush=True)
    with trio.CancelScope(shield=True):  # deaf to every request to stop
        await trio.sleep_forever()
"""


async def test_workers_stuck_in_their_shutdown_are_moved_on_and_then_ended(
    tmp_path: Path,
) -> None:
    app_file = tmp_path / "stuck_app.py"
    app_file.write_text(STUCK_APP)
    command = ("-m", "trioframe", "run", f"{app_file}:app", "--port", "0", "--workers", "2")
    async with running_server(*command) as server:
        await server.wait_for_port()
        server.process.send_signal(signal.SIGINT)  # once: the rest is up to the command
        await server.wait_for("stuck: shutting down(.|\n)*stuck: shutting down")
        status = await server.wait_for_exit()  # a grace period and a margin per step
    assert status != 0  # the workers had to be terminated
    assert "Shutting down gracefully" in server.output


def worker_pids(pid: int) -> list[int]:
    """The worker processes of the command whose process is ``pid`` (Linux's /proc)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


async def test_workers_stop_when_the_command_s_process_dies() -> None:
    async with running_server(*SERVE_E2E_APP, "--workers", "2") as server:
        await server.wait_for_port()
        workers = worker_pids(server.process.pid)
        assert len(workers) == 2
        exits = [os.pidfd_open(pid) for pid in workers]  # readable once the process ends
        try:
            server.process.kill()  # no chance to tell the workers anything
            with trio.fail_after(WAIT_S):
                for exit_ in exits:
                    await trio.lowlevel.wait_readable(exit_)
        finally:
            for exit_ in exits:
                os.close(exit_)
        # The workers write to the same output; each stopped as a shutdown should.
        await server.wait_for("e2e: stopped cleanly(.|\n)*e2e: stopped cleanly")
