"""The background tasks guide, run through the lifespan."""

from __future__ import annotations

import trio
import trio.testing

from ._fakes import sent_emails
from .background import app, heartbeats, reports


async def test_the_heartbeat_runs_until_shutdown(autojump_clock: trio.testing.MockClock) -> None:
    heartbeats.clear()
    start = trio.current_time()
    async with app.test_app():
        await trio.sleep(150)
    assert [beat - start for beat in heartbeats] == [0, 60, 120]


async def test_the_email_outlives_the_request(autojump_clock: trio.testing.MockClock) -> None:
    sent_emails.clear()
    async with app.test_app() as test_app:
        response = await test_app.test_client().post("/signup", json={"email": "a@b.c"})
        assert response.status_code == 202
        assert sent_emails == []  # the response did not wait for the mail server
        await trio.sleep(2)
        assert sent_emails == ["a@b.c"]


async def test_start_waits_until_the_task_is_listening() -> None:
    async with app.test_app():
        stream = await trio.open_tcp_stream("127.0.0.1", app.config["ECHO_PORT"])
        async with stream:
            await stream.send_all(b"ping")
            assert await stream.receive_some(4) == b"ping"


async def test_a_plain_function_runs_in_the_background() -> None:
    reports.clear()
    async with app.test_app() as test_app:
        response = await test_app.test_client().post("/reports")
        assert response.status_code == 202
        await trio.testing.wait_all_tasks_blocked()  # the task waits for its thread
    # Shutdown cancels background tasks, but waits for a thread that is running.
    assert reports == ["daily: 3 rows"]
