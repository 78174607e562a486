"""The ASGI vocabulary trioframe speaks, and the shapes of values user code hands back.

Scopes and the messages trioframe builds are typed as in the ASGI 3 specification. Only the
ASGI edge (``_asgi/``) reads or builds these dicts for the app; everything after it works with
``Request``, ``Websocket`` and ``Response``. `CloseCode` names the websocket close codes.
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
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypeAlias, TypedDict

if TYPE_CHECKING:
    from werkzeug.datastructures import Headers

    from ._response import Response


class CloseCode(IntEnum):
    """The websocket close codes of RFC 6455 (section 7.4.1), by name.

    Any of them (but ``ABNORMAL``, which no endpoint sends) may be passed to
    ``websocket.close()``, as may an application code in 3000-4999; `WebsocketDisconnect`
    reports the code the client closed with.
    """

    NORMAL = 1000  #: the purpose of the connection was fulfilled
    GOING_AWAY = 1001  #: the server is shutting down, or the browser left the page
    PROTOCOL_ERROR = 1002  #: the peer broke the websocket protocol
    UNSUPPORTED_DATA = 1003  #: a message of a type the endpoint cannot take
    ABNORMAL = 1006  #: reported, never sent: the connection was lost without a close frame
    INVALID_DATA = 1007  #: a text message that is not UTF-8, or data of the wrong kind
    POLICY_VIOLATION = 1008  #: the peer broke a rule of the application (or a limit)
    MESSAGE_TOO_BIG = 1009  #: a message over the size limit
    MANDATORY_EXTENSION = 1010  #: the client needs an extension the server did not offer
    INTERNAL_ERROR = 1011  #: the server failed while handling the connection
    SERVICE_RESTART = 1012  #: the server is restarting; reconnect
    TRY_AGAIN_LATER = 1013  #: the server is overloaded; reconnect later
    BAD_GATEWAY = 1014  #: a gateway got a bad answer from upstream


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
#: The scope extension through which the test client keeps a request's context:
#: ``{"keep": callable}``, called with the request context once it is pushed.
PRESERVE_CONTEXT_EXTENSION = "trioframe.preserve_context"

# The raw ASGI boundary: servers pass plain dicts of their own types, so the entry point takes
# any mapping and the handlers narrow it to the TypedDicts above once the scope type is known.
ASGIScope: TypeAlias = Mapping[str, Any]
ASGIReceive: TypeAlias = Callable[[], Awaitable[Any]]
ASGISend: TypeAlias = Callable[[Any], Awaitable[None]]
#: Any ASGI 3 callable, middleware included (their scope types vary).
ASGIApp: TypeAlias = Callable[..., Awaitable[None]]

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
#: ``url_value_preprocessor`` and ``url_defaults`` functions: ``func(endpoint, values)``.
URLValuesCallable: TypeAlias = Callable[[str | None, dict[str, Any] | None], None]
