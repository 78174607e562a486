"""The background tasks guide: the app nursery."""

from __future__ import annotations

import trio

from trioframe import Trioframe, request

from ._fakes import send_welcome_email

app = Trioframe(__name__)
heartbeats: list[float] = []
reports: list[str] = []


# docs: start heartbeat
async def heartbeat() -> None:
    while True:
        heartbeats.append(trio.current_time())
        await trio.sleep(60)


@app.before_serving
async def start_heartbeat() -> None:
    app.nursery.start_soon(heartbeat)


# docs: end heartbeat


# docs: start signup
@app.post("/signup")
async def signup() -> tuple[str, int]:
    data = await request.get_json()
    app.nursery.start_soon(send_welcome_email, data["email"])  # outlives the request
    return "queued", 202


# docs: end signup


# docs: start start
async def listen(port: int, *, task_status: trio.TaskStatus[int]) -> None:
    listeners = await trio.open_tcp_listeners(port, host="127.0.0.1")
    task_status.started(listeners[0].socket.getsockname()[1])  # the port, once listening
    await trio.serve_listeners(echo_stream, listeners)


async def echo_stream(stream: trio.SocketStream) -> None:
    async with stream:
        async for data in stream:
            await stream.send_all(data)


@app.before_serving
async def start_listener() -> None:
    app.config["ECHO_PORT"] = await app.nursery.start(listen, 0)


# docs: end start


# docs: start blocking
def write_report(name: str, *, rows: int) -> None:
    # Blocking work (a file, a library without async support): it gets a worker thread.
    reports.append(f"{name}: {rows} rows")


@app.post("/reports")
async def make_report() -> tuple[str, int]:
    app.add_background_task(write_report, "daily", rows=3)
    return "started", 202


# docs: end blocking
