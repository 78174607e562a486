"""The prices example through the test client, its feed run by the lifespan under Trio's
autojump clock."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING

from .app import app, hub

if TYPE_CHECKING:
    import trio.testing

#: Prices each client reads.
TICKS = 60


async def test_every_client_gets_the_feed_and_a_slow_one_skips_ahead(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with app.test_app() as test_app:
        client = test_app.test_client()
        async with client.websocket("/prices") as fast, client.websocket("/prices") as slow:
            first = json.loads(await fast.receive())["seq"]
            fast_sequences, slow_sequences = [first], []
            # The fast client takes every price; the slow one one for every three.
            for _ in range(TICKS // 3):
                for _ in range(3):
                    fast_sequences.append(json.loads(await fast.receive())["seq"])
                slow_sequences.append(json.loads(await slow.receive())["seq"])
            assert fast_sequences == list(range(first, first + TICKS + 1))  # none missed
            # What the slow client's connection holds fills up; then it gets the newest
            # prices, the ones between dropped, instead of being disconnected.
            gaps = [later - earlier for earlier, later in itertools.pairwise(slow_sequences)]
            assert gaps[0] == 1
            assert max(gaps) > 1
            assert hub.stats().dropped > 0
