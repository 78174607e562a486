"""The error tree, by direct calls and through the test client: status codes,
descriptions, werkzeug's exceptions translated and caught, ``abort``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import werkzeug.exceptions
import werkzeug.wrappers

from trioframe import (
    BadRequest,
    Forbidden,
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    RangeNotSatisfiable,
    RequestRedirect,
    Response,
    Trioframe,
    TrioframeError,
    Unauthorized,
    abort,
)
from trioframe._concurrency import unwrap_exception_group
from trioframe._exceptions import from_werkzeug

if TYPE_CHECKING:
    from trioframe.testing import TestClient


def test_abort_raises_the_most_specific_class() -> None:
    with pytest.raises(NotFound) as not_found:
        abort(404)
    assert not_found.value.code == 404
    assert not_found.value.name == "Not Found"
    assert "not found on the server" in not_found.value.description
    assert isinstance(not_found.value, HTTPException)
    assert isinstance(not_found.value, TrioframeError)
    with pytest.raises(Forbidden, match="Members only"):
        abort(403, "Members only")


def test_abort_with_an_unusual_code_and_headers() -> None:
    with pytest.raises(HTTPException) as teapot:
        abort(418, headers={"X-Brew": "no"})
    assert type(teapot.value) is HTTPException
    assert teapot.value.code == 418
    assert teapot.value.name == "I'm a teapot"
    assert teapot.value.headers["X-Brew"] == "no"
    with pytest.raises(HTTPException) as unknown:
        abort(499)
    assert unknown.value.name == "Unknown Error"
    assert unknown.value.description == "The server could not complete the request."


def test_abort_with_a_response() -> None:
    response = Response("custom", 401)
    with pytest.raises(HTTPException) as error:
        abort(response)
    assert error.value.response is response
    assert error.value.code == 401


@pytest.mark.parametrize("code", [200, 302, 600])
def test_abort_needs_an_error_code(code: int) -> None:
    with pytest.raises(ValueError, match="between 400 and 599"):
        abort(code)


def test_method_not_allowed_lists_methods() -> None:
    error = MethodNotAllowed(["POST", "GET"])
    assert error.headers["Allow"] == "GET, POST"
    assert "Allow" not in MethodNotAllowed().headers


def test_werkzeug_exceptions_are_translated() -> None:
    assert isinstance(from_werkzeug(werkzeug.exceptions.Unauthorized()), Unauthorized)
    not_allowed = from_werkzeug(werkzeug.exceptions.MethodNotAllowed(["GET"]))
    assert isinstance(not_allowed, MethodNotAllowed)
    assert not_allowed.valid_methods == ["GET"]
    redirect = from_werkzeug(werkzeug.routing.RequestRedirect("http://x/y/"))
    assert isinstance(redirect, RequestRedirect)
    assert redirect.headers["Location"] == "http://x/y/"
    bad = from_werkzeug(werkzeug.exceptions.BadRequest("detail"))
    assert isinstance(bad, BadRequest)
    assert bad.description == "detail"


def test_unwrap_exception_group() -> None:
    inner = ValueError("inner")
    assert unwrap_exception_group(ExceptionGroup("a", [ExceptionGroup("b", [inner])])) is inner
    two = ExceptionGroup("two", [ValueError(), KeyError()])
    assert unwrap_exception_group(two) is two
    assert unwrap_exception_group(inner) is inner


async def test_werkzeug_code_catches_trioframe_s_errors(app: Trioframe, client: TestClient) -> None:
    caught: list[str] = []

    @app.get("/find")
    async def find() -> str:
        try:
            raise NotFound()
        except werkzeug.exceptions.NotFound as error:  # as code written for Flask does
            caught.append(type(error).__name__)
            raise

    assert (await client.get("/find")).status_code == 404
    assert caught == ["NotFound"]
    for ours, theirs in [
        (BadRequest, werkzeug.exceptions.BadRequest),
        (MethodNotAllowed, werkzeug.exceptions.MethodNotAllowed),
        (RangeNotSatisfiable, werkzeug.exceptions.RequestedRangeNotSatisfiable),
        (InternalServerError, werkzeug.exceptions.InternalServerError),
        (HTTPException, werkzeug.exceptions.HTTPException),
    ]:
        assert issubclass(ours, theirs)
    error = MethodNotAllowed(["GET"], "Read only.")
    assert (error.code, error.description, error.valid_methods) == (405, "Read only.", ["GET"])
    assert str(error) == "405 Method Not Allowed: Read only."


async def test_get_response_is_the_page_the_client_gets(app: Trioframe) -> None:
    response = NotFound("No such book.", headers={"X-Hint": "try /books"}).get_response()
    assert response.status_code == 404
    assert response.headers["X-Hint"] == "try /books"
    assert b"No such book." in await response.get_data()


async def test_views_may_return_werkzeug_s_responses_and_errors(
    app: Trioframe, client: TestClient
) -> None:
    @app.get("/wsgi")
    async def wsgi() -> Any:
        return werkzeug.wrappers.Response("from werkzeug", 201, {"X-From": "werkzeug"})

    @app.get("/streamed")
    async def streamed() -> Any:
        return werkzeug.wrappers.Response(iter([b"a", b"b"]), mimetype="text/plain")

    @app.get("/gone")
    async def gone() -> Any:
        return werkzeug.exceptions.Gone()  # returned, not raised

    @app.get("/teapot")
    async def teapot() -> Any:
        return HTTPException("Short and stout.", code=418)

    plain = await client.get("/wsgi")
    assert (plain.status_code, await plain.get_data()) == (201, b"from werkzeug")
    assert plain.headers["X-From"] == "werkzeug"
    assert await (await client.get("/streamed")).get_data() == b"ab"
    assert (await client.get("/gone")).status_code == 410
    teapot_page = await client.get("/teapot")
    assert teapot_page.status_code == 418
    assert b"Short and stout." in await teapot_page.get_data()


async def test_werkzeug_s_base_class_handles_every_http_error(
    app: Trioframe, client: TestClient
) -> None:
    @app.errorhandler(werkzeug.exceptions.HTTPException)
    async def any_http_error(error: HTTPException) -> tuple[str, int]:
        return f"handled {error.code}", error.code

    @app.get("/teapot")
    async def teapot() -> str:
        abort(418)

    assert await (await client.get("/nowhere")).get_data() == b"handled 404"
    assert await (await client.get("/teapot")).get_data() == b"handled 418"
