"""The context globals through the test client and direct calls: ``current_app``, ``g``,
``request`` and their errors outside a context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import trio

from trioframe import (
    NotFound,
    OutsideContextError,
    Trioframe,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
    websocket,
)

if TYPE_CHECKING:
    from trioframe.testing import TestClient


def test_globals_outside_a_context_say_what_to_do() -> None:
    with pytest.raises(OutsideContextError, match="test_request_context") as error:
        _ = request.method
    assert isinstance(error.value, RuntimeError)
    with pytest.raises(OutsideContextError, match=r"app\.app_context"):
        _ = current_app.name
    with pytest.raises(OutsideContextError, match=r"app\.app_context"):
        g.value = 1
    assert not has_app_context()
    assert not has_request_context()


async def test_app_context(app: Trioframe) -> None:
    with app.app_context():
        assert has_app_context()
        assert not has_request_context()
        assert current_app.name == "tests"
        g.db = "connection"
        assert g.get("db") == "connection"
        assert g.get("missing", 5) == 5
        assert g.setdefault("count", 0) == 0
        assert "db" in g
        assert sorted(g) == ["count", "db"]
        assert g.pop("db") == "connection"
        assert g.pop("db", None) is None
        assert "tests" in repr(g)
        with pytest.raises(AttributeError, match=r"g\.get\('missing'\)"):
            _ = g.missing
        g.temporary = 1
        del g.temporary
        with pytest.raises(AttributeError):
            del g.temporary
    assert not has_app_context()
    async with app.app_context():
        assert current_app.name == "tests"
        assert g.get("count") is None  # each context has its own g


async def test_contexts_nest_and_restore(app: Trioframe) -> None:
    other = Trioframe("other")
    with app.app_context():
        with other.app_context():
            assert current_app.name == "other"
        assert current_app.name == "tests"


async def test_test_request_context(app: Trioframe) -> None:
    torn_down: list[BaseException | None] = []

    @app.post("/items/<int:item_id>")
    async def item(item_id: int) -> str:
        return "item"

    @app.teardown_request
    async def teardown(error: BaseException | None) -> None:
        torn_down.append(error)

    async with app.test_request_context(
        "/items/3", method="POST", json={"name": "lamp"}, headers={"X-Trace": "abc"}
    ):
        assert has_request_context()
        assert request.method == "POST"
        assert request.view_args == {"item_id": 3}
        assert request.endpoint == "item"
        assert request.headers["X-Trace"] == "abc"
        assert await request.get_json() == {"name": "lamp"}
        assert current_app.name == "tests"
    assert torn_down == [None]
    with pytest.raises(KeyError):
        async with app.test_request_context("/items/3", method="POST"):
            raise KeyError("inside")
    assert isinstance(torn_down[-1], KeyError)
    assert not has_request_context()


async def test_test_request_context_records_routing_errors(app: Trioframe) -> None:
    async with app.test_request_context("/nowhere"):
        assert request.url_rule is None
        assert request.endpoint is None
        assert isinstance(request.routing_exception, NotFound)


async def test_each_request_gets_its_own_g(app: Trioframe, client: TestClient) -> None:
    @app.get("/count")
    async def count() -> dict[str, Any]:
        g.hits = g.get("hits", 0) + 1
        return {"hits": g.hits}

    assert await (await client.get("/count")).get_json() == {"hits": 1}
    assert await (await client.get("/count")).get_json() == {"hits": 1}


async def test_concurrent_requests_do_not_share_context(app: Trioframe, client: TestClient) -> None:
    both_inside = trio.Event()
    inside = 0

    @app.get("/who/<name>")
    async def who(name: str) -> dict[str, str]:
        nonlocal inside
        g.name = name
        inside += 1
        if inside == 2:
            both_inside.set()
        await both_inside.wait()  # both requests are in flight at once here
        return {"path": request.path, "g": g.name}

    results: dict[str, Any] = {}

    async def fetch(name: str) -> None:
        results[name] = await (await client.get(f"/who/{name}")).get_json()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(fetch, "ada")
        nursery.start_soon(fetch, "grace")
    assert results == {
        "ada": {"path": "/who/ada", "g": "ada"},
        "grace": {"path": "/who/grace", "g": "grace"},
    }


async def test_teardown_appcontext_runs_as_every_app_context_ends(
    app: Trioframe, client: TestClient
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets
    ended: list[str] = []

    @app.teardown_request
    async def request_first(error: BaseException | None) -> None:
        ended.append("teardown_request")

    @app.teardown_appcontext
    async def release(error: BaseException | None) -> None:
        ended.append(f"appcontext {g.get('what')} {type(error).__name__}")

    @app.get("/")
    async def index() -> str:
        g.what = "request"
        return "ok"

    @app.get("/fail")
    async def fail() -> str:
        g.what = "failing request"
        raise KeyError("lost")

    @app.websocket("/ws")
    async def ws() -> None:
        g.what = "websocket"
        await websocket.accept()

    await client.get("/")
    assert (await client.get("/fail")).status_code == 500
    async with client.websocket("/ws"):
        pass
    async with app.app_context():
        g.what = "block"
    async with app.test_app():
        done = trio.Event()

        async def task() -> None:
            g.what = "task"
            done.set()

        app.nursery.start_soon(task)
        await done.wait()
    assert ended == [
        "teardown_request",
        "appcontext request NoneType",
        "teardown_request",
        "appcontext failing request KeyError",
        "appcontext websocket NoneType",
        "appcontext block NoneType",
        "appcontext task NoneType",
    ]


def test_a_plain_with_runs_plain_teardown_functions_only(app: Trioframe) -> None:
    ended: list[BaseException | None] = []

    @app.teardown_appcontext
    def plain(error: BaseException | None) -> None:
        ended.append(error)

    with app.app_context():
        pass
    assert ended == [None]

    @app.teardown_appcontext
    async def asynchronous(error: BaseException | None) -> None:
        pass  # pragma: no cover  # refused: a plain with cannot await it

    with pytest.raises(RuntimeError, match=r"use 'async with app\.app_context\(\):'"):  # noqa: SIM117
        with app.app_context():
            pass


def test_a_failing_plain_teardown_is_logged_or_raised(
    app: Trioframe, caplog: pytest.LogCaptureFixture
) -> None:
    @app.teardown_appcontext
    def broken(error: BaseException | None) -> None:
        raise ValueError("cannot close")

    with app.app_context():
        pass
    assert "Error in teardown_appcontext function" in caplog.text
    app.testing = True
    with pytest.raises(ValueError, match="cannot close"), app.app_context():
        pass
