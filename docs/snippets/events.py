"""The server-sent events guide."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from trioframe import Response, ServerSentEvent, Trioframe, event_stream

from ._fakes import price_updates

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

app = Trioframe(__name__)


# docs: start prices
@app.get("/prices")
async def prices() -> Response:
    async def updates() -> AsyncIterator[ServerSentEvent]:
        async for price in price_updates():
            yield ServerSentEvent(json.dumps(price), event="price", id=str(price["seq"]))

    return event_stream(updates(), keep_alive_interval=15)


# docs: end prices
