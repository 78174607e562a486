"""`TestCliRunner`: click's test runner, set up to run an app's custom commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from click.testing import CliRunner, Result

from trioframe._commands import ScriptInfo

if TYPE_CHECKING:
    from collections.abc import Sequence

    import click

    from trioframe._app import Trioframe


class TestCliRunner(CliRunner):
    """Runs an app's custom commands as ``trioframe --app ...`` would, in the test's
    process: ``app.test_cli_runner().invoke(args=["create-user", "ada"])``.

    ``async def`` commands run in a Trio run of their own, so invoke them from a plain
    ``def`` test (a Trio run cannot start inside another).
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, app: Trioframe, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app

    def invoke(  # type: ignore[override]  # the command is optional here
        self,
        cli: click.Command | None = None,
        args: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Result:
        """Invoke ``cli`` (the app's ``cli`` group by default) with ``args``; the other
        arguments are click's ``CliRunner.invoke`` arguments.

        Returns:
            click's ``Result``: ``output``, ``exit_code``, ``exception``.
        """
        kwargs.setdefault("obj", ScriptInfo(self.app))
        return super().invoke(cli if cli is not None else self.app.cli, args, **kwargs)
