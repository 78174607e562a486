"""End to end over loopback: hypercorn's trio worker on 127.0.0.1, real sockets and clients.

In-process tests start hypercorn's ``serve`` in the test's Trio run on a free port; the
command-line tests run ``trioframe run`` and ``app.run()`` in a subprocess and stop it with
Ctrl-C (SIGINT). Every wait is bounded; the assertions are about outcomes, not speed.
"""

from __future__ import annotations

import json
import re
import signal
import socket
from typing import TYPE_CHECKING

import h11
import pytest
import trio
import trio_websocket

from tests.support.e2e_app import create_app
from tests.support.leaks import counting_tasks
from tests.support.loopback import WAIT_S, http_get, running_server, serve, websocket_to
from trioframe.testing._wire import http_exchange

if TYPE_CHECKING:
    from pathlib import Path

    from trioframe import Trioframe


class Reports:
    """What the app reported while it was served in the test's own process."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ticker_cancelled = trio.Event()

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        if line == "ticker cancelled":
            self.ticker_cancelled.set()


def make_app() -> tuple[Trioframe, Reports]:
    reports = Reports()
    app = create_app(reports)
    app.config["GRACEFUL_SHUTDOWN_TIMEOUT"] = 0.5
    return app, reports


async def test_http_request_over_loopback() -> None:
    app, _ = make_app()
    with trio.fail_after(WAIT_S):
        async with trio.open_nursery() as nursery:
            port, stop = await serve(app, nursery)
            assert await http_get("127.0.0.1", port, "/") == (200, b'{"status":"ok"}\n')
            stop.set()


async def test_websocket_echo_and_denial_over_loopback() -> None:
    app, _ = make_app()
    with trio.fail_after(WAIT_S):
        async with trio.open_nursery() as nursery:
            port, stop = await serve(app, nursery)
            async with websocket_to(port, "/echo") as ws:
                await ws.send_message("hello")
                assert await ws.get_message() == "hello"
            with pytest.raises(trio_websocket.ConnectionRejected) as rejected:
                async with websocket_to(port, "/private"):
                    pass
            assert (rejected.value.status_code, rejected.value.body) == (403, b"Invalid password")
            stop.set()


async def test_a_send_only_handler_is_cancelled_when_the_client_leaves() -> None:
    app, reports = make_app()
    # Well under the handler's 10 s between sends: only a prompt cancellation fits.
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            port, stop = await serve(app, nursery)
            async with websocket_to(port, "/ticker") as ws:
                assert await ws.get_message() == "tick"
            await reports.ticker_cancelled.wait()
            stop.set()
    assert reports.lines.count("tick sent") == 1


async def test_a_clean_shutdown_leaves_no_task_behind() -> None:
    app, reports = make_app()
    with counting_tasks() as counter:
        with trio.fail_after(WAIT_S):
            async with trio.open_nursery() as nursery:
                port, stop = await serve(app, nursery)
                async with websocket_to(port, "/echo") as ws:
                    await ws.send_message("open")
                    assert await ws.get_message() == "open"
                    stop.set()  # shut down while the websocket is open
                    with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                        await ws.get_message()
        assert closed.value.reason is not None
        assert closed.value.reason.code == 1001
        assert reports.lines == ["started", "echo ended", "stopped cleanly"]
        assert counter.alive == set()


E2E_APP = "tests.support.e2e_app:app"


@pytest.mark.parametrize(
    ("command", "index_body"),
    [
        (
            ("-m", "trioframe", "run", E2E_APP, "--port", "0"),
            b'{"status":"ok"}\n',
        ),
        (
            ("-m", "trioframe", "run", E2E_APP, "--port", "0", "--workers", "2"),
            b'{"status":"ok"}\n',
        ),
        (
            ("-c", "from tests.support.e2e_app import app; app.run(port=0, debug=True)"),
            b'{\n  "status": "ok"\n}\n',  # debug=True turns on DEBUG, which indents JSON
        ),
    ],
    ids=["trioframe-run", "two-workers", "app-run"],
)
async def test_serving_from_the_command_line(command: tuple[str, ...], index_body: bytes) -> None:
    async with running_server(*command) as server:
        port = await server.wait_for_port()
        await server.wait_for("e2e: started")
        with trio.fail_after(WAIT_S):
            assert await http_get("127.0.0.1", port, "/") == (200, index_body)
            async with websocket_to(port, "/echo") as ws:
                await ws.send_message("over the wire")
                assert await ws.get_message() == "over the wire"
            async with websocket_to(port, "/ticker") as ws:
                assert await ws.get_message() == "tick"
        await server.wait_for("e2e: ticker cancelled")
        assert await server.interrupt_and_wait() == 0
        assert "e2e: stopped cleanly" in server.output
        assert '"GET / 1.1" 200' in server.output  # hypercorn's access log
        assert "Traceback" not in server.output


async def test_ctrl_c_closes_websockets_at_once() -> None:
    command = ("-c", "from tests.support.e2e_app import app; app.run(port=0)")
    long_grace = {"TRIOFRAME_GRACEFUL_SHUTDOWN_TIMEOUT": "3600"}
    async with running_server(*command, env=long_grace) as server:
        port = await server.wait_for_port()
        with trio.fail_after(WAIT_S):
            async with websocket_to(port, "/echo") as ws:
                await ws.send_message("open")
                assert await ws.get_message() == "open"
                # One Ctrl-C: the grace period is for requests, a websocket never finishes.
                assert await server.interrupt_and_wait() == 0
                with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                    await ws.get_message()
        assert closed.value.reason is not None
        assert closed.value.reason.code == 1001
        assert "e2e: stopped cleanly" in server.output


async def test_a_second_ctrl_c_stops_at_once() -> None:
    command = ("-c", "from tests.support.e2e_app import app; app.run(port=0)")
    long_grace = {"TRIOFRAME_GRACEFUL_SHUTDOWN_TIMEOUT": "3600"}
    async with running_server(*command, env=long_grace) as server:
        port = await server.wait_for_port()
        outcome: list[str] = []

        async def slow_request() -> None:
            try:
                await http_get("127.0.0.1", port, "/slow")
            except h11.RemoteProtocolError:  # the server hung up without answering
                outcome.append("cut off")

        with trio.fail_after(WAIT_S):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(slow_request)
                await server.wait_for("e2e: slow request started")
                server.process.send_signal(signal.SIGINT)
                await server.wait_for("press Ctrl-C again to stop at once")
                # The in-flight request would hold a graceful shutdown for an hour.
                assert await server.interrupt_and_wait() == 0
        assert outcome == ["cut off"]


FAILING_APPS = {
    "startup": (
        "@app.before_serving\n"
        "async def connect() -> None:\n"
        "    raise OSError('database unreachable')\n",
        "Error: Lifespan failure in startup. 'OSError: database unreachable'",
    ),
    "background-task": (
        "async def consume() -> None:\n"
        "    await trio.sleep(0.1)\n"
        "    raise ConnectionError('broker lost')\n"
        "@app.before_serving\n"
        "async def start() -> None:\n"
        "    app.nursery.start_soon(consume)\n",
        "Error: Lifespan failure in shutdown. "
        "'a background task failed: ConnectionError: broker lost'",
    ),
}


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("failure", sorted(FAILING_APPS))
async def test_a_failing_app_exits_non_zero(tmp_path: Path, failure: str, workers: str) -> None:
    source, message = FAILING_APPS[failure]
    app_file = tmp_path / "failing_app.py"
    app_file.write_text(
        f"import trio\nfrom trioframe import Trioframe\napp = Trioframe(__name__)\n{source}"
    )
    command = ("-m", "trioframe", "run", f"{app_file}:app", "--port", "0", "--workers", workers)
    async with running_server(*command) as server:
        assert await server.wait_for_exit() == 1
    assert message in server.output
    if failure == "startup":  # it never served, so it never said it did
        assert "Running on" not in server.output


async def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        async with running_server(
            "-m", "trioframe", "run", "tests.support.e2e_app:app", "--port", port
        ) as server:
            assert await server.wait_for_exit() == 1
    assert re.search(r"Error: \[Errno \d+\] Address already in use", server.output)
    assert "Traceback" not in server.output


async def test_reload_serves_the_changed_code(tmp_path: Path) -> None:
    app_file = tmp_path / "reloading_app.py"
    source = "from trioframe import Trioframe\napp = Trioframe(__name__)\n"
    source += "app.get('/')(lambda: {!r})\n"
    app_file.write_text(source.format("first version"))
    command = ("-m", "trioframe", "run", f"{app_file}:app", "--port", "0", "--reload")
    async with running_server(*command) as server:
        port = await server.wait_for_port()
        with trio.fail_after(WAIT_S):
            assert await http_get("127.0.0.1", port, "/") == (200, b"first version")
        app_file.write_text(source.format("second version"))
        await server.wait_for(r"(?s)Running on.*Running on")  # a new worker, same socket
        with trio.fail_after(WAIT_S):
            assert await http_get("127.0.0.1", port, "/") == (200, b"second version")
        assert await server.interrupt_and_wait() == 0


MIDDLEWARE_APP = "docs.snippets.deployment:app"


@pytest.mark.parametrize(
    "command",
    [
        ("-m", "trioframe", "run", MIDDLEWARE_APP, "--port", "0"),
        ("-c", "from docs.snippets.deployment import app; app.run(port=0)"),
    ],
    ids=["trioframe-run", "app-run"],
)
async def test_asgi_middleware_runs_however_the_app_is_served(command: tuple[str, ...]) -> None:
    forwarded = [
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-For", "203.0.113.9"),
        ("X-Forwarded-Host", "shop.example.com"),
    ]
    async with running_server(*command) as server:
        port = await server.wait_for_port()
        with trio.fail_after(WAIT_S):
            async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
                headers = [("Host", f"127.0.0.1:{port}"), *forwarded]
                response = await http_exchange(stream, "GET", "/whoami", headers=headers)
        assert await server.interrupt_and_wait() == 0
    assert json.loads(response.body) == {
        "scheme": "https",
        "client": "203.0.113.9",
        "host": "shop.example.com",
    }
