"""Worker processes: several copies of trioframe's server on shared sockets, and reloading.

``trioframe run --workers N`` and ``--reload`` run here. The command's process binds the
sockets and starts worker processes; each imports the app and serves it with
`trioframe._server.Server`, so every worker has the same bounds as a single process.

The command's process is not a Trio program, so it handles the signals itself, as any
process manager must. Its handler only counts them; ``signal.set_wakeup_fd`` wakes the loop
that waits on the workers, which then acts: the first SIGINT or SIGTERM asks every worker
to stop gracefully, the second to end every connection at once, a third terminates them.
Workers that take longer than the grace period and a margin over a step are moved on to the
next one without waiting for a signal, so the command always ends.
Each worker hears this on a pipe of its own, and stops too if the command's process dies.
With ``reload``, a changed source file stops the workers gracefully and starts new ones. A
worker that exits with an error stops the others, and the command exits with its status.
"""

from __future__ import annotations

import contextlib
import importlib.util
import multiprocessing
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio
from hypercorn.utils import LifespanFailureError, check_for_updates, files_to_watch

from ._concurrency import single_errors_unwrapped
from ._serving import bind_sockets, listen, load_app, serve_until_asked

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from multiprocessing.connection import Connection
    from multiprocessing.context import SpawnContext
    from multiprocessing.process import BaseProcess

    from hypercorn.config import Config as HypercornConfig

    from ._app import Trioframe

#: How often the command looks for changed source files when reloading.
RELOAD_POLL_S = 1.0
#: How long past the grace period workers get for each step of a stop before the next.
SHUTDOWN_MARGIN_S = 5.0
#: What the command tells a worker, in order: stop gracefully, then end every connection.
STOP, HURRY = b"stop", b"now"
_ANNOUNCEMENTS = {
    STOP: "Shutting down gracefully; press Ctrl-C again to stop at once",
    HURRY: "Ending every connection now; press Ctrl-C once more to skip the shutdown hooks",
}


@dataclass
class _Worker:
    process: BaseProcess
    commands: Connection

    def tell(self, command: bytes) -> None:
        with contextlib.suppress(OSError):  # it has exited already
            self.commands.send_bytes(command)


@dataclass
class _Signals:
    """Signals counted by the handler, how many the loop has acted on, and the socket that
    wakes the loop when one arrives."""

    waker: socket.socket
    received: int = 0
    handled: int = 0

    def on_signal(self, signum: int, frame: Any) -> None:
        self.received += 1


def run_workers(
    config: HypercornConfig,
    app_path: str,
    *,
    workers: int,
    reload: bool,
    settings: dict[str, Any] | None = None,
) -> int:
    """Serve ``app_path`` in ``workers`` processes until a signal stops them; ``settings``
    go into each worker's ``app.config`` once the app is imported (``DEBUG`` from
    ``--debug``, say).

    Returns:
        The exit status: 0 once stopped, or the status of a worker that failed.

    Raises:
        OSError: an address could not be bound.
        LookupError: with ``reload``, the app cannot be found.
    """
    sockets = bind_sockets(config)
    context = multiprocessing.get_context("spawn")
    watched: dict[Any, float] = {}
    if reload:
        load_app(app_path)  # imported here too, so that its source files are watched
        watched = files_to_watch()
    waker, wake_writer = socket.socketpair()
    for end in (waker, wake_writer):
        end.setblocking(False)
    signals = _Signals(waker=waker)
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    previous_wakeup = signal.set_wakeup_fd(wake_writer.fileno())
    running: list[_Worker] = []
    try:
        for number in previous:
            signal.signal(number, signals.on_signal)
        while True:
            running[:] = [
                _start_worker(context, config, app_path, sockets, settings or {})
                for _ in range(workers)
            ]
            patience = config.graceful_timeout + SHUTDOWN_MARGIN_S
            status, changed = _supervise(running, signals, watched, patience)
            if reload and status != 0 and signals.received == 0:
                # A mistake in the app (the worker printed its traceback): keep the command
                # and its sockets, and try again once the source changes.
                print(
                    f"The app failed (exit status {status}); fix it and save, and the "
                    "workers restart",
                    flush=True,
                )
                if not _wait_for_a_change(watched, signals):
                    return 0  # stopped while waiting
            elif not changed:
                return status
            print("Source files changed; restarting the workers", flush=True)
            watched = files_to_watch()
    finally:
        signal.set_wakeup_fd(previous_wakeup)
        for number, handler in previous.items():
            signal.signal(number, handler)
        for worker in running:
            worker.process.terminate()
            worker.process.join()
            worker.commands.close()
        for end in (waker, wake_writer, *sockets):
            end.close()


def _start_worker(
    context: SpawnContext,
    config: HypercornConfig,
    app_path: str,
    sockets: list[socket.socket],
    settings: dict[str, Any],
) -> _Worker:
    listening, commands = context.Pipe(duplex=False)
    process = context.Process(
        target=serve_in_worker, args=(config, app_path, sockets, listening, settings), daemon=True
    )
    process.start()
    listening.close()  # the worker has its own copy
    return _Worker(process, commands)


def load_app_until_it_loads(app_path: str) -> Trioframe:
    """Import the app for ``--reload``: a mistake in it prints its traceback, and the import
    is tried again once a source file changes. Ctrl-C while waiting raises
    ``KeyboardInterrupt``.

    Raises:
        LookupError: the app cannot be found (a typo in the path is not fixed by waiting).
    """
    while True:
        try:
            return load_app(app_path)
        except LookupError:
            raise
        except Exception:
            traceback.print_exc()
            watched = files_to_watch()
            source = _source_of(app_path)
            if source is not None:
                with contextlib.suppress(OSError):
                    watched[source] = source.stat().st_mtime
            print("The app failed to load; fix it and save, and it loads again", flush=True)
            while not check_for_updates(watched):
                time.sleep(RELOAD_POLL_S)


def _source_of(app_path: str) -> Path | None:
    """The file of the app's module (which failed to import, so is not in sys.modules)."""
    module_name = app_path.partition(":")[0]
    if module_name.endswith(".py"):
        return Path(module_name).resolve()
    with contextlib.suppress(ImportError, ValueError):
        spec = importlib.util.find_spec(module_name)
        if spec is not None and spec.origin:
            return Path(spec.origin)
    return None


def _wait_for_a_change(watched: dict[Any, float], signals: _Signals) -> bool:
    """Wait until a watched file changes (``True``) or a signal asks to stop (``False``)."""
    while True:
        wait([signals.waker], timeout=RELOAD_POLL_S)
        with contextlib.suppress(BlockingIOError):
            while signals.waker.recv(4096):
                pass
        if signals.handled < signals.received:
            signals.handled = signals.received
            return False
        if check_for_updates(watched):
            return True


def _supervise(
    running: list[_Worker], signals: _Signals, watched: dict[Any, float], patience: float
) -> tuple[int, bool]:
    """Act on signals, failures and changed files until every worker has exited; return
    the first error status (or 0), and whether files changed.

    Once a stop has begun, workers that have not exited ``patience`` seconds after a step
    are moved to the next one (to end every connection, then to be terminated), so the
    command always ends.
    """
    status = 0
    changed = False
    commands = iter((STOP, HURRY))
    next_step_at: float | None = None

    def escalate(announce: bool) -> None:
        nonlocal next_step_at
        next_step_at = time.monotonic() + patience
        command = next(commands, None)
        if command is None:
            for worker in running:
                worker.process.terminate()
            return
        if announce:
            print(_ANNOUNCEMENTS[command], flush=True)
        for worker in running:
            worker.tell(command)

    while any(worker.process.exitcode is None for worker in running):
        alive = [worker.process.sentinel for worker in running if worker.process.exitcode is None]
        timeouts = [RELOAD_POLL_S] if watched else []
        if next_step_at is not None:
            timeouts.append(max(0.0, next_step_at - time.monotonic()))
        wait([*alive, signals.waker], timeout=min(timeouts, default=None))
        with contextlib.suppress(BlockingIOError):
            while signals.waker.recv(4096):
                pass
        while signals.handled < signals.received:
            signals.handled += 1
            escalate(announce=True)
        stopping = next_step_at is not None
        for worker in running:
            if worker.process.exitcode not in (None, 0) and status == 0:
                status = worker.process.exitcode
                if not stopping:
                    escalate(announce=False)  # one failed: stop the others
                    stopping = True
        if watched and not stopping and check_for_updates(watched):
            changed = True
            escalate(announce=False)
        elif next_step_at is not None and time.monotonic() >= next_step_at:
            escalate(announce=False)  # they are taking too long: the next step
    # Workers that failed before the loop first looked (a mistake at import fails fast).
    for worker in running:
        if worker.process.exitcode not in (None, 0) and status == 0:
            status = worker.process.exitcode
    return status, changed and status == 0


def serve_in_worker(
    config: HypercornConfig,
    app_path: str,
    sockets: list[socket.socket],
    commands: Connection,
    settings: dict[str, Any],
) -> None:
    """A worker process: import the app and serve it on ``sockets`` until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command's process owns the signals
    try:
        app = load_app(app_path)
        app.config.update(settings)
        with single_errors_unwrapped():
            trio.run(_serve, app, config, sockets, commands)
    except (LookupError, LifespanFailureError) as error:
        print(f"Error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)


async def _serve(
    app: Trioframe, config: HypercornConfig, sockets: list[socket.socket], commands: Connection
) -> None:
    requests = _requests(commands)
    await serve_until_asked(app, config, listen(config, sockets), requests, announce=False)


async def _requests(commands: Connection) -> AsyncIterator[None]:
    """A stop request for each command from the command's process; if it dies, both."""
    while True:
        await trio.lowlevel.wait_readable(commands.fileno())
        try:
            commands.recv_bytes()
        except EOFError:
            yield None
            yield None
            return
        yield None
