"""Live prices for many browsers: one feed, published through the broadcast hub.

Serve it with ``trioframe run examples/prices/app.py:app`` and connect websockets to
ws://127.0.0.1:5000/prices.

A background task in the app nursery publishes a price every ``TICK_S`` seconds. Each
websocket forwards the channel to its client. The hub drops the oldest waiting price for a
client that falls behind (``"drop_oldest"``): only the latest prices matter, so a slow
client skips ahead instead of being disconnected, and publishing never waits for it.
"""

from __future__ import annotations

import itertools
import random

import trio

from trioframe import Trioframe, websocket
from trioframe.broadcast import Broadcast

app = Trioframe(__name__)
#: Prices waiting for one client; older ones are dropped when a newer one arrives.
app.config.update(BROADCAST_OVERFLOW="drop_oldest", BROADCAST_BUFFER=4)
hub = Broadcast(app)

#: Seconds between prices.
TICK_S = 1.0
CHANNEL = "prices"


async def publish_prices(seed: int = 0) -> None:
    """A random walk from 100, one step per tick, forever."""
    steps = random.Random(seed)
    price = 100.0
    for sequence in itertools.count():
        await hub.publish_json(CHANNEL, {"seq": sequence, "price": round(price, 2)})
        price = max(0.01, price + steps.uniform(-1, 1))
        await trio.sleep(TICK_S)


@app.before_serving
async def start_feed() -> None:
    app.nursery.start_soon(publish_prices)


@app.websocket("/prices")
async def prices() -> None:
    await hub.forward(CHANNEL, websocket)
