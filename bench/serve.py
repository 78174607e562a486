"""Serve one benchmark app with hypercorn's trio worker in this process, on 127.0.0.1.

Usage: ``python serve.py <module> <port>``. Prints ``ready`` once listening. One process,
one worker, no access log, so every app runs under exactly the same server.
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


async def serve(module: str, port: int) -> None:
    app = importlib.import_module(module).app
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.backlog = 2048
    config.websocket_ping_interval = None
    async with trio.open_nursery() as nursery:
        await nursery.start(partial(hypercorn.trio.serve, app, config))
        print("ready", flush=True)


def main() -> None:
    # A thousand idle websockets need a thousand file descriptors.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sys.path.insert(0, str(Path(__file__).parent / "apps"))
    trio.run(serve, sys.argv[1], int(sys.argv[2]))


if __name__ == "__main__":
    main()
