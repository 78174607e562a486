"""Every error trioframe raises, in one tree.

::

    TrioframeError
    ├── HTTPException(description, code, headers)   an HTTP error response, raised
    │   ├── BadRequest (400), Unauthorized (401), Forbidden (403), NotFound (404),
    │   │   MethodNotAllowed (405), NotAcceptable (406), RequestTimeout (408),
    │   │   Conflict (409), Gone (410), LengthRequired (411), PreconditionFailed (412),
    │   │   RequestEntityTooLarge (413), UnsupportedMediaType (415),
    │   │   RangeNotSatisfiable (416), UnprocessableEntity (422),
    │   │   UpgradeRequired (426), TooManyRequests (429),
    │   │   InternalServerError (500), ServiceUnavailable (503)
    │   └── RequestRedirect (308)                  routing asks for another URL
    ├── WebsocketDisconnect(code, reason)           the websocket is closed
    ├── SetupError                                  misconfiguration, or setup after serving began
    ├── BuildError                                  url_for could not build a URL
    ├── OutsideContextError (also RuntimeError)     a context global used with no active context
    └── BroadcastError                              the broadcast hub could not deliver
        ├── SlowConsumer                            a subscriber's buffer overflowed (1008)
        ├── BroadcastGap                            messages may have been missed (1012)
        └── BroadcastUnavailable                    the hub's backend cannot be reached

An error with a ``close_code`` (`SlowConsumer`, `BroadcastGap`) that a websocket handler
does not handle closes the websocket with that code, instead of failing it with 1011.

An ``HTTPException`` means the client asked for something it cannot have (it becomes a 4xx
or 5xx response). Each is also werkzeug's exception of the same status, so code written for
Flask catches it, and werkzeug's own are translated into these. The other errors mean the
program is wrong and are raised at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, overload

import werkzeug.exceptions
import werkzeug.routing
from werkzeug.datastructures import Headers
from werkzeug.http import HTTP_STATUS_CODES

from ._types import CloseCode

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ._response import Response
    from ._types import HeadersValue


class TrioframeError(Exception):
    """Base class of every error trioframe raises.

    ``close_code``, when set, is how a websocket whose handler lets the error through after
    accepting is closed, as an expected ending; otherwise the error is a failure (1011).
    """

    close_code: ClassVar[CloseCode | None] = None


class HTTPException(TrioframeError, werkzeug.exceptions.HTTPException):
    """An HTTP error: raising it (or calling `abort`) sends an error response to the client.

    Error handlers registered with ``errorhandler`` receive the instance; ``code``,
    ``name``, ``description`` and ``headers`` describe the response it stands for, and
    `get_response` makes it. Each class is also werkzeug's class of the same status, so
    code written for Flask (``except werkzeug.exceptions.NotFound``) catches it.

    Args:
        description: Text shown to the client; each subclass has a sensible default.
        code: The status code, for the base class only (subclasses fix their own).
        headers: Extra response headers, such as ``WWW-Authenticate`` or ``Retry-After``.

    Attributes:
        code: The status code of the response.
        description: The text of the error page the client gets.
        headers: Extra headers for the error response, a werkzeug ``Headers``.
        response: A complete response to send instead of the generated page (see `abort`),
            or ``None``.
    """

    code: int = 500
    description: str

    def __init__(
        self,
        description: str | None = None,
        *,
        code: int | None = None,
        headers: HeadersValue | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        text = description if description is not None else _default_description(self.code)
        # werkzeug's own classes take other arguments first; its base sets the description.
        werkzeug.exceptions.HTTPException.__init__(self, text)
        self.description = text
        self.headers = Headers(headers) if headers is not None else Headers()
        # trioframe's Response, where werkzeug keeps its WSGI one.
        self.response: Response | None = None

    @property
    def name(self) -> str:
        """The status phrase, such as ``"Not Found"``."""
        return HTTP_STATUS_CODES.get(self.code, "Unknown Error")

    def get_response(  # type: ignore[override]  # trioframe's Response, not werkzeug's WSGI one
        self, environ: object = None, scope: dict[str, Any] | None = None
    ) -> Response:
        """The response this error stands for: ``response`` if `abort` was given one, else
        the error page with ``headers``, as the app would send it (arguments, werkzeug's,
        are ignored)."""
        from ._response import Response, http_exception_response

        return http_exception_response(self, Response)


class BadRequest(HTTPException, werkzeug.exceptions.BadRequest):
    """400: the request is malformed."""

    code = 400


class Unauthorized(HTTPException, werkzeug.exceptions.Unauthorized):
    """401: credentials are missing or wrong."""

    code = 401


class Forbidden(HTTPException, werkzeug.exceptions.Forbidden):
    """403: the client may not have this."""

    code = 403


class NotFound(HTTPException, werkzeug.exceptions.NotFound):
    """404: nothing is served at this URL."""

    code = 404


class MethodNotAllowed(HTTPException, werkzeug.exceptions.MethodNotAllowed):
    """405: the URL exists but not for this method; ``Allow`` lists the methods that are."""

    code = 405

    def __init__(
        self,
        valid_methods: Iterable[str] = (),
        description: str | None = None,
        *,
        headers: HeadersValue | None = None,
    ) -> None:
        super().__init__(description, headers=headers)
        self.valid_methods = sorted(valid_methods)
        if self.valid_methods:
            self.headers["Allow"] = ", ".join(self.valid_methods)


class NotAcceptable(HTTPException, werkzeug.exceptions.NotAcceptable):
    """406: no representation matches the client's ``Accept`` headers."""

    code = 406


class RequestTimeout(HTTPException, werkzeug.exceptions.RequestTimeout):
    """408: the client took too long to send its request."""

    code = 408


class Conflict(HTTPException, werkzeug.exceptions.Conflict):
    """409: the request conflicts with the resource's current state."""

    code = 409


class Gone(HTTPException, werkzeug.exceptions.Gone):
    """410: the resource existed but has been removed for good."""

    code = 410


class LengthRequired(HTTPException, werkzeug.exceptions.LengthRequired):
    """411: the request needs a ``Content-Length``."""

    code = 411


class PreconditionFailed(HTTPException, werkzeug.exceptions.PreconditionFailed):
    """412: a conditional header did not hold."""

    code = 412


class RequestEntityTooLarge(HTTPException, werkzeug.exceptions.RequestEntityTooLarge):
    """413: the body (or a form part) is over a configured limit."""

    code = 413


class UnsupportedMediaType(HTTPException, werkzeug.exceptions.UnsupportedMediaType):
    """415: the body's content type is not one the view accepts."""

    code = 415


class RangeNotSatisfiable(HTTPException, werkzeug.exceptions.RequestedRangeNotSatisfiable):
    """416: the ``Range`` header asks for bytes the resource does not have, or is malformed.

    Args:
        description: Text shown to the client.
        length: The resource's length, sent as ``Content-Range: bytes */<length>``.
    """

    code = 416

    def __init__(self, description: str | None = None, *, length: int | None = None) -> None:
        headers = {"Content-Range": f"bytes */{length}"} if length is not None else None
        super().__init__(description, headers=headers)
        self.length = length


class UnprocessableEntity(HTTPException, werkzeug.exceptions.UnprocessableEntity):
    """422: the body is well-formed but its content is invalid."""

    code = 422


class UpgradeRequired(HTTPException):
    """426: the URL serves websockets; a plain HTTP request cannot use it."""

    code = 426


class TooManyRequests(HTTPException, werkzeug.exceptions.TooManyRequests):
    """429: the client is being rate limited."""

    code = 429


class InternalServerError(HTTPException, werkzeug.exceptions.InternalServerError):
    """500: the application failed; ``original_exception`` holds what it raised, if anything."""

    code = 500

    def __init__(
        self,
        description: str | None = None,
        *,
        original_exception: BaseException | None = None,
        headers: HeadersValue | None = None,
    ) -> None:
        super().__init__(description, headers=headers)
        self.original_exception = original_exception


class ServiceUnavailable(HTTPException, werkzeug.exceptions.ServiceUnavailable):
    """503: the server cannot handle the request right now."""

    code = 503


class RequestRedirect(HTTPException, werkzeug.routing.RequestRedirect):  # type: ignore[misc]  # get_response: see HTTPException
    """308: routing found the resource at another URL (for example with a trailing slash)."""

    code = 308

    def __init__(self, new_url: str) -> None:
        super().__init__(f"The resource has moved to {new_url}.", headers={"Location": new_url})
        self.new_url = new_url


class WebsocketDisconnect(TrioframeError):
    """The websocket is closed: the client left, or the app closed it.

    ``receive()`` and ``send()`` raise it once the connection is closed. A handler that lets
    it escape (alone, or in an ``ExceptionGroup`` from its own nursery) ends normally.

    Args:
        code: The close code (1000 is a normal closure, 1006 a connection lost without one).
        reason: The close reason, if one was given.
    """

    def __init__(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        super().__init__(f"websocket closed with code {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason


class SetupError(TrioframeError):
    """The application is misconfigured, or was changed after it began serving."""


class BroadcastError(TrioframeError):
    """The broadcast hub could not deliver a message, or publish one."""


class SlowConsumer(BroadcastError):
    """A subscriber's buffer was full when a message arrived (``BROADCAST_OVERFLOW`` is
    ``"close"``): it fell too far behind and its subscription ended."""

    close_code = CloseCode.POLICY_VIOLATION


class BroadcastGap(BroadcastError):
    """The hub lost its backend connection and got it back; messages published meanwhile
    may be missing. Resynchronise (a browser reconnects on the websocket's 1012)."""

    close_code = CloseCode.SERVICE_RESTART


class BroadcastUnavailable(BroadcastError):
    """The hub's backend could not be reached in time to publish; nothing was queued."""


class BuildError(TrioframeError, LookupError):
    """``url_for`` could not build a URL for the endpoint and values it was given."""

    def __init__(self, message: str, *, endpoint: str, values: Mapping[str, object]) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.values = dict(values)


class OutsideContextError(TrioframeError, RuntimeError):
    """A context global (``request``, ``g``, ``current_app``) was used with no active context."""


_ERROR_CLASSES: tuple[type[HTTPException], ...] = (
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    NotAcceptable,
    RequestTimeout,
    Conflict,
    Gone,
    LengthRequired,
    PreconditionFailed,
    RequestEntityTooLarge,
    UnsupportedMediaType,
    RangeNotSatisfiable,
    UnprocessableEntity,
    UpgradeRequired,
    TooManyRequests,
    InternalServerError,
    ServiceUnavailable,
)
_CLASS_FOR_CODE: dict[int, type[HTTPException]] = {cls.code: cls for cls in _ERROR_CLASSES}
_FALLBACK_DESCRIPTION = "The server could not complete the request."


def _default_description(code: int) -> str:
    # werkzeug already words a description for each standard status; reuse it.
    werkzeug_class = werkzeug.exceptions.default_exceptions.get(code)
    if werkzeug_class is not None and werkzeug_class.description:
        return werkzeug_class.description
    return _FALLBACK_DESCRIPTION


def strip_disconnects(error: Exception) -> Exception | None:
    """``error`` without its `WebsocketDisconnect` parts; ``None`` if that was all it held.

    A disconnect is how a websocket normally ends, so it is never treated as a failure,
    even inside a group from the handler's own nursery.
    """
    if isinstance(error, ExceptionGroup):
        _, rest = error.split(WebsocketDisconnect)
        return rest
    return None if isinstance(error, WebsocketDisconnect) else error


def http_exception_for(code: int, description: str | None = None) -> HTTPException:
    """Return the most specific ``HTTPException`` for an error status code."""
    error_class = _CLASS_FOR_CODE.get(code)
    if error_class is None:
        return HTTPException(description, code=code)
    return error_class(description)


def from_werkzeug(error: werkzeug.exceptions.HTTPException) -> HTTPException:
    """Translate an exception raised by werkzeug (or by code written for Flask) into ours."""
    if isinstance(error, werkzeug.exceptions.MethodNotAllowed):
        return MethodNotAllowed(error.valid_methods or (), error.description)
    new_url = getattr(error, "new_url", None)
    if isinstance(new_url, str):
        return RequestRedirect(new_url)
    return http_exception_for(error.code or 500, error.description)


@overload
def abort(
    status: int,
    description: str | None = None,
    *,
    headers: HeadersValue | None = None,
) -> NoReturn: ...
@overload
def abort(status: Response) -> NoReturn: ...
def abort(
    status: int | Response,
    description: str | None = None,
    *,
    headers: HeadersValue | None = None,
) -> NoReturn:
    """Stop handling the request and send an error response instead.

    ``abort(404)`` raises `NotFound`; ``abort(403, "Members only")`` sets the text the client
    sees. Error handlers registered for the code or class run as for any raised error.
    ``abort(response)`` sends that exact `Response`.

    Args:
        status: An error status code (400-599), or a complete `Response`.
        description: The text of the error page.
        headers: Extra headers for the error response.

    Raises:
        HTTPException: always; the most specific subclass for the code.
        ValueError: ``status`` is not an error code: redirect with `redirect` instead.
    """
    if not isinstance(status, int):
        error = HTTPException(code=status.status_code)
        error.response = status
        raise error
    if not 400 <= status <= 599:
        raise ValueError(
            f"abort() needs an error status between 400 and 599, not {status}; "
            "to send the client elsewhere, return redirect(location) instead"
        )
    error = http_exception_for(status, description)
    if headers is not None:
        error.headers.extend(Headers(headers))
    raise error
