"""``TestApp``: the app's whole lifespan in a test, in the test's own Trio run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

import trio

from ._nursery import HeldNursery

if TYPE_CHECKING:
    from types import TracebackType

    from trioframe._app import Trioframe

    from ._client import TestClient

#: Lifespan messages queued each way; there are only ever one or two.
LIFESPAN_QUEUE_SIZE = 2


class TestApp:
    """Runs the app's lifespan around a block: ``async with app.test_app() as test_app:``.

    Entering runs the startup hooks (``before_serving``, ``while_serving``) and opens
    ``app.nursery``; leaving cancels background tasks and runs the shutdown hooks. A failure
    in any of them, or a background task that stops the app, is raised in the test as itself
    (a background failure cancels the block at once). The test client works inside.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, app: Trioframe) -> None:
        self.app = app
        self._to_app, self._app_inbox = trio.open_memory_channel[dict[str, Any]](
            LIFESPAN_QUEUE_SIZE
        )
        self._app_outbox, self._from_app = trio.open_memory_channel[dict[str, Any]](
            LIFESPAN_QUEUE_SIZE
        )
        self._held = HeldNursery("a TestApp")
        self._finished = trio.Event()
        self._lifespan_failed = False

    def test_client(self) -> TestClient:
        """A test client for the app (the same as ``app.test_client()``)."""
        return self.app.test_client()

    async def __aenter__(self) -> Self:
        async with self._held.opening() as nursery:
            nursery.start_soon(self._run_lifespan)
            await self._to_app.send({"type": "lifespan.startup"})
            try:
                reply = await self._from_app.receive()
            except trio.EndOfChannel:
                if self._lifespan_failed:
                    # The app raised without answering; that error cancels this wait.
                    await trio.sleep_forever()
                raise RuntimeError(
                    "The app returned without answering lifespan.startup; an ASGI app that "
                    "does not support lifespan cannot run in TestApp"
                ) from None
            if reply["type"] != "lifespan.startup.complete":
                # The lifespan raises the startup error next, which cancels this wait.
                await trio.sleep_forever()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._finished.is_set():
                # Shut down even when the test failed, so the shutdown hooks release what
                # the startup hooks took; a cancelled test cancels this too.
                await self._to_app.send({"type": "lifespan.shutdown"})
                await self._finished.wait()
        finally:
            try:
                await self._held.close(exc_type, exc, tb)
            finally:
                for channel in (self._to_app, self._app_inbox, self._app_outbox, self._from_app):
                    channel.close()

    async def _run_lifespan(self) -> None:
        scope = {"type": "lifespan", "asgi": {"spec_version": "2.0", "version": "3.0"}}
        try:
            await self.app(scope, self._app_inbox.receive, self._app_outbox.send)
        except BaseException:
            self._lifespan_failed = True
            raise
        finally:
            self._finished.set()
            self._app_outbox.close()  # a test still waiting for a reply hears the app ended
