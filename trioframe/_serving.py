"""Serving with hypercorn's trio worker: the configuration ``app.run()`` and ``trioframe run``
share, and finding an app from a ``module:app`` path.

hypercorn does the serving: the trio worker, the protocols, access logs, worker processes,
reloading, and the signals (Ctrl-C stops the server gracefully). trioframe only turns its
own settings into hypercorn's ``Config``.
"""

from __future__ import annotations

import importlib
import signal
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import hypercorn.trio
import trio
from hypercorn.config import Config as HypercornConfig

from ._exceptions import single_errors_unwrapped

if TYPE_CHECKING:
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
    config.accesslog = "-" if access_log else None
    config.errorlog = "-"
    config.loglevel = "DEBUG" if app.debug else "INFO"
    config.graceful_timeout = (
        graceful_timeout
        if graceful_timeout is not None
        else float(app.config["GRACEFUL_SHUTDOWN_TIMEOUT"])
    )
    if application_path is not None:
        config.application_path = application_path
    return config


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
    """Serve until SIGINT or SIGTERM; a second signal stops at once, without the grace period.

    The signals arrive through Trio's signal receiver and end the server through hypercorn's
    shutdown trigger, so no KeyboardInterrupt tears through a task: hypercorn's graceful
    shutdown runs as it does under its own process manager.
    """
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            stop_requested = trio.Event()

            async def watch_signals() -> None:
                async for _ in signals:
                    if stop_requested.is_set():
                        nursery.cancel_scope.cancel()  # asked twice: do not wait any longer
                        return
                    await config.log.info(
                        "Shutting down gracefully; press Ctrl-C again to stop at once"
                    )
                    app._open_websockets.close_all()
                    stop_requested.set()

            nursery.start_soon(watch_signals)
            await hypercorn.trio.serve(app, config, shutdown_trigger=stop_requested.wait)
            nursery.cancel_scope.cancel()


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
