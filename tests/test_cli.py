"""The trioframe command; serving itself is exercised end to end in integration/test_loopback.py."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys

from click.testing import CliRunner

from trioframe import __version__
from trioframe._cli import main


def test_routes_lists_http_and_websocket_rules() -> None:
    result = CliRunner().invoke(main, ["routes", "tests/support/e2e_app.py:app"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["Rule", "Methods", "Endpoint", "Kind"]
    rows = {tuple(line.split()) for line in lines[2:]}
    assert rows == {
        ("/", "GET", "index", "http"),
        ("/slow", "GET", "slow", "http"),
        ("/static/<path:filename>", "GET", "static", "http"),
        ("/flood", "GET", "flood", "websocket"),
        ("/stream", "GET", "stream", "websocket"),
        ("/download", "GET", "download", "http"),
        ("/events", "GET", "events", "http"),
        ("/echo", "GET", "echo", "websocket"),
        ("/private", "GET", "private", "websocket"),
        ("/ticker", "GET", "ticker", "websocket"),
    }


def test_a_bad_app_path_is_a_usage_error() -> None:
    for command in ("routes", "run"):
        result = CliRunner().invoke(main, [command, "tests/no_such_file.py:app"])
        assert result.exit_code == 2
        assert "There is no file 'tests/no_such_file.py'" in result.output


def test_help_describes_both_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "run" in result.output
    assert "routes" in result.output


def test_version_names_trioframe_and_what_it_runs_on() -> None:
    # The installed command, as a user types it: python -m trioframe is the same entry point.
    result = subprocess.run(
        [sys.executable, "-m", "trioframe", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"Python {platform.python_version()}", f"trioframe {__version__}"]
    assert [line.split()[0] for line in lines[2:]] == ["trio", "hypercorn", "werkzeug"]
    assert lines[2] == f"trio {importlib.metadata.version('trio')}"


def test_the_version_is_the_installed_distribution_s() -> None:
    assert __version__ == importlib.metadata.version("trioframe")
