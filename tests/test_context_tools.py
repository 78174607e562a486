"""Flask's and Quart's context helpers, through the test client: after_this_request, the
copy_current_*_context decorators and stream_with_context, and their errors outside a
context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import trio

from trioframe import (
    OutsideContextError,
    Response,
    Trioframe,
    after_this_request,
    copy_current_app_context,
    copy_current_request_context,
    copy_current_websocket_context,
    current_app,
    g,
    request,
    stream_with_context,
    websocket,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from trioframe.testing import TestClient


async def test_after_this_request_changes_one_response_only(
    app: Trioframe, client: TestClient
) -> None:
    order: list[str] = []

    @app.after_request
    async def everywhere(response: Response) -> Response:
        order.append("after_request")
        return response

    @app.get("/marked")
    async def marked() -> str:
        @after_this_request
        def mark(response: Response) -> Response:
            order.append("after_this_request")
            response.headers["X-Marked"] = "yes"
            return response

        return "marked"

    @app.get("/plain")
    async def plain() -> str:
        return "plain"

    assert (await client.get("/marked")).headers["X-Marked"] == "yes"
    assert order == ["after_this_request", "after_request"]
    assert "X-Marked" not in (await client.get("/plain")).headers


async def test_copied_contexts_follow_the_function_to_another_task_or_thread(
    app: Trioframe, client: TestClient
) -> None:
    seen: list[str] = []

    @app.get("/copy")
    async def copy() -> str:
        g.user = "ada"

        @copy_current_request_context
        async def in_a_task() -> None:
            seen.append(f"task {request.path} {g.user}")

        @copy_current_request_context
        def in_a_thread() -> None:
            seen.append(f"thread {request.path} {g.user}")

        @copy_current_app_context
        def app_only() -> None:
            seen.append(f"app {current_app.name} {g.user}")

        # A fresh, empty context, as a task of a nursery made elsewhere would have.
        await trio.to_thread.run_sync(in_a_thread)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(in_a_task)
        await trio.to_thread.run_sync(app_only)
        return "done"

    @app.websocket("/ws")
    async def ws() -> None:
        @copy_current_websocket_context
        def report() -> str:
            return f"thread {websocket.path}"

        await websocket.send(await trio.to_thread.run_sync(report))

    assert (await client.get("/copy")).status_code == 200
    assert sorted(seen) == ["app tests ada", "task /copy ada", "thread /copy ada"]
    async with client.websocket("/ws") as connection:
        assert await connection.receive() == "thread /ws"


async def test_stream_with_context_keeps_the_request_for_a_late_reader(
    app: Trioframe, client: TestClient
) -> None:
    @app.get("/stream")
    async def stream() -> Any:
        @stream_with_context
        async def chunks() -> AsyncIterator[str]:
            yield f"{request.method} "
            yield request.args["name"]

        return chunks()

    # Read after the view's context ended: the generator still sees its request.
    generators: list[Any] = []

    @app.get("/kept")
    async def kept() -> str:
        @stream_with_context
        async def path() -> AsyncIterator[str]:
            yield request.path

        generators.append(path())
        return "kept"

    response = await client.get("/stream?name=trio")
    assert await response.get_data() == b"GET trio"
    await client.get("/kept")
    assert [chunk async for chunk in generators[0]] == ["/kept"]


async def test_the_context_helpers_refuse_to_work_outside_a_context() -> None:
    def plain() -> None:
        pass  # pragma: no cover  # never decorated

    async def chunks() -> AsyncIterator[str]:
        yield "never"  # pragma: no cover

    helpers: tuple[Any, ...] = (
        after_this_request,
        copy_current_app_context,
        copy_current_request_context,
        copy_current_websocket_context,
    )
    for helper in helpers:
        with pytest.raises(OutsideContextError):
            helper(plain)
    with pytest.raises(OutsideContextError):
        stream_with_context(chunks)


async def test_stream_with_context_takes_an_async_generator_function(app: Trioframe) -> None:
    async with app.test_request_context("/"):
        with pytest.raises(TypeError, match="takes an async generator function"):
            stream_with_context(lambda: None)
