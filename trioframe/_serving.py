"""Serving from the command line and ``app.run()``: the configuration both share, the
signals, and finding an app from a ``module:app`` path.

The serving itself is `trioframe._server.Server`: hypercorn's trio worker and protocols,
with every connection bounded in memory and time. This module turns the app's settings into
hypercorn's ``Config`` (its websocket message limit among them, so hypercorn never buffers
more than the app accepts) and runs the server until a signal stops it.
"""

from __future__ import annotations

import importlib
import logging
import signal
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import trio
from hypercorn.config import Config as HypercornConfig

from ._concurrency import single_errors_unwrapped
from ._logging import ACCESS_LOGGER, SERVER_LOGGER, prepare_server_loggers
from ._server import Server

if TYPE_CHECKING:
    import socket
    from collections.abc import AsyncIterator

    from ._app import Trioframe


def hypercorn_config(
    app: Trioframe,
    *,
    host: str = "127.0.0.1",
    port: int = 5000,
    workers: int = 1,
    reload: bool = False,
    access_log: bool = True,
    graceful_timeout: float | None = None,
    application_path: str | None = None,
) -> HypercornConfig:
    """A hypercorn configuration for serving ``app`` with the trio worker.

    Args:
        app: The app; its ``DEBUG`` and ``GRACEFUL_SHUTDOWN_TIMEOUT`` settings are used.
        host: The address to listen on (an IPv6 address without brackets is fine).
        port: The port to listen on; 0 picks a free one.
        workers: Worker processes, when hypercorn's process manager runs them.
        reload: Restart workers when source files change.
        access_log: Log each request to standard output.
        graceful_timeout: Seconds in-flight requests get at shutdown; by default
            ``GRACEFUL_SHUTDOWN_TIMEOUT``.
        application_path: ``module:app``, for worker processes to import the app by.
    """
    config = HypercornConfig()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.worker_class = "trio"
    config.workers = workers
    config.use_reloader = reload
    # Loggers, not "-": hypercorn then adds no handler of its own, and the serving
    # process gives them trioframe's default handlers (see `serve_until_asked`).
    config.accesslog = logging.getLogger(ACCESS_LOGGER) if access_log else None
    config.errorlog = logging.getLogger(SERVER_LOGGER)
    config.loglevel = "DEBUG" if app.debug else "INFO"
    config.graceful_timeout = (
        graceful_timeout
        if graceful_timeout is not None
        else float(app.config["GRACEFUL_SHUTDOWN_TIMEOUT"])
    )
    if application_path is not None:
        config.application_path = application_path
    apply_app_limits(config, app)
    return config


def apply_app_limits(config: HypercornConfig, app: Trioframe) -> None:
    """Make hypercorn refuse a websocket message the app would refuse, before buffering it."""
    max_message_size = app.config["WEBSOCKET_MAX_MESSAGE_SIZE"]
    if max_message_size is not None:
        config.websocket_max_message_size = max_message_size


def serve_forever(app: Trioframe, config: HypercornConfig) -> None:
    """Serve ``app`` in this process until Ctrl-C or SIGTERM, which stop it gracefully.

    Must be called from the main thread, where signals arrive.

    Raises:
        hypercorn.utils.LifespanFailureError: the app failed to start (nothing was served)
            or to shut down; the app's logger has the traceback of what went wrong.
        OSError: the address could not be bound (a port in use, say).
    """
    try:
        # hypercorn's nurseries and this module's wrap a failure; the caller wants it alone.
        with single_errors_unwrapped():
            trio.run(partial(serve_until_signalled, app, config))
    except KeyboardInterrupt:
        # Ctrl-C outside the signal receiver's life (during startup, or a second press as
        # it closes): Trio has cancelled everything, and stopping was what the user asked.
        pass


async def serve_until_signalled(app: Trioframe, config: HypercornConfig) -> None:
    """Serve until SIGINT or SIGTERM, as `serve_until_asked` says.

    The signals arrive through Trio's signal receiver, so no KeyboardInterrupt tears through
    a task.
    """
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        await serve_until_asked(app, config, await open_listeners(config), signals)


async def serve_until_asked(
    app: Trioframe,
    config: HypercornConfig,
    listeners: list[trio.SocketListener],
    requests: AsyncIterator[object],
    *,
    announce: bool = True,
) -> None:
    """Serve on ``listeners`` until asked to stop by ``requests``: the first stops
    gracefully, the second ends every connection at once (the shutdown hooks still run),
    a third cancels everything. ``announce`` logs what each one does."""
    prepare_server_loggers(app, access_log=config.accesslog is not None)
    server = Server(app, config)
    async with trio.open_nursery() as nursery:

        async def obey() -> None:
            count = 0
            async for _ in requests:
                count += 1
                if count == 1:
                    if announce:
                        await config.log.info(
                            "Shutting down gracefully; press Ctrl-C again to stop at once"
                        )
                    server.stop.gracefully()
                elif count == 2:
                    if announce:
                        await config.log.info(
                            "Ending every connection now; press Ctrl-C once more to skip "
                            "the shutdown hooks"
                        )
                    server.stop.now()
                else:
                    nursery.cancel_scope.cancel()
                    return

        async def serve_then_stop_obeying(
            *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
        ) -> None:
            await server.serve(listeners, task_status=task_status)
            nursery.cancel_scope.cancel()

        nursery.start_soon(obey)
        for bind in await nursery.start(serve_then_stop_obeying):
            await config.log.info(f"Running on {bind} (CTRL + C to quit)")


async def open_listeners(config: HypercornConfig) -> list[trio.SocketListener]:
    """Bind the addresses in ``config`` and listen on them.

    Raises:
        OSError: an address could not be bound (a port in use, say).
        ValueError: the configuration asks for TLS, which trioframe's serving does not do.
    """
    await trio.lowlevel.checkpoint()
    return listen(config, bind_sockets(config))


def bind_sockets(config: HypercornConfig) -> list[socket.socket]:
    """Bind the addresses in ``config``, for `listen` here or in worker processes.

    Raises:
        OSError: an address could not be bound (a port in use, say).
        ValueError: the configuration asks for TLS, which trioframe's serving does not do.
    """
    if config.ssl_enabled:
        raise ValueError(
            "trioframe's serving does not terminate TLS; put a proxy such as nginx in front "
            "of it, or serve with hypercorn itself"
        )
    return config.create_sockets().insecure_sockets


def listen(config: HypercornConfig, sockets: list[socket.socket]) -> list[trio.SocketListener]:
    """Listen on bound sockets, as Trio listeners."""
    listeners = []
    for sock in sockets:
        sock.listen(config.backlog)
        listeners.append(trio.SocketListener(trio.socket.from_stdlib_socket(sock)))
    return listeners


def app_path_of(app: Trioframe) -> str:
    """Where ``app`` can be imported from by another process, as ``load_app`` takes it:
    ``package.module:name``, or ``path/to/file.py:name`` for a script run as ``__main__``.

    Raises:
        RuntimeError: the app is not a module-level name of a module with a file.
    """
    # Usually the module the app is named after; else whichever module holds it.
    named = sys.modules.get(app.import_name)
    for module in (named, *list(sys.modules.values())):
        file = getattr(module, "__file__", None)
        if module is None or not file:
            continue
        names = [name for name, value in list(vars(module).items()) if value is app]
        if names:
            if module.__name__ == "__main__":
                return f"{file}:{names[0]}"
            return f"{module.__name__}:{names[0]}"
    raise RuntimeError(
        f"Reloading imports the app afresh in a worker process, but no module file holds "
        f"the app {app.import_name!r}; create the app at the top level of a file "
        "(app = Trioframe(__name__)), or turn the reloader off"
    )


def load_app(path: str) -> Trioframe:
    """Import the app named by ``module:attribute`` or ``path/to/file.py:attribute``.

    The same forms hypercorn accepts; the attribute defaults to ``app``.

    Raises:
        LookupError: the module or the attribute cannot be found, or is not an app; the
            message says which.
    """
    from ._app import Trioframe

    module_name, _, attribute = path.partition(":")
    attribute = attribute or "app"
    module_path = Path(module_name).resolve()
    if module_path.suffix == ".py":
        if not module_path.is_file():
            raise LookupError(f"There is no file {module_name!r}")
        import_name = module_path.stem
    else:
        import_name = module_path.name
    # As hypercorn does: the module's folder goes on sys.path, so workers import it alike.
    sys.path.insert(0, str(module_path.parent))
    try:
        module = importlib.import_module(import_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if import_name != missing and not import_name.startswith(f"{missing}."):
            raise  # the module exists but imports something that does not
        raise LookupError(
            f"Cannot import {module_name!r}: there is no such module (run from the folder "
            "that contains it, or give a file path such as app/main.py:app)"
        ) from None
    app = getattr(module, attribute, None)
    if app is None:
        raise LookupError(f"{module_name!r} has no attribute {attribute!r}")
    if not isinstance(app, Trioframe):
        raise LookupError(
            f"{path} is a {type(app).__name__}, not a Trioframe app; name the object created "
            "with Trioframe(__name__)"
        )
    return app
