"""The JSON logs, from ``trioframe run`` in a subprocess over loopback: every line the
served app prints is one JSON object, the server's and the access log's included."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tests.support.loopback import http_get, running_server

if TYPE_CHECKING:
    from pathlib import Path


async def test_every_line_is_json_and_printed_once(tmp_path: Path) -> None:
    stdout = tmp_path / "stdout.txt"
    command = ("-m", "trioframe", "run", "docs/snippets/json_logs.py:app", "--port", "0")
    async with running_server(*command, stdout=stdout) as server:
        port = await server.wait_for_port()
        assert await http_get("127.0.0.1", port, "/") == (200, b"hello")
        assert (await http_get("127.0.0.1", port, "/fail"))[0] == 500
        assert await server.interrupt_and_wait() == 0, server.output
    entries = [json.loads(line) for line in server.output.splitlines()]
    assert stdout.read_text() == ""  # the access log went through the JSON handler too
    seen = [(entry["logger"], entry["level"], entry["message"]) for entry in entries]
    assert seen.count(("json_logs", "INFO", "Served the index")) == 1
    assert [logger for logger, _, message in seen if "Running on" in message] == ["hypercorn.error"]
    access = [message for logger, _, message in seen if logger == "hypercorn.access"]
    assert len(access) == 2
    assert '"GET / 1.1" 200' in access[0]
    assert '"GET /fail 1.1" 500' in access[1]
    failure = next(entry for entry in entries if entry["level"] == "ERROR")
    assert failure["message"] == "Exception on /fail [GET]"
    assert "RuntimeError: the view failed on purpose" in failure["traceback"]
