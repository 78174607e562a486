"""The broadcast hub: publish a message once, and every subscriber of its channel gets it.

::

    hub = Broadcast(app)

    @app.websocket("/room/<name>")
    async def room(name: str) -> None:
        await hub.forward(f"room:{name}", websocket)

    @app.post("/room/<name>")
    async def say(name: str) -> str:
        await hub.publish_json(f"room:{name}", await request.get_json())
        return "sent"

Every subscriber has a bounded buffer and publishing never waits on one: a subscriber that
falls ``BROADCAST_BUFFER`` messages behind gets `SlowConsumer` (a websocket is closed with
1008), or with ``BROADCAST_OVERFLOW = "drop_oldest"`` keeps the newest messages.

``BROADCAST_URL`` picks the backend: ``memory://`` (the default) delivers within one
process; ``redis://`` and ``rediss://`` share channels between processes and machines
through Redis pub/sub (the ``trioframe[redis]`` extra). Across a lost Redis connection,
subscriptions end with `BroadcastGap`, and publishing raises `BroadcastUnavailable` after
``BROADCAST_CONNECT_TIMEOUT`` instead of queueing.
"""

from __future__ import annotations

from trioframe._exceptions import BroadcastError as BroadcastError
from trioframe._exceptions import BroadcastGap as BroadcastGap
from trioframe._exceptions import BroadcastUnavailable as BroadcastUnavailable
from trioframe._exceptions import SlowConsumer as SlowConsumer

from ._hub import Broadcast as Broadcast
from ._hub import BroadcastStats as BroadcastStats
from ._hub import Subscription as Subscription

__all__ = [
    "Broadcast",
    "BroadcastError",
    "BroadcastGap",
    "BroadcastStats",
    "BroadcastUnavailable",
    "SlowConsumer",
    "Subscription",
]

# Tracebacks and the docs show the public path.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
