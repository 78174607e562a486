"""The app the end-to-end tests serve, in the test's own process or in a separate one.

`create_app` reports what happens inside the app (the hooks ran, a handler was cancelled)
through ``report``; the module-level ``app``, which ``trioframe run`` and ``app.run()`` serve
in a subprocess, prints those reports flushed, so the test reads them from its output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from trioframe import Trioframe, event_stream, websocket

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

#: One chunk of the endless download and websocket stream.
CHUNK = b"x" * 65536


def create_app(report: Callable[[str], None]) -> Trioframe:
    """The app; ``report`` hears one short line for each event the tests look for."""
    app = Trioframe("e2e_app")
    app.config["GRACEFUL_SHUTDOWN_TIMEOUT"] = 1.0
    app.config.from_prefixed_env()  # tests lengthen the grace period with an environment variable

    @app.before_serving
    async def announce_start() -> None:
        report("started")

    @app.after_serving
    async def announce_stop() -> None:
        report("stopped cleanly")

    @app.get("/")
    async def index() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/slow")
    async def slow() -> str:
        report("slow request started")
        await trio.sleep(3600)  # an in-flight request for the shutdown tests
        return "finally"

    @app.websocket("/echo")
    async def echo() -> None:
        try:
            while True:
                await websocket.send(await websocket.receive())
        finally:
            report("echo ended")

    @app.websocket("/private")
    async def private() -> Any:
        return "Invalid password", 403

    @app.websocket("/ticker")
    async def ticker() -> None:
        try:
            while True:
                await websocket.send("tick")
                report("tick sent")
                await trio.sleep(10)
        finally:
            report("ticker cancelled")

    @app.get("/download")
    async def download() -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            report("download started")
            try:
                while True:
                    yield CHUNK
            finally:
                report("download ended")

        return chunks()

    @app.get("/events")
    async def events() -> Any:
        async def ticks() -> AsyncIterator[str]:
            report("events started")
            try:
                while True:
                    yield "x" * 10_000
            finally:
                report("events ended")

        return event_stream(ticks())

    @app.websocket("/stream")
    async def stream() -> None:
        await websocket.accept()
        report("stream started")
        try:
            while True:
                await websocket.send(CHUNK)
        finally:
            report("stream ended")

    @app.websocket("/flood")
    async def flood() -> None:
        try:
            await websocket.accept()
            while True:  # never waits of its own accord: only sending can yield
                await websocket.send("x" * 1000)
        finally:
            report("flood cancelled")

    return app


def _print_report(line: str) -> None:
    print(f"e2e: {line}", flush=True)


app = create_app(_print_report)
