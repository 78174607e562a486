"""``trioframe run`` in a subprocess, over loopback, set up as Flask's ``flask run`` is: the app
and every option from the environment (``TRIOFRAME_APP``, ``TRIOFRAME_RUN_*``), and debug mode
from ``--debug`` or ``TRIOFRAME_DEBUG``, which also reloads."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from tests.support.loopback import ROOT, WAIT_S, http_get, running_server

if TYPE_CHECKING:
    from pathlib import Path

FAILING_APP = "tests/support/failing_app.py:app"


def serving_pid(output: str) -> int:
    """The process that logged "Running on" (the server's log lines carry the pid)."""
    found = re.search(r"\[(\d+)\] INFO in hypercorn.error: Running on", output)
    assert found is not None, output
    return int(found.group(1))


async def test_the_app_and_the_options_come_from_the_environment() -> None:
    env = {"TRIOFRAME_APP": FAILING_APP, "TRIOFRAME_RUN_PORT": "0"}
    async with running_server("-m", "trioframe", "run", env=env) as server:
        port = await server.wait_for_port()
        status, body = await http_get("127.0.0.1", port, "/fail")
        assert await server.interrupt_and_wait() == 0, server.output
    # Debug is off unless asked for: a plain 500, the traceback in the log only.
    assert status == 500
    assert b"the view failed on purpose" not in body
    assert "the view failed on purpose" in server.output


@pytest.mark.parametrize(
    ("arguments", "env"),
    [
        (("--debug",), {}),
        ((), {"TRIOFRAME_DEBUG": "1"}),
    ],
    ids=["--debug", "TRIOFRAME_DEBUG"],
)
async def test_debug_mode_shows_the_debug_page_and_reloads(
    arguments: tuple[str, ...], env: dict[str, str]
) -> None:
    command = ("-m", "trioframe", "run", FAILING_APP, "--port", "0", *arguments)
    async with running_server(*command, env=env) as server:
        port = await server.wait_for_port()
        status, body = await http_get("127.0.0.1", port, "/fail")
        command_pid = server.process.pid
        assert await server.interrupt_and_wait() == 0, server.output
    # Reloading: a worker process serves, not the command's own; and DEBUG reached it.
    assert serving_pid(server.output) != command_pid
    assert status == 500
    assert b"RuntimeError: the view failed on purpose" in body
    assert b"(debug)" in body


async def test_no_reload_keeps_debug_in_one_process() -> None:
    command = ("-m", "trioframe", "run", FAILING_APP, "--port", "0", "--debug", "--no-reload")
    async with running_server(*command) as server:
        port = await server.wait_for_port()
        status, body = await http_get("127.0.0.1", port, "/fail")
        command_pid = server.process.pid
        assert await server.interrupt_and_wait() == 0, server.output
    assert serving_pid(server.output) == command_pid
    assert status == 500
    assert b"(debug)" in body


def test_without_an_app_it_says_how_to_name_one() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trioframe", "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        env={name: value for name, value in os.environ.items() if "TRIOFRAME" not in name},
        check=False,
    )
    assert result.returncode == 2
    assert "Name the app to serve" in result.stderr
    assert "TRIOFRAME_APP" in result.stderr


async def test_a_dotenv_file_names_the_app_and_the_environment_wins(tmp_path: Path) -> None:
    app_file = ROOT / "tests" / "support" / "failing_app.py"
    (tmp_path / ".env").write_text(
        f"TRIOFRAME_APP={app_file}:app\nTRIOFRAME_RUN_PORT=1\nTRIOFRAME_DEBUG=1\n"
    )
    (tmp_path / ".trioframeenv").write_text("TRIOFRAME_RUN_NO_ACCESS_LOG=1\n")
    # Set in the environment, the port is not the file's; the rest comes from the files.
    env = {"TRIOFRAME_RUN_PORT": "0"}
    command = ("-m", "trioframe", "run")
    async with running_server(*command, env=env, cwd=tmp_path) as server:
        port = await server.wait_for_port()
        status, body = await http_get("127.0.0.1", port, "/fail")
        assert await server.interrupt_and_wait() == 0, server.output
    assert port != 1
    assert status == 500
    assert b"(debug)" in body  # TRIOFRAME_DEBUG from .env
    assert '"GET /fail' not in server.output  # no access log, from .trioframeenv


@pytest.mark.parametrize(
    ("command", "reloading"),
    [
        (("-c", "from tests.support.failing_app import app; app.run(port=0, debug=True)"), True),
        (("tests/support/failing_app.py",), True),
        (
            (
                "-c",
                "from tests.support.failing_app import app; "
                "app.run(port=0, debug=True, use_reloader=False)",
            ),
            False,
        ),
    ],
    ids=["app.run-debug", "script", "no-reloader"],
)
async def test_app_run_with_debug_reloads_as_quart_does(
    command: tuple[str, ...], reloading: bool
) -> None:
    async with running_server(*command) as server:
        port = await server.wait_for_port()
        status, body = await http_get("127.0.0.1", port, "/fail")
        command_pid = server.process.pid
        assert await server.interrupt_and_wait() == 0, server.output
    assert (serving_pid(server.output) != command_pid) is reloading
    assert status == 500
    assert b"(debug)" in body


#: The start of every app the reload tests write.
APP_HEAD = "from trioframe import Trioframe\napp = Trioframe(__name__)\n"


def answering(text: str) -> str:
    """An app whose ``/`` answers ``text``."""
    return APP_HEAD + f"@app.get('/')\nasync def index() -> str:\n    return {text!r}\n"


def run_reloading(app_file: Path) -> tuple[str, ...]:
    return ("-m", "trioframe", "run", f"{app_file}:app", "--reload", "--port", "0")


def write_app(path: Path, source: str, stamp: float) -> None:
    """Write the app's file with a modification time of ``stamp``, later than any before,
    so the reloader sees a change whatever the file system's time resolution."""
    path.write_text(source)
    os.utime(path, (stamp, stamp))


async def test_reload_survives_a_mistake_and_serves_the_fix(tmp_path: Path) -> None:
    app_file = tmp_path / "reloaded_app.py"
    now = time.time()
    write_app(app_file, answering("v1"), now)
    async with running_server(*run_reloading(app_file)) as server:
        port = await server.wait_for_port()
        assert await http_get("127.0.0.1", port, "/") == (200, b"v1")

        write_app(app_file, APP_HEAD + "app.route('/'\n", now + 2)  # a syntax error
        await server.wait_for(r"SyntaxError[\s\S]*The app failed \(exit status 1\)")

        write_app(app_file, answering("v2"), now + 4)
        await server.wait_for(r"The app failed[\s\S]*Running on")
        assert await http_get("127.0.0.1", port, "/") == (200, b"v2")
        assert await server.interrupt_and_wait() == 0, server.output


async def test_ctrl_c_while_waiting_for_a_fix_stops_cleanly(tmp_path: Path) -> None:
    app_file = tmp_path / "reloaded_app.py"
    now = time.time()
    write_app(app_file, APP_HEAD, now)
    async with running_server(*run_reloading(app_file)) as server:
        await server.wait_for_port()
        write_app(app_file, "raise ImportError('a mistake')\n", now + 2)
        await server.wait_for("The app failed")
        assert await server.interrupt_and_wait() == 0, server.output
    assert "ImportError: a mistake" in server.output


async def test_reload_waits_for_a_fix_when_the_first_load_fails(tmp_path: Path) -> None:
    app_file = tmp_path / "reloaded_app.py"
    now = time.time()
    write_app(app_file, APP_HEAD.removesuffix(")\n") + "\n", now)  # unclosed: a syntax error
    async with running_server(*run_reloading(app_file)) as server:
        await server.wait_for(r"SyntaxError[\s\S]*The app failed to load")
        write_app(app_file, answering("fixed"), now + 2)
        port = await server.wait_for_port()
        assert await http_get("127.0.0.1", port, "/") == (200, b"fixed")
        assert await server.interrupt_and_wait() == 0, server.output


async def test_reload_still_refuses_an_app_it_cannot_find(tmp_path: Path) -> None:
    app_file = tmp_path / "reloaded_app.py"
    write_app(app_file, "value = 1\n", time.time())
    async with running_server(*run_reloading(app_file)) as server:
        assert await server.wait_for_exit() == 2
    assert "has no attribute 'app'" in server.output


async def test_ctrl_c_while_the_first_load_waits_for_a_fix_stops_cleanly(
    tmp_path: Path,
) -> None:
    app_file = tmp_path / "reloaded_app.py"
    write_app(app_file, "raise ImportError('not yet')\n", time.time())
    async with running_server(*run_reloading(app_file)) as server:
        await server.wait_for("The app failed to load")
        assert await server.interrupt_and_wait() == 0, server.output
