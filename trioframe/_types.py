"""The ASGI vocabulary trioframe speaks, and the shapes of values user code hands back.

Scopes and the messages trioframe builds are typed as in the ASGI 3 specification. Only the
connection handlers (``_http_handler``, ``_websocket_handler``, ``_lifespan``) read or build
these dicts; everything after them works with ``Request``, ``Websocket`` and ``Response``.
"""

from __future__ import annotations

from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypeAlias, TypedDict

if TYPE_CHECKING:
    from werkzeug.datastructures import Headers

    from ._response import Response


class ASGIVersions(TypedDict):
    spec_version: str
    version: Literal["3.0"]


class HTTPScope(TypedDict):
    type: Literal["http"]
    asgi: ASGIVersions
    http_version: str
    method: str
    scheme: str
    path: str
    raw_path: NotRequired[bytes]
    query_string: bytes
    root_path: str
    headers: Iterable[tuple[bytes, bytes]]
    client: tuple[str, int] | None
    server: tuple[str, int | None] | None
    state: NotRequired[dict[str, Any]]
    extensions: NotRequired[dict[str, dict[object, object]]]


class WebsocketScope(TypedDict):
    type: Literal["websocket"]
    asgi: ASGIVersions
    http_version: str
    scheme: str
    path: str
    raw_path: NotRequired[bytes]
    query_string: bytes
    root_path: str
    headers: Iterable[tuple[bytes, bytes]]
    client: tuple[str, int] | None
    server: tuple[str, int | None] | None
    subprotocols: Iterable[str]
    state: NotRequired[dict[str, Any]]
    extensions: NotRequired[dict[str, dict[object, object]]]


class LifespanScope(TypedDict):
    type: Literal["lifespan"]
    asgi: ASGIVersions
    state: NotRequired[dict[str, Any]]


class WebsocketAcceptEvent(TypedDict):
    type: Literal["websocket.accept"]
    subprotocol: str | None
    headers: Iterable[tuple[bytes, bytes]]


class WebsocketSendEvent(TypedDict):
    type: Literal["websocket.send"]
    bytes: bytes | None
    text: str | None


class WebsocketCloseEvent(TypedDict):
    type: Literal["websocket.close"]
    code: int
    reason: str


class LifespanStartupCompleteEvent(TypedDict):
    type: Literal["lifespan.startup.complete"]


class LifespanStartupFailedEvent(TypedDict):
    type: Literal["lifespan.startup.failed"]
    message: str


class LifespanShutdownFailedEvent(TypedDict):
    type: Literal["lifespan.shutdown.failed"]
    message: str


class LifespanShutdownCompleteEvent(TypedDict):
    type: Literal["lifespan.shutdown.complete"]


#: The ASGI extension trioframe's own server adds to ``http`` scopes: its ``"send"`` is an
#: async function that sends the ``100 Continue`` a client may wait for before its body.
CONTINUE_EXTENSION = "trioframe.continue"

# The raw ASGI boundary: servers pass plain dicts of their own types, so the entry point takes
# any mapping and the handlers narrow it to the TypedDicts above once the scope type is known.
ASGIScope: TypeAlias = Mapping[str, Any]
ASGIReceive: TypeAlias = Callable[[], Awaitable[Any]]
ASGISend: TypeAlias = Callable[[Any], Awaitable[None]]

# What a view, a hook or an error handler may return.
HeadersValue: TypeAlias = "Headers | Mapping[str, str | Iterable[str]] | Iterable[tuple[str, str]]"
StatusValue: TypeAlias = int | str
ResponseBody: TypeAlias = (
    "Response | str | bytes | Mapping[str, Any] | list[Any]"
    " | AsyncIterable[str | bytes] | Iterator[str | bytes]"
)
ResponseReturnValue: TypeAlias = (
    "ResponseBody | tuple[ResponseBody, StatusValue]"
    " | tuple[ResponseBody, HeadersValue]"
    " | tuple[ResponseBody, StatusValue, HeadersValue]"
)

# Registered callables: each may be a coroutine function or a plain function (run in a thread).
ViewCallable: TypeAlias = Callable[..., Awaitable[Any]] | Callable[..., Any]
WebsocketHandlerCallable: TypeAlias = Callable[..., Awaitable[Any]]
BeforeRequestCallable: TypeAlias = Callable[[], Awaitable[Any]] | Callable[[], Any]
AfterRequestCallable: TypeAlias = (
    "Callable[[Response], Awaitable[Response]] | Callable[[Response], Response]"
)
AfterWebsocketCallable: TypeAlias = (
    "Callable[[Response | None], Awaitable[Response | None]]"
    " | Callable[[Response | None], Response | None]"
)
TeardownCallable: TypeAlias = (
    Callable[[BaseException | None], Awaitable[None]] | Callable[[BaseException | None], None]
)
ServingCallable: TypeAlias = Callable[[], Awaitable[None]] | Callable[[], None]
WhileServingCallable: TypeAlias = Callable[[], AsyncIterator[None]]
ErrorHandlerCallable: TypeAlias = Callable[[Any], Awaitable[Any]] | Callable[[Any], Any]
TemplateContextProcessor: TypeAlias = (
    Callable[[], Awaitable[dict[str, Any]]] | Callable[[], dict[str, Any]]
)
