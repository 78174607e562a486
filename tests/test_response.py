"""Responses through the test client: return-value coercion, headers, cookies, streaming bodies."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
import trio
from werkzeug.datastructures import Headers

from trioframe import (
    BadRequest,
    BodyProducer,
    Response,
    Trioframe,
    abort,
    jsonify,
    make_response,
    redirect,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from trioframe.testing import TestClient


@pytest.mark.parametrize(
    ("returned", "status", "content_type", "body"),
    [
        ("<b>hi</b>", 200, "text/html; charset=utf-8", b"<b>hi</b>"),
        (b"\x00raw", 200, "text/html; charset=utf-8", b"\x00raw"),
        ({"b": 1, "a": [True, None]}, 200, "application/json", b'{"a":[true,null],"b":1}\n'),
        ([1, "two"], 200, "application/json", b'[1,"two"]\n'),
        (("created", 201), 201, "text/html; charset=utf-8", b"created"),
        (("teapot", "418 I'M A TEAPOT"), 418, "text/html; charset=utf-8", b"teapot"),
        (("plain", {"Content-Type": "text/plain"}), 200, "text/plain", b"plain"),
        (("listed", [("Content-Type", "text/csv")]), 200, "text/csv", b"listed"),
        (({"id": 7}, 201, {"X-Id": "7"}), 201, "application/json", b'{"id":7}\n'),
        (Response("ready", 202, mimetype="text/plain"), 202, "text/plain; charset=utf-8", b"ready"),
        ((Response("moved"), 404), 404, "text/html; charset=utf-8", b"moved"),
    ],
)
async def test_return_values_become_responses(
    app: Trioframe,
    client: TestClient,
    returned: Any,
    status: int,
    content_type: str,
    body: bytes,
) -> None:
    @app.get("/")
    async def view() -> Any:
        return returned

    response = await client.get("/")
    assert response.status_code == status
    assert response.headers["Content-Type"] == content_type
    assert await response.get_data() == body
    assert response.headers["Content-Length"] == str(len(body))


async def test_tuple_headers_replace_and_repeat(app: Trioframe, client: TestClient) -> None:
    @app.get("/")
    async def view() -> Any:
        headers = Headers([("X-Many", "1"), ("X-Many", "2"), ("Content-Type", "text/plain")])
        return "ok", 200, headers

    response = await client.get("/")
    assert response.headers.getlist("X-Many") == ["1", "2"]
    assert response.headers.getlist("Content-Type") == ["text/plain"]


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (None, "returned None"),
        (42, "returned a int"),
        (("a", 200, {}, "extra"), "tuple of 4 items"),
    ],
)
async def test_invalid_return_values_are_type_errors(
    app: Trioframe, client: TestClient, returned: Any, message: str
) -> None:
    @app.get("/")
    async def view() -> Any:
        return returned

    with pytest.raises(TypeError, match=message):
        await client.get("/")
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets
    assert (await client.get("/")).status_code == 500


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (("x", {"h": "v"}, 200), "whose status is of type dict"),
        (("x", 200, 404), "whose headers are of type int"),
        (("x", 2.5), "whose status is of type float"),
    ],
    ids=["headers-then-status", "two-statuses", "float-status"],
)
async def test_a_tuple_with_a_part_in_the_wrong_place_says_the_valid_shapes(
    app: Trioframe, client: TestClient, returned: Any, message: str
) -> None:
    @app.get("/")
    async def view() -> Any:
        return returned

    app.testing = True
    with pytest.raises(TypeError, match=message) as raised:
        await client.get("/")
    assert "(body, status, headers)" in str(raised.value)


async def test_make_response_lets_a_view_change_the_response(
    app: Trioframe, client: TestClient
) -> None:
    @app.get("/")
    async def view() -> Response:
        response = await make_response({"ok": True}, 201)
        response.headers["X-Extra"] = "yes"
        response.set_cookie("seen", "1", httponly=True)
        return response

    @app.get("/empty")
    async def empty() -> Response:
        response = await make_response()
        response.status_code = 204
        return response

    response = await client.get("/")
    assert response.status_code == 201
    assert response.headers["X-Extra"] == "yes"
    assert "seen=1; HttpOnly; Path=/" in response.headers["Set-Cookie"]
    assert (await client.get("/empty")).status_code == 204


async def test_cookies_set_and_deleted(app: Trioframe, client: TestClient) -> None:
    @app.get("/login")
    async def login() -> Response:
        response = Response("in")
        response.set_cookie("user", "ada", max_age=3600, samesite="Lax")
        return response

    @app.get("/logout")
    async def logout() -> Response:
        response = Response("out")
        response.delete_cookie("user")
        return response

    login_response = await client.get("/login")
    assert "user=ada" in login_response.headers["Set-Cookie"]
    assert client.get_cookie("user") is not None
    logout_response = await client.get("/logout")
    assert "Max-Age=0" in logout_response.headers["Set-Cookie"]
    assert client.get_cookie("user") is None


async def test_jsonify(app: Trioframe) -> None:
    with app.app_context():
        assert await jsonify({"a": 1}).get_data() == b'{"a":1}\n'
        assert await jsonify(1, 2).get_data() == b"[1,2]\n"
        assert await jsonify(name="trio").get_json() == {"name": "trio"}
        assert jsonify().mimetype == "application/json"
        with pytest.raises(TypeError, match="not both"):
            jsonify(1, a=2)


async def test_redirect(app: Trioframe, client: TestClient) -> None:
    @app.get("/old")
    async def old() -> Response:
        return redirect("/new")

    @app.get("/elsewhere")
    async def elsewhere() -> Response:
        return redirect("/ünïcode path?q=<x>", 301)

    response = await client.get("/old")
    assert response.status_code == 302
    assert response.headers["Location"] == "/new"
    moved = await client.get("/elsewhere")
    assert moved.status_code == 301
    assert moved.headers["Location"] == "/%C3%BCn%C3%AFcode%20path?q=%3Cx%3E"
    assert "<x>" not in await moved.get_data(as_text=True)
    assert redirect("/plain").status_code == 302  # works without an app context too


async def test_response_bodies() -> None:
    async def generate() -> AsyncIterator[str]:
        yield "a"
        yield "b"

    def sync_generate() -> Iterator[bytes]:
        yield b"c"
        yield b"d"

    assert Response(generate()).is_streamed
    streamed = Response(generate())
    with pytest.raises(RuntimeError, match="await get_data"):
        _ = streamed.data
    assert await streamed.get_data(as_text=True) == "ab"
    assert not streamed.is_streamed  # read into memory now
    assert streamed.headers["Content-Length"] == "2"
    assert await Response(sync_generate()).get_data() == b"cd"
    replaced = Response("old")
    replaced.data = "new"
    assert replaced.data == b"new"
    assert "Content-Length" in Response().headers


async def test_response_get_json() -> None:
    assert await Response('{"a": 1}', mimetype="application/json").get_json() == {"a": 1}
    assert await Response("[]", mimetype="text/plain").get_json(force=True) == []
    assert await Response("x", mimetype="text/plain").get_json(silent=True) is None
    assert await Response("{", mimetype="application/json").get_json(silent=True) is None
    with pytest.raises(BadRequest, match="not JSON"):
        await Response("x", mimetype="text/plain").get_json()
    with pytest.raises(BadRequest, match="Failed to decode"):
        await Response("{", mimetype="application/json").get_json()


async def test_iter_body_of_an_in_memory_response() -> None:
    body = Response("whole").iter_body()
    assert [chunk async for chunk in body] == [b"whole"]
    await body.aclose()


async def test_abort_with_a_response_sends_it_unchanged(app: Trioframe, client: TestClient) -> None:
    @app.get("/")
    async def index() -> str:
        abort(Response("Pay first", 402, {"X-Reason": "subscription"}))

    response = await client.get("/")
    assert response.status_code == 402
    assert response.headers["X-Reason"] == "subscription"
    assert await response.get_data(as_text=True) == "Pay first"


async def test_a_body_made_by_a_task() -> None:
    async def produce(channel: trio.MemorySendChannel[bytes]) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(channel.send, b"from a child task, ")
        await channel.send(b"then the producer")

    response = Response(BodyProducer(produce))
    assert response.is_streamed
    with pytest.raises(TypeError, match="open_body"):
        response.iter_body()
    assert await response.get_data() == b"from a child task, then the producer"


async def test_a_producer_failing_twice_raises_both() -> None:
    async def produce(channel: trio.MemorySendChannel[bytes]) -> None:
        async def fail(message: str) -> None:
            raise ValueError(message)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(fail, "one")
            nursery.start_soon(fail, "two")

    with pytest.raises(ExceptionGroup) as raised:
        await Response(BodyProducer(produce)).get_data()
    assert sorted(str(leaf) for leaf in raised.value.exceptions) == ["one", "two"]


async def test_leaving_a_produced_body_early_cancels_the_producer() -> None:
    cancelled = trio.Event()

    async def produce(channel: trio.MemorySendChannel[bytes]) -> None:
        try:
            while True:
                await channel.send(b"more")
        finally:
            cancelled.set()

    async with Response(BodyProducer(produce)).open_body() as chunks:
        assert await anext(chunks) == b"more"
    assert cancelled.is_set()


async def test_any_response_can_be_made_conditional(app: Trioframe, client: TestClient) -> None:
    @app.get("/report")
    async def report() -> Response:
        response = Response(b"0123456789", mimetype="text/plain")
        await response.add_etag()
        response.last_modified = datetime(2026, 1, 1, tzinfo=UTC)
        return await response.make_conditional(accept_ranges=True)

    full = await client.get("/report")
    etag = full.headers["ETag"]
    assert (full.status_code, full.headers["Accept-Ranges"]) == (200, "bytes")
    assert etag == '"' + hashlib.sha1(b"0123456789").hexdigest() + '"'

    cached = await client.get("/report", headers={"If-None-Match": etag})
    assert (cached.status_code, await cached.get_data()) == (304, b"")
    assert "Content-Length" not in cached.headers
    since = await client.get(
        "/report", headers={"If-Modified-Since": full.headers["Last-Modified"]}
    )
    assert since.status_code == 304
    assert (await client.get("/report", headers={"If-Match": '"other"'})).status_code == 412

    part = await client.get("/report", headers={"Range": "bytes=2-4"})
    assert (part.status_code, await part.get_data()) == (206, b"234")
    assert part.headers["Content-Range"] == "bytes 2-4/10"
    several = await client.get("/report", headers={"Range": "bytes=0-1,5-6"})
    assert (several.status_code, await several.get_data()) == (200, b"0123456789")
    assert (await client.get("/report", headers={"Range": "bytes=20-30"})).status_code == 416


async def test_conditional_responses_need_asking(app: Trioframe, client: TestClient) -> None:
    @app.post("/write")
    async def write() -> Response:
        response = Response("written")
        response.set_etag("v1")
        await response.add_etag()  # keeps the tag it has
        return await response.make_conditional()  # a POST: nothing to answer

    @app.get("/plain")
    async def plain() -> Response:
        response = Response("all of it")
        return await response.make_conditional()  # ranges not accepted

    written = await client.post("/write", headers={"If-None-Match": '"v1"'})
    assert (written.status_code, written.headers["ETag"]) == (200, '"v1"')
    whole = await client.get("/plain", headers={"Range": "bytes=0-2"})
    assert (whole.status_code, await whole.get_data()) == (200, b"all of it")
    assert "Accept-Ranges" not in whole.headers


async def test_a_response_class_with_its_own_init_makes_every_response() -> None:
    # Bodies a view returns as str, bytes, dict or list are made through a response class's
    # own __init__, when it has one.
    class StampedResponse(Response):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.headers["X-Stamp"] = "yes"

    app = Trioframe(__name__)
    app.response_class = StampedResponse

    @app.get("/text")
    async def text() -> str:
        return "hello"

    @app.get("/json")
    async def json_body() -> dict[str, int]:
        return {"a": 1}

    client = app.test_client()
    expected = [("/text", "text/html; charset=utf-8"), ("/json", "application/json")]
    for path, content_type in expected:
        response = await client.get(path)
        assert response.headers["X-Stamp"] == "yes"
        assert response.headers["Content-Type"] == content_type
