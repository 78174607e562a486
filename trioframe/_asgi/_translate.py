"""ASGI dicts to trioframe's wrappers and back: plain synchronous code, plus one sender.

- `decode_headers` and `encode_headers` are the one header codec: ASGI carries header
  names and values as latin-1 bytes, names lower-case; werkzeug's `Headers` holds text.
- `build_request` and `build_websocket` turn a scope into a `Request` or `Websocket`.
- `send_response` sends a `Response` as ASGI messages, for a request or as a websocket's
  denial.
"""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

import trio
from werkzeug.datastructures import Headers
from werkzeug.sansio.utils import get_content_length

from trioframe._exceptions import NotFound
from trioframe._request import Body
from trioframe._types import CONTINUE_EXTENSION
from trioframe._websocket import Websocket

if TYPE_CHECKING:
    import logging
    from collections.abc import Awaitable, Callable, Iterable

    from trioframe._app import Trioframe
    from trioframe._request import Request
    from trioframe._response import Response
    from trioframe._types import ASGISend, HTTPScope, WebsocketScope
    from trioframe._websocket import WebsocketTransport


#: A request target in absolute form: a scheme, then ``://``.
_ABSOLUTE_FORM = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def decode_headers(raw: Iterable[tuple[bytes, bytes]]) -> Headers:
    """ASGI's header pairs as werkzeug `Headers`, in their order."""
    return Headers([(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw])


def encode_headers(headers: Headers) -> list[tuple[bytes, bytes]]:
    """Headers as ASGI wants them: lower-case names, both as latin-1 bytes."""
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    ]


def scope_details(
    scope: HTTPScope | WebsocketScope,
) -> tuple[str | None, str, str, str | None, bool]:
    """What an ``http`` or ``websocket`` scope says of its request besides the headers: the
    host an absolute-form target names (which wins over the ``Host`` header), the root
    path, the path below it (the whole path for one outside it), the client's address, and
    whether the path lies outside the mount point (``root_path``), where nothing is the
    app's: it gets 404 without routing, as in Quart.

    A plain tuple, not a named one: this runs for every request.
    """
    root_path = scope.get("root_path", "")
    path = scope["path"]
    target_host = None
    if not path.startswith("/") and _ABSOLUTE_FORM.match(path):
        # RFC 9112 3.2.2: a target such as http://example.com/path names the host itself,
        # and it wins over the Host header. Servers pass the whole target on as the path.
        target = urlsplit(path)
        path = target.path or "/"
        target_host = target.netloc
    # ASGI puts the mount point in both root_path and path; routing wants the part after it.
    mount = root_path.rstrip("/")
    outside_root = False
    if mount:
        if path == mount or path.startswith(f"{mount}/"):
            path = path[len(mount) :]
        else:
            outside_root = True
    client = scope.get("client")
    return target_host, root_path, path, client[0] if client else None, outside_root


def _headers(raw: Iterable[tuple[bytes, bytes]], target_host: str | None) -> Headers:
    """The request's headers, with the host an absolute-form target names."""
    headers = decode_headers(raw)
    if target_host is not None:
        headers["Host"] = target_host
    return headers


def build_request(
    app: Trioframe,
    scope: HTTPScope,
    chunks: trio.MemoryReceiveChannel[bytes] | Callable[[], trio.MemoryReceiveChannel[bytes]],
) -> Request:
    """Translate an ``http`` scope into a request whose body is read from ``chunks`` (or
    from the channel it makes, when the body is first read).

    Its headers are decoded when first used: routing and the body need only three of them,
    picked out of the server's pairs here.
    """
    target_host, root_path, path, remote_addr, outside_root = scope_details(scope)
    raw_headers = scope["headers"]
    host = length = encoding = None
    for name, value in raw_headers:
        name = name.lower()  # ASGI asks servers for lower-case names; not all comply
        if name == b"host":
            if host is None:
                host = value.decode("latin-1")
        elif name == b"content-length":
            if length is None:
                length = value.decode("latin-1")
        elif name == b"transfer-encoding" and encoding is None:
            encoding = value.decode("latin-1")
    body = Body(
        chunks,
        content_length=get_content_length(length, encoding),
        max_length=app.config["MAX_CONTENT_LENGTH"],
        timeout=app.config["BODY_TIMEOUT"],
        before_first_read=_continue_sender(scope),
    )
    request = app.request_class(
        scope["method"],
        scope.get("scheme", "http"),
        scope.get("server"),
        root_path,
        path,
        scope.get("query_string", b""),
        partial(_headers, raw_headers, target_host),
        remote_addr,
        host_header=target_host if target_host is not None else host,
        body=body,
        http_version=scope.get("http_version", "1.1"),
        max_form_memory_size=app.config["MAX_FORM_MEMORY_SIZE"],
        max_form_parts=app.config["MAX_FORM_PARTS"],
        json_loads=app.json.loads,
        json_loads_in_pieces=app.json.loads_in_pieces,
        json_piecewise_threshold=app.config["JSON_PIECEWISE_THRESHOLD"],
    )
    request.scope = scope
    if outside_root:
        request.routing_exception = NotFound()
    return request


def _continue_sender(scope: HTTPScope) -> Callable[[], Awaitable[None]] | None:
    """How to send the ``100 Continue`` a client may wait for, where the server lets the app
    choose when (trioframe's own server does, and sends nothing to a client that does not
    wait for it; other servers send it on their own)."""
    extension = scope.get("extensions", {}).get(CONTINUE_EXTENSION)
    return None if extension is None else cast("Callable[[], Awaitable[None]]", extension["send"])


def build_websocket(
    app: Trioframe,
    scope: WebsocketScope,
    transport: WebsocketTransport,
    inbound: trio.MemoryReceiveChannel[str | bytes],
) -> Websocket:
    """Translate a ``websocket`` scope into a `Websocket` fed from ``inbound``."""
    target_host, root_path, path, remote_addr, outside_root = scope_details(scope)
    headers = _headers(scope["headers"], target_host)
    websocket = Websocket(
        scope.get("scheme", "ws"),
        scope.get("server"),
        root_path,
        path,
        scope.get("query_string", b""),
        headers,
        remote_addr,
        subprotocols=list(scope.get("subprotocols", [])),
        transport=transport,
        inbound=inbound,
        http_version=scope.get("http_version", "1.1"),
        json_loads=app.json.loads,
        json_dumps=app.json.dumps,
    )
    websocket.scope = scope
    if outside_root:
        websocket.routing_exception = NotFound()
    return websocket


async def send_response(
    send: ASGISend,
    response: Response,
    *,
    head: bool,
    logger: logging.Logger,
    message_prefix: str = "http",
    before_last: Callable[[], None] | None = None,
    server_send: ASGISend | None = None,
) -> None:
    """Send ``response`` over ASGI; a streaming body is pulled as fast as ``send`` returns.

    For ``HEAD`` only the status and headers go out, and a stream is closed unread. Closing
    a stream is shielded but bounded; ``logger`` hears about one that would not close.
    ``message_prefix`` is ``"websocket.http"`` for a websocket denial response.
    ``before_last`` is called just before the message that completes the response.

    ``send`` is a checkpoint each time. A whole (not streamed) response takes two
    messages, one right after the other: given the server's own ``server_send``, the first
    goes out through it (once cancellation is checked), and the second, through ``send``,
    is the checkpoint of both. A trip through the scheduler less per request, where the
    server's ``send`` does not yield by itself.
    """
    start_type, body_type = f"{message_prefix}.response.start", f"{message_prefix}.response.body"
    untouched = response.untouched_headers
    if untouched is None:
        headers = encode_headers(response.headers)
    else:  # nothing made or changed werkzeug's Headers: send the two as they are
        content_type, length = untouched
        headers = [
            (b"content-type", content_type.encode("latin-1")),
            (b"content-length", str(length).encode("latin-1")),
        ]
    start = {"type": start_type, "status": response.status_code, "headers": headers}
    if not response.is_streamed:
        if server_send is not None:
            await trio.lowlevel.checkpoint_if_cancelled()
            await server_send(start)
        else:
            await send(start)
        body = b"" if head else response.data
        if before_last is not None:
            before_last()
        await send({"type": body_type, "body": body, "more_body": False})
        return
    await send(start)
    if not head:
        async with response.open_body(logger) as chunks:
            async for chunk in chunks:
                await send({"type": body_type, "body": chunk, "more_body": True})
    else:
        await response.close_body(logger)
    if before_last is not None:
        before_last()
    await send({"type": body_type, "body": b"", "more_body": False})
