from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trioframe import Trioframe


async def test_startup_and_shutdown_are_acknowledged(app: Trioframe) -> None:
    incoming: list[dict[str, Any]] = [
        {"type": "lifespan.startup"},
        {"type": "lifespan.some-future-event"},  # unknown messages are ignored
        {"type": "lifespan.shutdown"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(
        {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}, receive, send
    )
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
