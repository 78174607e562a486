"""Turn test-client arguments into an ASGI ``http`` scope and a body; plain synchronous code."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import trio
from werkzeug.datastructures import FileStorage, Headers, MultiDict
from werkzeug.test import encode_multipart

from trioframe._asgi._translate import build_request, encode_headers

if TYPE_CHECKING:
    from trioframe._app import Trioframe
    from trioframe._request import Request
    from trioframe._types import HeadersValue, HTTPScope, WebsocketScope

#: The host a test request is addressed to unless its URL or ``SERVER_NAME`` names another.
DEFAULT_HOST = "localhost"
#: The client address the app sees.
CLIENT_ADDRESS = ("127.0.0.1", 50000)

_MISSING: Any = object()
_WEBSOCKET_SCHEME = {"http": "ws", "https": "wss"}
#: What stays as it is when a path is put on the wire: its separators and escapes.
_PATH_SAFE = "/%:@!$&'()*+,;=~"
_HTTP_SCHEME = {"ws": "http", "wss": "https"}

QueryValue = Mapping[str, Any] | MultiDict[str, Any] | Iterable[tuple[str, Any]] | str | bytes
FileValue = (
    FileStorage | IO[bytes] | tuple[IO[bytes] | bytes, str] | tuple[IO[bytes] | bytes, str, str]
)


@dataclass
class TestRequest:
    """Everything needed to send one request to the app."""

    __test__ = False  # not a pytest test class, despite the name

    method: str
    scheme: str
    host: str
    path: str
    query_string: bytes
    headers: Headers
    body: bytes = b""
    root_path: str = ""
    http_version: str = "1.1"
    extensions: dict[str, dict[object, object]] = field(default_factory=dict)
    #: Scope entries that replace what the request would make (Quart's ``scope_base``).
    scope_base: Mapping[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The full URL, for resolving redirects."""
        query = f"?{self.query_string.decode('latin-1')}" if self.query_string else ""
        return f"{self.scheme}://{self.host}{self.root_path}{self.path}{query}"

    @property
    def http_url(self) -> str:
        """The URL with a websocket scheme replaced by its HTTP one, for cookie matching."""
        scheme = _HTTP_SCHEME.get(self.scheme, self.scheme)
        return f"{scheme}://{self.url.partition('://')[2]}"

    def websocket_scope(self, subprotocols: list[str]) -> WebsocketScope:
        """The ASGI scope a server would build for this request as a websocket handshake."""
        scope = self.scope()
        return {
            "type": "websocket",
            "asgi": scope["asgi"],
            "http_version": self.http_version,
            "scheme": _WEBSOCKET_SCHEME.get(self.scheme, self.scheme),
            "path": scope["path"],
            "raw_path": scope["raw_path"],
            "query_string": self.query_string,
            "root_path": self.root_path,
            "headers": scope["headers"],
            "client": CLIENT_ADDRESS,
            "server": scope["server"],
            "subprotocols": subprotocols,
            "extensions": {"websocket.http.response": {}},
        }

    def scope(self) -> HTTPScope:
        """The ASGI scope a server would build for this request."""
        return {
            "type": "http",
            "asgi": {"spec_version": "2.4", "version": "3.0"},
            "http_version": self.http_version,
            "method": self.method,
            "scheme": self.scheme,
            # As a server does: the path percent-decoded, raw_path as it was on the wire.
            "path": unquote(self.root_path + self.path),
            "raw_path": quote(self.root_path + self.path, safe=_PATH_SAFE).encode("ascii"),
            "query_string": self.query_string,
            "root_path": self.root_path,
            "headers": encode_headers(self.headers),
            "client": CLIENT_ADDRESS,
            "server": (self.host.partition(":")[0], _port(self.scheme, self.host)),
            "extensions": self.extensions,
            **self.scope_base,  # type: ignore[typeddict-item]  # the test's own entries
        }


def _port(scheme: str, host: str) -> int:
    _, _, port = host.partition(":")
    if port.isdigit():
        return int(port)
    return 443 if scheme in ("https", "wss") else 80


def encode_query(query_string: QueryValue | None) -> bytes:
    """A query string from a mapping, pairs, or ready-made text."""
    if query_string is None:
        return b""
    if isinstance(query_string, bytes):
        return query_string
    if isinstance(query_string, str):
        return query_string.encode("utf-8")
    if isinstance(query_string, MultiDict):
        pairs: Iterable[tuple[str, Any]] = query_string.items(multi=True)
    elif isinstance(query_string, Mapping):
        pairs = [
            (key, item)
            for key, value in query_string.items()
            for item in (value if isinstance(value, list | tuple) else [value])
        ]
    else:
        pairs = query_string
    return urlencode(list(pairs)).encode("ascii")


def _file_storage(value: FileValue) -> FileStorage:
    if isinstance(value, FileStorage):
        return value
    if isinstance(value, tuple):
        content, filename, *rest = value
        stream = io.BytesIO(content) if isinstance(content, bytes) else content
        return FileStorage(stream, filename, content_type=rest[0] if rest else None)
    return FileStorage(value, getattr(value, "name", None))


def make_test_request(
    app: Trioframe,
    path: str = "/",
    *,
    method: str = "GET",
    query_string: QueryValue | None = None,
    headers: HeadersValue | None = None,
    json: Any = _MISSING,
    form: Mapping[str, Any] | MultiDict[str, Any] | None = None,
    files: Mapping[str, FileValue | list[FileValue]] | None = None,
    data: str | bytes | None = None,
    auth: tuple[str, str] | None = None,
    scheme: str = "http",
    root_path: str = "",
    http_version: str = "1.1",
    scope_base: Mapping[str, Any] | None = None,
    subdomain: str | None = None,
) -> TestRequest:
    """Build a `TestRequest`; a full URL as ``path`` sets the scheme and host too, and
    ``subdomain`` puts the request on that subdomain of ``SERVER_NAME`` (or ``localhost``).

    Raises:
        TypeError: more than one of ``json``, ``form``/``files`` and ``data`` was given,
            or the query is given both in ``path`` and as ``query_string``.
    """
    given = [
        name
        for name, value in (
            ("json", json is not _MISSING),
            ("form/files", form is not None or files is not None),
            ("data", data is not None),
        )
        if value
    ]
    if len(given) > 1:
        raise TypeError(f"Pass only one body argument, not {' and '.join(given)}")
    url = urlsplit(path)
    if url.query and query_string is not None:
        raise TypeError("Give the query either in the path or as query_string=, not both")
    request_headers = Headers(headers) if headers is not None else Headers()
    host = url.netloc or request_headers.get("Host") or app.config["SERVER_NAME"] or DEFAULT_HOST
    if subdomain is not None and not url.netloc:
        host = f"{subdomain}.{app.config['SERVER_NAME'] or DEFAULT_HOST}"
        request_headers["Host"] = host
    request_headers.setdefault("Host", host)
    body = b""
    if json is not _MISSING:
        body = app.json.dumps(json).encode("utf-8")
        request_headers.setdefault("Content-Type", "application/json")
    elif files is not None:
        values: MultiDict[str, Any] = MultiDict(form or {})
        for name, value in files.items():
            for item in value if isinstance(value, list) else [value]:
                values.add(name, _file_storage(item))
        boundary, body = encode_multipart(values)
        request_headers.setdefault("Content-Type", f"multipart/form-data; boundary={boundary}")
    elif form is not None:
        body = encode_query(form)
        request_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif data is not None:
        body = data.encode("utf-8") if isinstance(data, str) else data
    if body and "Transfer-Encoding" not in request_headers:
        request_headers.setdefault("Content-Length", str(len(body)))
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
        request_headers["Authorization"] = f"Basic {token}"
    return TestRequest(
        method=method.upper(),
        scheme=url.scheme or scheme,
        host=host,
        path=url.path or "/",
        query_string=url.query.encode("latin-1") if url.query else encode_query(query_string),
        headers=request_headers,
        body=body,
        root_path=root_path,
        http_version=http_version,
        scope_base=dict(scope_base or {}),
    )


def build_test_request(app: Trioframe, path: str = "/", **kwargs: Any) -> Request:
    """A `Request` for ``test_request_context``, its body already complete."""
    test_request = make_test_request(app, path, **kwargs)
    sender, receiver = trio.open_memory_channel[bytes](1)
    with sender:
        if test_request.body:
            sender.send_nowait(test_request.body)
    return build_request(app, test_request.scope(), receiver)
