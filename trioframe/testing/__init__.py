"""Test trioframe apps in the test's own Trio run.

``app.test_client()`` calls the app directly, for HTTP and websockets; ``app.test_app()``
runs its lifespan; ``app.test_cli_runner()`` runs its custom commands; `WireServer` serves
it with trioframe's server (hypercorn's protocols) over in-memory streams, for tests that
need the real protocol bytes.
"""

from __future__ import annotations

from ._app import TestApp as TestApp
from ._builder import TestRequest as TestRequest
from ._cli import TestCliRunner as TestCliRunner
from ._client import RequestOptions as RequestOptions
from ._client import TestClient as TestClient
from ._response import TestResponse as TestResponse
from ._websocket import TestWebsocketConnection as TestWebsocketConnection
from ._websocket import WebsocketResponse as WebsocketResponse
from ._websocket import WebsocketResponse as WebsocketResponseError  # Quart's name
from ._wire import WireResponse as WireResponse
from ._wire import WireServer as WireServer
from ._wire import websocket_client as websocket_client

__all__ = [
    "RequestOptions",
    "TestApp",
    "TestCliRunner",
    "TestClient",
    "TestRequest",
    "TestResponse",
    "TestWebsocketConnection",
    "WebsocketResponse",
    "WebsocketResponseError",
    "WireResponse",
    "WireServer",
    "websocket_client",
]

for _name in __all__:
    if isinstance(globals()[_name], type):
        globals()[_name].__module__ = __name__
del _name
