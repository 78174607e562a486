"""``Response``, and how a view's return value becomes one.

Coercion (`coerce_response`) is plain synchronous code: it never touches the network.
The HTTP handler sends the result, streaming bodies chunk by chunk with backpressure.
"""

from __future__ import annotations

import html
import json
import traceback
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterator,
    Mapping,
)
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, Self, overload

import trio
import werkzeug.exceptions
import werkzeug.wrappers
from werkzeug.datastructures import Headers
from werkzeug.http import generate_etag
from werkzeug.sansio.response import Response as _SansIOResponse
from werkzeug.urls import iri_to_uri
from werkzeug.utils import get_content_type

from ._concurrency import bounded_cleanup
from ._conditional import make_conditional
from ._context import current_app, current_request_context, has_app_context
from ._exceptions import BadRequest, HTTPException, from_werkzeug
from ._streaming import BodyIterator, BodyProducer, BodySource, produced

if TYPE_CHECKING:
    import logging

    from ._request import BaseRequestWebsocket
    from ._types import HeadersValue, StatusValue


class Response(_SansIOResponse):
    """An HTTP response: status, headers and a body that is either bytes or a stream.

    A ``str`` or ``bytes`` body is sent at once with a ``Content-Length``. Anything iterable
    (an async generator, an async iterator, or a plain iterator) is a streaming body, sent
    chunk by chunk as the client reads it; if the client disconnects, the stream is
    cancelled and closed. Status, headers and cookies work as in Flask (``set_cookie``,
    ``delete_cookie``, ``mimetype``, ``location``, ...).

    Args:
        response: The body: ``str`` (sent as UTF-8), ``bytes``, or an iterable of either.
        status: A status code, or a status line such as ``"201 CREATED"``.
        headers: Response headers.
        mimetype: The mimetype; ``text/`` types get ``charset=utf-8`` added.
        content_type: The full ``Content-Type``, overriding ``mimetype``.

    """

    default_mimetype = "text/html"
    # The Content-Type of a response `whole` made whose headers nothing has used yet; the
    # werkzeug Headers are made from it (and the body's length) on first use.
    _lazy_content_type: str | None = None
    _headers: Headers

    @classmethod
    def whole(cls, body: bytes, content_type: str) -> Self:
        """A ``200`` response with ``body`` in memory, whose ``Content-Type`` and
        ``Content-Length`` headers are made only if something reads or changes them: the
        response a view's ``str``, ``bytes``, ``dict`` or ``list`` becomes. A subclass with
        an ``__init__`` of its own is made through it."""
        if cls.__init__ is not Response.__init__:
            return cls(body, content_type=content_type)
        response = cls.__new__(cls)
        response._status, response._status_code = "200 OK", 200
        response._data, response._stream = body, None
        response._lazy_content_type = content_type
        return response

    @property
    def headers(self) -> Headers:
        """The response headers, a werkzeug ``Headers``; ``after_request`` functions may
        change them."""
        content_type = self._lazy_content_type
        if content_type is not None:
            assert self._data is not None  # made by `whole`, with its body
            self._headers = Headers(
                [("Content-Type", content_type), ("Content-Length", str(len(self._data)))]
            )
            self._lazy_content_type = None
        return self._headers

    @headers.setter
    def headers(self, value: Headers) -> None:
        self._headers = value
        self._lazy_content_type = None

    @property
    def untouched_headers(self) -> tuple[str, int] | None:
        """The ``Content-Type`` and ``Content-Length`` of a response `whole` made whose
        headers nothing has used, which a sender may send as they are; else ``None``."""
        content_type = self._lazy_content_type
        if content_type is None or self._data is None:
            return None
        return content_type, len(self._data)

    def __init__(
        self,
        response: str | bytes | bytearray | BodySource | BodyProducer | None = None,
        status: StatusValue | None = None,
        headers: HeadersValue | None = None,
        mimetype: str | None = None,
        content_type: str | None = None,
    ) -> None:
        super().__init__(status, headers, mimetype, content_type)
        self._data: bytes | None = None
        self._stream: BodySource | BodyProducer | None = None
        if response is None:
            self.set_data(b"")
        elif isinstance(response, str | bytes | bytearray):
            self.set_data(response)
        else:
            self._stream = response

    @property
    def is_streamed(self) -> bool:
        """Whether the body is a stream that has not been read into memory."""
        return self._stream is not None

    @property
    def data(self) -> bytes:
        """The body, when it is in memory.

        Raises:
            RuntimeError: the body is a stream; read it with ``await get_data()``.
        """
        if self._data is None:
            raise RuntimeError("The response body is a stream; read it with await get_data()")
        return self._data

    @data.setter
    def data(self, value: str | bytes | bytearray) -> None:
        self.set_data(value)

    def set_data(self, value: str | bytes | bytearray) -> None:
        """Replace the body with ``value`` (``str`` is encoded as UTF-8) and set its length."""
        data = value.encode() if isinstance(value, str) else bytes(value)
        self._data = data
        self._stream = None
        self.headers["Content-Length"] = str(len(data))

    @overload
    async def get_data(self, as_text: Literal[False] = False) -> bytes: ...
    @overload
    async def get_data(self, as_text: Literal[True]) -> str: ...
    async def get_data(self, as_text: bool = False) -> bytes | str:
        """Return the body; a stream is read to the end and kept as bytes.

        Args:
            as_text: Decode as UTF-8 (invalid bytes replaced) and return ``str``.
        """
        if self._data is None:
            async with self.open_body() as body:
                chunks = [chunk async for chunk in body]
            self.set_data(b"".join(chunks))
        else:
            await trio.lowlevel.checkpoint()
        assert self._data is not None
        return self._data.decode("utf-8", "replace") if as_text else self._data

    async def get_json(self, force: bool = False, silent: bool = False) -> Any:
        """Parse the body as JSON, as the test client's callers usually want.

        Args:
            force: Parse even if the ``Content-Type`` is not JSON.
            silent: Return ``None`` instead of raising when the body is not JSON.

        Raises:
            BadRequest: the body is not JSON.
        """
        if not (force or self.is_json):
            if silent:
                await trio.lowlevel.checkpoint()
                return None
            raise BadRequest(f"The response is {self.mimetype!r}, not JSON.")
        data = await self.get_data()
        try:
            return current_app.json.loads(data) if has_app_context() else json.loads(data)
        except ValueError as error:
            if silent:
                return None
            raise BadRequest(f"Failed to decode the JSON response: {error}.") from None

    async def make_conditional(
        self,
        request: BaseRequestWebsocket | None = None,
        accept_ranges: bool | str = False,
        complete_length: int | None = None,
    ) -> Response:
        """Answer the request's ``If-*`` and ``Range`` headers with this response, as Flask's
        and Quart's method does: ``304`` or ``412`` without a body, or ``206`` with the byte
        range asked for when ``accept_ranges`` (several ranges get the whole body). Uses the
        response's ``ETag`` and ``Last-Modified`` (see `add_etag`).

        Args:
            request: The request; the current one by default.
            accept_ranges: Answer ``Range`` requests, and say so in ``Accept-Ranges``
                (``True`` for ``bytes``, or the unit to name).
            complete_length: The full length, if the body is only part of it.

        Returns:
            This response, changed in place.

        Raises:
            RangeNotSatisfiable: the ``Range`` header is malformed or asks for nothing in
                the body (416).
        """
        return await make_conditional(
            self,
            request if request is not None else current_request_context().request,
            accept_ranges,
            complete_length,
        )  # fmt: skip

    async def add_etag(self, overwrite: bool = False, weak: bool = False) -> None:
        """Set ``ETag`` to a hash of the body (read whole if it is a stream), unless the
        response has one already and ``overwrite`` is false."""
        if overwrite or "ETag" not in self.headers:
            self.set_etag(generate_etag(await self.get_data()), weak)
        else:
            await trio.lowlevel.checkpoint()

    def iter_body(self) -> BodyIterator:
        """The body as bytes chunks. Call ``aclose()`` on the result when done with it.

        Raises:
            TypeError: the body is a `BodyProducer`, which only `open_body` can run.
        """
        if self._stream is None:
            return BodyIterator([self._data or b""])
        if isinstance(self._stream, BodyProducer):
            raise TypeError("This body is made by a task; read it with 'async with open_body()'")
        return BodyIterator(self._stream)

    @asynccontextmanager
    async def open_body(
        self, logger: logging.Logger | None = None
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """The body as bytes chunks, for the ``async with`` block.

        A stream is closed when the block ends, so its ``finally`` blocks run even when the
        block is cancelled (shielded, for up to five seconds; ``logger`` hears
        of one that takes longer). A `BodyProducer` runs in a task for the block's length.
        """
        if isinstance(self._stream, BodyProducer):
            async with produced(self._stream) as chunks:
                yield chunks
            return
        body = self.iter_body()
        try:
            yield body
        finally:
            with bounded_cleanup(
                "body close", logger, "A streaming response body took over %s s to close"
            ):
                await body.aclose()

    async def close_body(self, logger: logging.Logger | None = None) -> None:
        """Close a stream that will not be read (the reply to ``HEAD``), as `open_body`
        would; a `BodyProducer` is simply never started."""
        if self._stream is None or isinstance(self._stream, BodyProducer):
            await trio.lowlevel.checkpoint()
            return
        async with self.open_body(logger):
            pass


def coerce_response(
    rv: object,
    *,
    response_class: type[Response],
    json_response: Callable[[Any], Response],
) -> Response:
    """Turn what a view returned into a `Response`, as Flask and Quart do.

    Accepted: a `Response` (or werkzeug's); an `HTTPException` (or werkzeug's), for its
    error page; ``str`` or ``bytes`` (``text/html``); ``dict`` or ``list`` (JSON); an async
    iterable or an iterator (streamed); or a tuple ``(body, status)``, ``(body, headers)``
    or ``(body, status, headers)`` of those.

    Raises:
        TypeError: the value is none of these; the message says what is allowed.
    """
    status: StatusValue | None = None
    headers: HeadersValue | None = None
    if isinstance(rv, tuple):
        if len(rv) == 3:
            rv, status, headers = rv
        elif len(rv) == 2:
            if isinstance(rv[1], Headers | Mapping | tuple | list):
                rv, headers = rv
            else:
                rv, status = rv
        else:
            raise TypeError(
                f"A view returned a tuple of {len(rv)} items; return (body, status), "
                "(body, headers) or (body, status, headers)"
            )
        _check_tuple_parts(status, headers)
    if isinstance(rv, Response):
        response = rv
    elif isinstance(rv, str | bytes | bytearray):
        data = rv.encode() if isinstance(rv, str) else bytes(rv)
        response = response_class.whole(data, _default_content_type(response_class))
    elif isinstance(rv, Mapping | list):
        response = json_response(rv)
    elif isinstance(rv, AsyncIterable | Iterator):
        response = response_class(rv)
    elif isinstance(rv, werkzeug.exceptions.HTTPException):
        # Returned rather than raised, as Flask and Quart allow.
        error = rv if isinstance(rv, HTTPException) else from_werkzeug(rv)
        response = http_exception_response(error, response_class)
    elif isinstance(rv, werkzeug.wrappers.Response):
        # werkzeug's own (WSGI) response, from code written for Flask.
        body = rv.response if rv.is_streamed else rv.get_data()
        response = response_class(body, rv.status, Headers(rv.headers))
    elif rv is None:
        raise TypeError(
            "A view returned None (or ended without a return statement); it must return a "
            "response: a str, bytes, dict, list, Response or async generator"
        )
    else:
        raise TypeError(
            f"A view returned a {type(rv).__name__}, which is not a valid response; return a "
            "str, bytes, dict, list, Response or async generator, or a tuple of one with a "
            "status and/or headers"
        )
    if status is not None:
        response.status = status
    if headers:
        response.headers.update(headers)
    return response


def _default_content_type(response_class: type[Response]) -> str:
    """The ``Content-Type`` a response class gives a body without one."""
    return get_content_type(response_class.default_mimetype, "utf-8")


def _check_tuple_parts(status: object, headers: object) -> None:
    """Refuse a response tuple whose status or headers are of the wrong kind.

    Raises:
        TypeError: which part is wrong, and the shapes that are valid.
    """
    shapes = (
        "return (body, status), (body, headers) or (body, status, headers), with an int or "
        "str status such as 201 or '201 CREATED' and headers as a dict or a list of pairs"
    )
    if status is not None and not isinstance(status, int | str):
        raise TypeError(
            f"A view returned a tuple whose status is of type {type(status).__name__}; " + shapes
        )
    if headers is not None and not isinstance(headers, Headers | Mapping | tuple | list):
        raise TypeError(
            f"A view returned a tuple whose headers are of type {type(headers).__name__}; " + shapes
        )


def http_exception_response(error: HTTPException, response_class: type[Response]) -> Response:
    """The default response for an `HTTPException`: a short HTML page, no internals."""
    if error.response is not None:
        return error.response
    name = html.escape(error.name)
    body = (
        f"<!doctype html>\n<html lang=en>\n<title>{error.code} {name}</title>\n"
        f"<h1>{name}</h1>\n<p>{html.escape(error.description)}</p>\n"
    )
    return response_class(body, error.code, Headers(error.headers))


def debug_response(error: BaseException, response_class: type[Response]) -> Response:
    """A 500 page showing ``error``'s traceback, for ``DEBUG`` only: it shows the code
    and values of the app to whoever sees the page."""
    trace = "".join(traceback.format_exception(error))
    body = (
        "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error (debug)</title>\n"
        f"<h1>{html.escape(type(error).__name__)}: {html.escape(str(error))}</h1>\n"
        "<p>This page shows because DEBUG is on; with DEBUG off, clients get a plain "
        "500 page and the traceback goes to the log only.</p>\n"
        f"<pre>{html.escape(trace)}</pre>\n"
    )
    return response_class(body, 500)


def redirect(location: str, code: int = 302) -> Response:
    """Return a response that sends the client to ``location``.

    Args:
        location: The target URL, absolute or relative; non-ASCII characters are encoded.
        code: 301, 302 (the default), 303, 307 or 308.
    """
    target = iri_to_uri(location)
    link = html.escape(target)
    body = (
        "<!doctype html>\n<html lang=en>\n<title>Redirecting</title>\n"
        f'<p>Redirecting to <a href="{link}">{link}</a>.</p>\n'
    )
    response_class = current_app.response_class if has_app_context() else Response
    return response_class(body, code, {"Location": target})


def jsonify(*args: Any, **kwargs: Any) -> Response:
    """Return a JSON response: ``jsonify(value)``, ``jsonify(a, b)`` (a list), ``jsonify(k=v)``.

    Uses ``current_app.json``, so it needs an active application context.
    """
    return current_app.json.response(*args, **kwargs)


async def make_response(*args: Any) -> Response:
    """Build a `Response` from anything a view may return, to change it before returning.

    ``await make_response("Created", 201)`` takes the same values as a view's return value;
    with no arguments it returns an empty response. Needs an active application context.
    """
    if not args:
        await trio.lowlevel.checkpoint()
        return current_app.response_class()
    return await current_app.make_response(args[0] if len(args) == 1 else args)
