"""Logging out of the box: ``app.logger``'s handler and level by direct call, and the lines a
served app prints, over loopback from ``trioframe run`` in a subprocess.

pytest puts a handler on the root logger during each test, and the default handlers step
aside for it; the direct calls turn propagation off on the logger under test to see what a
program with no logging configured sees.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import re
import sys
from typing import TYPE_CHECKING

import pytest

from tests.support.loopback import http_get, running_server
from trioframe import Trioframe
from trioframe.logging import default_handler

if TYPE_CHECKING:
    from pathlib import Path

LINE = re.compile(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] \[\d+\] (\w+) in ([\w.]+): (.*)")


@pytest.fixture
def alone(request: pytest.FixtureRequest) -> Trioframe:
    """An app with a logger of its own name, cut off from the root logger: as in a program
    that configured no logging. (pytest puts its handlers on the root logger and on every
    logger that does not propagate when a test starts, so the cut comes in the test.)"""
    return Trioframe(f"logging_{request.node.name}")


def cut_off(app: Trioframe) -> logging.Logger:
    app.logger.propagate = False
    return app.logger


def lines(text: str) -> list[tuple[str, str, str]]:
    found = [LINE.fullmatch(line) for line in text.splitlines()]
    assert all(found), text
    return [(match[1], match[2], match[3]) for match in found if match is not None]


def test_app_logger_writes_time_process_level_and_name_to_stderr(
    alone: Trioframe, capsys: pytest.CaptureFixture[str]
) -> None:
    logger = cut_off(alone)
    logger.info("the order %s was placed", 7)
    logger.debug("not shown while debug is off")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert lines(captured.err) == [("INFO", alone.name, "the order 7 was placed")]


def test_debug_shows_debug_records_and_turning_it_off_hides_them(
    alone: Trioframe, capsys: pytest.CaptureFixture[str]
) -> None:
    cut_off(alone)
    assert alone.logger.level == logging.INFO
    alone.debug = True
    alone.logger.debug("one")
    alone.config["DEBUG"] = False  # as from_prefixed_env or a settings file would
    alone.logger.debug("two")
    alone.config["DEBUG"] = True
    alone.logger.debug("three")
    assert [message for _, _, message in lines(capsys.readouterr().err)] == ["one", "three"]


def test_a_level_set_by_hand_stays(alone: Trioframe) -> None:
    alone.logger.setLevel(logging.WARNING)
    alone.debug = True
    assert alone.logger.level == logging.WARNING
    alone.debug = False
    assert alone.logger.level == logging.WARNING


def test_the_default_handler_can_be_removed_for_good(
    alone: Trioframe, capsys: pytest.CaptureFixture[str]
) -> None:
    cut_off(alone).removeHandler(default_handler)
    # INFO: below Python's last-resort handler, which writes warnings no handler took.
    alone.logger.info("nowhere")
    alone.logger.info("still nowhere")
    assert default_handler not in alone.logger.handlers
    assert capsys.readouterr().err == ""


def test_a_handler_of_the_user_s_replaces_the_default(
    alone: Trioframe, capsys: pytest.CaptureFixture[str]
) -> None:
    own = logging.handlers.BufferingHandler(capacity=10)
    logger = cut_off(alone)
    logger.addHandler(own)
    logger.info("once")
    assert [record.getMessage() for record in own.buffer] == ["once"]
    assert capsys.readouterr().err == ""


def test_a_handler_that_ignores_the_level_does_not_replace_the_default(
    alone: Trioframe, capsys: pytest.CaptureFixture[str]
) -> None:
    logger = cut_off(alone)
    logger.addHandler(logging.NullHandler(logging.ERROR))
    logger.info("shown by the default")
    assert [message for _, _, message in lines(capsys.readouterr().err)] == ["shown by the default"]


def test_a_record_through_two_app_loggers_is_written_once(
    alone: Trioframe, capsys: pytest.CaptureFixture[str]
) -> None:
    cut_off(alone)
    inner = Trioframe(f"{alone.name}.admin")
    inner.logger.warning("from the inner app")
    assert lines(capsys.readouterr().err) == [("WARNING", inner.name, "from the inner app")]


def test_on_the_root_logger_it_steps_aside_for_the_root_s_other_handlers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # pytest's own handlers are on the root logger during the test.
    logging.root.addHandler(default_handler)
    try:
        logging.warning("taken by pytest's handler")
    finally:
        logging.root.removeHandler(default_handler)
    assert capsys.readouterr().err == ""


def test_the_default_handler_follows_a_redirected_stderr(
    alone: Trioframe, monkeypatch: pytest.MonkeyPatch
) -> None:
    logger = cut_off(alone)
    logger.error("made before")
    redirected = io.StringIO()
    monkeypatch.setattr(sys, "stderr", redirected)
    logger.error("made after")
    assert [message for _, _, message in lines(redirected.getvalue())] == ["made after"]


APP = """\
import logging

from trioframe import Trioframe

{configure}
app = Trioframe(__name__)


@app.get("/")
async def index() -> str:
    app.logger.info("the index was served")
    app.logger.debug("a detail for debugging")
    return "hello"
"""


async def serve_once(tmp_path: Path, *options: str, configure: str = "") -> tuple[str, str]:
    """Serve an app that logs with ``trioframe run``, request its page once, stop it; return
    its standard error and standard output."""
    (tmp_path / "logged.py").write_text(APP.format(configure=configure))
    stdout = tmp_path / "stdout.txt"
    command = ("-m", "trioframe", "run", "logged:app", "--port", "0", *options)
    async with running_server(*command, cwd=tmp_path, stdout=stdout) as server:
        port = await server.wait_for_port()
        assert await http_get("127.0.0.1", port, "/") == (200, b"hello")
        assert await server.interrupt_and_wait() == 0, server.output
    return server.output, stdout.read_text()


async def test_a_served_app_logs_each_line_once_to_its_stream(tmp_path: Path) -> None:
    err, out = await serve_once(tmp_path)
    assert [name for _, name, message in lines(err) if "Running on" in message] == [
        "hypercorn.error"
    ]
    assert [(level, name, message) for level, name, message in lines(err) if name == "logged"] == [
        ("INFO", "logged", "the index was served")
    ]
    # The access log goes to standard output, one line per request.
    assert re.fullmatch(r'127\.0\.0\.1:\d+ - - \[.+\] "GET / 1\.1" 200 5 "-" "-"\n', out), out


async def test_debug_shows_the_app_s_debug_lines(tmp_path: Path) -> None:
    err, _ = await serve_once(tmp_path, "--debug", "--no-reload")
    assert ("DEBUG", "logged", "a detail for debugging") in lines(err)


async def test_no_access_log_leaves_standard_output_empty(tmp_path: Path) -> None:
    err, out = await serve_once(tmp_path, "--no-access-log")
    assert out == ""
    assert "GET /" not in err


async def test_basic_config_takes_over_without_double_lines(tmp_path: Path) -> None:
    configure = 'logging.basicConfig(level=logging.INFO, format="configured %(name)s: %(message)s")'
    err, out = await serve_once(tmp_path, configure=configure)
    # Every line, the server's and the access log included, now goes through the root
    # logger's handler, once; trioframe's default handlers stepped aside.
    assert out == ""
    printed = err.splitlines()
    assert printed.count("configured logged: the index was served") == 1
    assert len([line for line in printed if "Running on" in line]) == 1
    access = [line for line in printed if line.startswith("configured hypercorn.access:")]
    assert len(access) == 1, err
    assert '"GET / 1.1" 200 5' in access[0]
    assert all(line.startswith("configured ") for line in printed), err
