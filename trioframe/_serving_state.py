"""`ServingState`: what an app knows about its own serving, behind named operations.

Three parts of trioframe meet here, and only through these methods: the lifespan handler
begins and ends serving and hands over the app nursery; the websocket handler counts each
connection as open while it runs; the server (trioframe's own, which the wire harness
runs too) closes every open websocket when it stops.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from ._exceptions import OutsideContextError, SetupError
from ._types import CloseCode

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._background import AppNursery

#: The close code and reason for a server that is shutting down.
GOING_AWAY = (CloseCode.GOING_AWAY, "server shutting down")


class Stoppable(Protocol):
    """An open websocket connection, as far as stopping it goes."""

    def stop(self, code: int, reason: str) -> None: ...


class ServingState:
    """Whether an app serves, its nursery while it does, and its open websockets."""

    def __init__(self, app_name: str) -> None:
        self._app_name = app_name
        self._serving = False
        self._nursery: AppNursery | None = None
        self._websockets: set[Stoppable] = set()
        self._closing = False

    def begin(self) -> None:
        """Mark the app as serving, and accept websockets (again).

        Raises:
            SetupError: it is serving already.
        """
        if self._serving:
            raise SetupError(
                f"{self._app_name!r} is already serving in this process; one app object can "
                "only run one lifespan at a time"
            )
        self._serving = True
        self._closing = False

    def open_nursery(self, nursery: AppNursery) -> None:
        """Make ``nursery`` the app nursery until `end`."""
        self._nursery = nursery

    def end(self) -> None:
        """Mark the app as no longer serving; its nursery is gone."""
        self._serving = False
        self._nursery = None

    @property
    def nursery(self) -> AppNursery:
        """The app nursery.

        Raises:
            OutsideContextError: the app is not serving.
        """
        if self._nursery is None:
            raise OutsideContextError(
                "app.nursery is only open while the app is serving: serve it with "
                "'trioframe run module:app' or app.run(), and in tests enter "
                "'async with app.test_app():' first"
            )
        return self._nursery

    @contextmanager
    def websocket_open(self, connection: Stoppable) -> Iterator[None]:
        """Count ``connection`` as open for the block; once closing, stop it at once."""
        if self._closing:
            connection.stop(*GOING_AWAY)
        self._websockets.add(connection)
        try:
            yield
        finally:
            self._websockets.discard(connection)

    def close_websockets(self) -> None:
        """Close every open websocket with 1001, and refuse new ones with 503 until the app
        serves anew."""
        self._closing = True
        for connection in self._websockets:
            connection.stop(*GOING_AWAY)
