"""Custom commands, by direct calls through click's test runner and ``app.test_cli_runner()``:
app.cli, blueprints' commands and the trioframe command that offers them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
import trio
import trio.lowlevel
from click.testing import CliRunner

from trioframe import Blueprint, Trioframe, current_app, g
from trioframe._cli import main

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_an_app_command_runs_in_an_app_context(app: Trioframe) -> None:
    @app.cli.command("greet")
    @click.argument("name")
    def greet(name: str) -> None:
        g.greeted = name
        click.echo(f"{current_app.name} greets {g.greeted}")

    result = app.test_cli_runner().invoke(args=["greet", "ada"])
    assert (result.exit_code, result.output) == (0, "tests greets ada\n")


def test_an_async_command_gets_a_trio_run(app: Trioframe) -> None:
    closed: list[str] = []

    @app.teardown_appcontext
    async def release(error: BaseException | None) -> None:
        closed.append("released")

    @app.cli.command()
    async def countdown() -> None:
        for number in (3, 2, 1):
            await trio.lowlevel.checkpoint()
            click.echo(f"{number} {current_app.name}")

    result = app.test_cli_runner().invoke(args=["countdown"])
    assert result.output == "3 tests\n2 tests\n1 tests\n"
    assert closed == ["released"]  # the app context ended as an async with ends


def test_blueprint_commands_join_the_app_s_in_their_group(app: Trioframe) -> None:
    users = Blueprint("users", __name__)
    tools = Blueprint("tools", __name__, cli_group=None)
    renamed = Blueprint("renamed", __name__)

    @users.cli.command("create")
    def create() -> None:
        click.echo("created")

    @tools.cli.command("check")
    def check() -> None:
        click.echo("checked")

    @renamed.cli.command("list")
    def list_them() -> None:
        click.echo(f"listed for {current_app.name}")

    @Blueprint("quiet", __name__).cli.command("never")
    def never() -> None:
        pass  # pragma: no cover  # its blueprint is never registered

    app.register_blueprint(users)
    app.register_blueprint(tools)
    app.register_blueprint(renamed, cli_group="people")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "create"]).output == "created\n"
    assert runner.invoke(args=["check"]).output == "checked\n"  # among the app's own
    assert runner.invoke(args=["people", "list"]).output == "listed for tests\n"
    assert set(app.cli.commands) == {"users", "check", "people"}


def test_a_command_without_an_app_says_how_to_name_one(app: Trioframe) -> None:
    @app.cli.command()
    def hello() -> None:
        pass  # pragma: no cover  # refused before it runs

    result = CliRunner().invoke(app.cli, ["hello"])
    assert result.exit_code == 2
    assert "trioframe --app module:app <command>" in result.output


APP_SOURCE = """\
import click
from trioframe import Trioframe

app = Trioframe(__name__)


@app.cli.command()
def hello() -> None:
    '''Say hello from the app.'''
    click.echo("hello from the app")
"""


def test_the_trioframe_command_offers_the_app_s_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_file = tmp_path / "commands_app.py"
    app_file.write_text(APP_SOURCE)
    runner = CliRunner()
    listed = runner.invoke(main, ["--app", f"{app_file}:app", "--help"])
    assert "hello" in listed.output
    assert "Say hello from the app." in listed.output
    assert "run" in listed.output  # trioframe's own commands stay
    ran = runner.invoke(main, ["--app", f"{app_file}:app", "hello"])
    assert (ran.exit_code, ran.output) == (0, "hello from the app\n")
    assert "No such command 'hello'" in runner.invoke(main, ["hello"]).output
    monkeypatch.setenv("TRIOFRAME_APP", f"{app_file}:app")
    assert runner.invoke(main, ["hello"]).output == "hello from the app\n"
    assert "hello" in runner.invoke(main, ["--help"]).output


def test_app_groups_nest(app: Trioframe) -> None:
    @app.cli.group()
    def db() -> None:
        """Database commands."""

    @db.command("reset")
    def reset() -> None:
        click.echo(f"reset for {current_app.name}")

    assert app.test_cli_runner().invoke(args=["db", "reset"]).output == "reset for tests\n"
