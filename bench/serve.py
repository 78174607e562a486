"""Serve one benchmark app with hypercorn's trio worker in this process, on 127.0.0.1.

Usage: ``python serve.py <module> <port> [hypercorn|trioframe]``. Prints ``ready`` once
listening. One process, one worker, no access log, so every app runs under exactly the same
server; ``trioframe`` serves a trioframe app with trioframe's own server instead, as
``trioframe run`` does, to show what its bounds cost.
"""

from __future__ import annotations

import importlib
import resource
import sys
from functools import partial
from pathlib import Path

import hypercorn.trio
import trio
from hypercorn.config import Config


async def serve(module: str, port: int, with_server: str) -> None:
    app = importlib.import_module(module).app
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.backlog = 2048
    config.websocket_ping_interval = None
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


def main() -> None:
    # A thousand idle websockets need a thousand file descriptors.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sys.path.insert(0, str(Path(__file__).parent / "apps"))
    with_server = sys.argv[3] if len(sys.argv) > 3 else "hypercorn"
    trio.run(serve, sys.argv[1], int(sys.argv[2]), with_server)


if __name__ == "__main__":
    main()
