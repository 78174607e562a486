"""The ASGI edge: the only part of the app that reads or builds ASGI dicts.

`handle_connection` hands each connection to the handler for its scope type: ``_http``,
``_websocket`` or ``_lifespan``. ``_translate`` turns scopes into `Request` and `Websocket`
objects and a `Response` back into messages, with the one header codec. Code after this
folder sees only those wrappers; the server and the test harnesses play the other side.

Every call to the server's ``send`` is made a Trio checkpoint here, once for all handlers:
trioframe's awaitable operations are checkpoints whatever the server does. (One exception:
a whole response's status and headers go out with the server's own ``send``, because the
message with its body follows at once, and that one is the checkpoint of both.) (What trioframe
receives reaches user code through memory channels, which are checkpoints already, and its
readers stop at a full channel, so the server's ``receive`` needs no help.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from trioframe._concurrency import checkpointing

from ._http import handle_http
from ._lifespan import handle_lifespan
from ._websocket import handle_websocket

if TYPE_CHECKING:
    from trioframe._app import Trioframe
    from trioframe._types import (
        ASGIReceive,
        ASGIScope,
        ASGISend,
        HTTPScope,
        LifespanScope,
        WebsocketScope,
    )


async def handle_connection(
    app: Trioframe, scope: ASGIScope, receive: ASGIReceive, send: ASGISend
) -> None:
    """Hand the connection to the handler for its scope type.

    Raises:
        ValueError: the server sent a scope type trioframe does not serve.
    """
    kind = scope["type"]
    if kind == "http":
        await handle_http(
            app, cast("HTTPScope", scope), receive, checkpointing(send), server_send=send
        )
    elif kind == "websocket":
        await handle_websocket(app, cast("WebsocketScope", scope), receive, checkpointing(send))
    elif kind == "lifespan":
        await handle_lifespan(app, cast("LifespanScope", scope), receive, checkpointing(send))
    else:
        # Servers may offer scope types from newer ASGI versions; the spec says to refuse them.
        raise ValueError(f"trioframe cannot serve ASGI scope type {kind!r}")
