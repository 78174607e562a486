"""The ``trioframe`` command: ``trioframe run module:app``, ``trioframe routes module:app``,
and an app's custom commands, ``trioframe --app module:app <command>``."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from typing import TYPE_CHECKING, Any

import click
from hypercorn.utils import LifespanFailureError

from . import __version__
from ._commands import ScriptInfo
from ._serving import hypercorn_config, load_app, serve_forever
from ._workers import load_app_until_it_loads, run_workers

if TYPE_CHECKING:
    from ._app import Trioframe

#: The environment variable that names the app, as ``--app`` does.
APP_ENVVAR = "TRIOFRAME_APP"
#: The environment variable that turns debug mode on, as ``--debug`` does.
DEBUG_ENVVAR = "TRIOFRAME_DEBUG"
#: Methods every rule answers implicitly, left out of the routes table.
_IMPLICIT_METHODS = frozenset({"HEAD", "OPTIONS"})


class TrioframeGroup(click.Group):
    """trioframe's own commands, and those of the app ``--app`` names."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # Before the options are read, so that a .env file can name the app and set them.
        load_dotenv_files()
        return super().make_context(info_name, args, parent, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        app = _given_app(ctx)
        if app is not None:
            names.update(app.cli.list_commands(ctx))
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            app = _given_app(ctx)
            if app is not None:
                command = app.cli.get_command(ctx, cmd_name)
        return command


#: The files ``trioframe`` reads environment variables from, as Flask reads ``.flaskenv`` and
#: ``.env``: the first one found from the working directory upwards, each.
DOTENV_FILES = (".trioframeenv", ".env")


def load_dotenv_files() -> None:
    """Set the variables of ``DOTENV_FILES`` that are not set already, when python-dotenv is
    installed (``pip install 'trioframe[dotenv]'``); without it, do nothing."""
    try:
        import dotenv
    except ImportError:  # pragma: no cover - the dotenv extra is installed for the tests
        return
    for name in DOTENV_FILES:
        path = dotenv.find_dotenv(name, usecwd=True)
        if path:
            dotenv.load_dotenv(path, override=False, encoding="utf-8")


def _given_app(ctx: click.Context) -> Trioframe | None:
    """The app ``--app`` or ``TRIOFRAME_APP`` names, loaded once; ``None`` without one."""
    info = ctx.ensure_object(ScriptInfo)
    if info.app is None and os.environ.get(APP_ENVVAR):
        info.app_path = os.environ[APP_ENVVAR]
        info.app = load_app_or_exit(info.app_path)
    return info.app


def _load_app_option(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        info = ctx.ensure_object(ScriptInfo)
        info.app_path = value
        info.app = load_app_or_exit(value)


def _version_message() -> str:
    """What ``--version`` prints: trioframe's version and those of what it runs on."""
    lines = [f"Python {platform.python_version()}", f"trioframe {__version__}"]
    for name in ("trio", "hypercorn", "werkzeug"):
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - all required
            version = "not installed"
        lines.append(f"{name} {version}")
    return "\n".join(lines)


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_version_message())
        ctx.exit()


@click.group(
    cls=TrioframeGroup,
    # As Flask's FLASK_RUN_*: TRIOFRAME_RUN_PORT=8000 is --port 8000 for 'trioframe run'.
    context_settings={"auto_envvar_prefix": "TRIOFRAME"},
)
@click.option(
    "--version",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_print_version,
    help="Show the versions of trioframe, Python, Trio, hypercorn and werkzeug, and exit.",
)
@click.option(
    "--app",
    metavar="APP",
    # TRIOFRAME_APP is read when a command needs the app (_given_app, run), not eagerly
    # here: 'run --reload' must be able to wait for a fix to an app that does not load.
    allow_from_autoenv=False,
    is_eager=True,  # before --help, which then lists the app's commands too
    expose_value=False,
    callback=_load_app_option,
    help=f"The app whose custom commands to offer (or set {APP_ENVVAR}).",
)
def main() -> None:
    """Serve and inspect trioframe apps, and run their custom commands.

    APP is the module and the app object in it, as module:app or path/to/file.py:app.
    """


@main.command()
@click.argument("app_path", metavar="[APP]", required=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=5000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes, each with its own copy of the app.",
)
@click.option(
    "--debug/--no-debug",
    default=None,
    envvar=DEBUG_ENVVAR,
    help=f"Turn on DEBUG (the debug error page, debug logging) and --reload [or set "
    f"{DEBUG_ENVVAR}=1].",
)
@click.option(
    "--reload/--no-reload",
    default=None,
    help="Restart when source files change [default: on with --debug].",
)
@click.option(
    "--graceful-timeout",
    type=click.FloatRange(min=0),
    help="Seconds in-flight requests get at shutdown [default: the app's "
    "GRACEFUL_SHUTDOWN_TIMEOUT].",
)
@click.option("--no-access-log", is_flag=True, help="Do not log each request.")
@click.pass_context
def run(
    ctx: click.Context,
    app_path: str | None,
    host: str,
    port: int,
    workers: int,
    debug: bool | None,
    reload: bool | None,
    graceful_timeout: float | None,
    no_access_log: bool,
) -> None:
    """Serve APP with hypercorn's trio worker until Ctrl-C.

    APP may be left out when --app or TRIOFRAME_APP names it. Every option can also come
    from a TRIOFRAME_RUN_* environment variable (TRIOFRAME_RUN_PORT=8000).

    Ctrl-C (or SIGTERM) stops accepting connections, gives in-flight requests the graceful
    timeout, closes open websockets with 1001, runs the shutdown hooks and exits. If the
    app fails to start or the address cannot be bound, the command exits with status 1.
    """
    if app_path is None:  # --app, or else TRIOFRAME_APP; loaded below, once
        app_path = ctx.ensure_object(ScriptInfo).app_path or os.environ.get(APP_ENVVAR)
    if not app_path:
        raise click.UsageError(
            f"Name the app to serve: 'trioframe run module:app', or set {APP_ENVVAR}"
        )
    reload = bool(debug) if reload is None else reload
    if reload:
        try:
            app = load_app_until_it_loads(app_path)  # a mistake waits for its fix
        except LookupError as error:
            raise click.BadParameter(str(error), param_hint="APP") from None
        except KeyboardInterrupt:  # stopped while waiting for a fix
            sys.exit(0)
    else:
        app = load_app_or_exit(app_path)
    settings = {} if debug is None else {"DEBUG": debug}
    app.config.update(settings)
    config = hypercorn_config(
        app,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        access_log=not no_access_log,
        graceful_timeout=graceful_timeout,
        application_path=app_path,
    )
    try:
        if workers > 1 or reload:
            sys.exit(
                run_workers(config, app_path, workers=workers, reload=reload, settings=settings)
            )
        serve_forever(app, config)  # one worker: in this process, as app.run() serves
    except (LifespanFailureError, OSError) as error:  # OSError: the port is taken, say
        raise click.ClickException(str(error)) from None


def load_app_or_exit(path: str) -> Trioframe:
    """Load the app, turning a lookup failure into a usage error."""
    try:
        return load_app(path)
    except LookupError as error:
        raise click.BadParameter(str(error), param_hint="APP") from None


@main.command()
@click.argument("app_path", metavar="APP")
def routes(app_path: str) -> None:
    """List APP's URL rules: rule, methods, endpoint, and whether HTTP or websocket."""
    app = load_app_or_exit(app_path)
    rows = [
        (
            rule.rule,
            ", ".join(sorted((rule.methods or set()) - _IMPLICIT_METHODS)),
            rule.endpoint,
            "websocket" if rule.websocket else "http",
        )
        for rule in sorted(app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint))
    ]
    header = ("Rule", "Methods", "Endpoint", "Kind")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(4)]
    for row in [header, tuple("-" * width for width in widths), *rows]:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
