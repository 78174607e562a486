"""Custom commands: ``app.cli`` and ``bp.cli``, click groups whose commands run with the app.

As in Flask, a command registered with ``@app.cli.command()`` runs in an application
context; here an ``async def`` command also gets a Trio run of its own, so it can await
the app's async code. ``trioframe --app module:app <command>`` runs it, and ``trioframe
--app module:app --help`` lists it.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any

import click
import trio

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._app import Trioframe


class ScriptInfo:
    """What the ``trioframe`` command knows of the app its custom commands run with: the
    click context's object."""

    def __init__(self, app: Trioframe | None = None, app_path: str | None = None) -> None:
        self.app = app
        #: Where ``--app`` or ``TRIOFRAME_APP`` said the app is, as ``module:app``.
        self.app_path = app_path

    def load_app(self) -> Trioframe:
        """The app.

        Raises:
            click.UsageError: no app was given.
        """
        if self.app is None:
            raise click.UsageError(
                "This command runs with an app; name it with 'trioframe --app module:app "
                "<command>' or the TRIOFRAME_APP environment variable"
            )
        return self.app


def with_appcontext(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command callback in an application context of the command's app; an
    ``async def`` callback runs in a Trio run of its own."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        app = click.get_current_context().ensure_object(ScriptInfo).load_app()
        if inspect.iscoroutinefunction(func):

            async def in_context() -> Any:
                async with app.app_context():
                    return await func(*args, **kwargs)

            return trio.run(in_context)
        with app.app_context():
            return func(*args, **kwargs)

    return run


class AppGroup(click.Group):
    """A click group whose commands (and subgroups') run with the app: see the module."""

    def command(  # type: ignore[override]  # always called: @cli.command(...)
        self, *args: Any, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], click.Command]:
        """``click.Group.command``, the callback wrapped by `with_appcontext` (unless
        ``with_appcontext=False`` is passed)."""
        wrap = kwargs.pop("with_appcontext", True)

        def decorator(func: Callable[..., Any]) -> click.Command:
            wrapped = with_appcontext(func) if wrap else func
            command: click.Command = super(AppGroup, self).command(*args, **kwargs)(wrapped)
            return command

        return decorator

    def group(  # type: ignore[override]  # always called: @cli.group(...)
        self, *args: Any, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], click.Group]:
        """``click.Group.group``, making an `AppGroup`."""
        kwargs.setdefault("cls", AppGroup)
        decorator: Callable[[Callable[..., Any]], click.Group] = super().group(*args, **kwargs)
        return decorator
