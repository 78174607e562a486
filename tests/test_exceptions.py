"""The error tree, by direct calls: status codes, descriptions, werkzeug's exceptions
translated, ``abort``."""

from __future__ import annotations

import pytest
import werkzeug.exceptions

from trioframe import (
    BadRequest,
    Forbidden,
    HTTPException,
    MethodNotAllowed,
    NotFound,
    RequestRedirect,
    Response,
    TrioframeError,
    Unauthorized,
    abort,
)
from trioframe._concurrency import unwrap_exception_group
from trioframe._exceptions import from_werkzeug


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
