"""Serve one benchmark app with hypercorn's trio worker in this process, on 127.0.0.1.

Usage: ``python serve.py <module> <port> [hypercorn|trioframe|asyncio]``. Prints ``ready``
once listening. One process, one worker, no access log, so every app runs under exactly the
same server; ``trioframe`` serves a trioframe app with trioframe's own server instead, as
``trioframe run`` does, to show what its bounds cost; ``asyncio`` serves with hypercorn's
asyncio worker, for an app whose libraries run on asyncio only (broadcaster).
"""

from __future__ import annotations

import asyncio  # noqa: TID251 - only to serve an asyncio-only competitor
import importlib
import resource
import signal
import sys
from functools import partial
from pathlib import Path

import hypercorn.trio
import trio
from hypercorn.config import Config


def config_for(port: int) -> Config:
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.backlog = 2048
    config.websocket_ping_interval = None
    return config


async def serve(module: str, port: int, with_server: str) -> None:
    app = importlib.import_module(module).app
    config = config_for(port)
    async with trio.open_nursery() as nursery:
        if with_server == "trioframe":
            # Imported only here: the other apps need no trioframe at all.
            from trioframe._server import Server
            from trioframe._serving import apply_app_limits, open_listeners

            apply_app_limits(config, app)
            server = Server(app, config)
            await nursery.start(server.serve, await open_listeners(config))
        else:
            await nursery.start(partial(hypercorn.trio.serve, app, config))
        print("ready", flush=True)


async def serve_on_asyncio(module: str, port: int) -> None:
    import hypercorn.asyncio

    app = importlib.import_module(module).app
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # At the stop, hypercorn cancels every connection's task, and asyncio reports each one.
    loop.set_exception_handler(
        lambda loop, context: (
            None
            if isinstance(context.get("exception"), asyncio.CancelledError)
            else loop.default_exception_handler(context)
        )
    )
    server = asyncio.create_task(
        hypercorn.asyncio.serve(app, config_for(port), shutdown_trigger=stop.wait)
    )
    # hypercorn's asyncio serve says nothing when it listens: knock until it answers.
    async with asyncio.timeout(60):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
            else:
                writer.close()
                break
    print("ready", flush=True)
    await server


def main() -> None:
    # A thousand idle websockets need a thousand file descriptors.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sys.path.insert(0, str(Path(__file__).parent / "apps"))
    with_server = sys.argv[3] if len(sys.argv) > 3 else "hypercorn"
    if with_server == "asyncio":
        asyncio.run(serve_on_asyncio(sys.argv[1], int(sys.argv[2])))
    else:
        trio.run(serve, sys.argv[1], int(sys.argv[2]), with_server)


if __name__ == "__main__":
    main()
