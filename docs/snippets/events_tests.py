"""The server-sent events guide, streamed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .events import app

if TYPE_CHECKING:
    import trio.testing


async def test_prices_stream(autojump_clock: trio.testing.MockClock) -> None:
    response = await app.test_client().get("/prices")
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    body = await response.get_data(as_text=True)
    assert body.startswith('event: price\nid: 0\ndata: {"seq": 0, "price": 101.5}\n\n')
    assert body.count("event: price") == 3
