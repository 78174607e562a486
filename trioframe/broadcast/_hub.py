"""`Broadcast`, the hub, and `Subscription`, one subscriber's bounded buffer.

Delivery into a process's subscribers is synchronous: `Broadcast.publish` appends the
message to each subscriber's buffer and wakes it, without waiting for any of them, so one
slow subscriber costs the others nothing. A full buffer is the subscriber's problem, by
the overflow policy: ``"close"`` ends its subscription with `SlowConsumer`,
``"drop_oldest"`` drops its oldest message and counts it. There is no blocking policy: it
would let one slow client hold up every publisher.

A message is checked and encoded once, before any subscriber sees it; subscribers share
the same ``str`` or ``bytes`` object.

With a ``redis://`` URL the same fan-out runs on what the process's reader receives from
Redis (`._redis`); a publish goes to Redis, and comes back through the reader like every
other process's.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Self

import trio

from trioframe._concurrency import ConflictDetector
from trioframe._config import DEFAULT_CONFIG, checked_setting
from trioframe._exceptions import (
    BroadcastError,
    BroadcastGap,
    SetupError,
    SlowConsumer,
)
from trioframe._websocket import over_size, text_or_bytes

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType

    from trioframe._app import Trioframe
    from trioframe._websocket import Websocket

    from ._redis import RedisBackend

Message = str | bytes
Overflow = Literal["close", "drop_oldest"]

#: The settings a hub reads.
_SETTINGS = (
    "BROADCAST_URL",
    "BROADCAST_BUFFER",
    "BROADCAST_OVERFLOW",
    "BROADCAST_CONNECT_TIMEOUT",
    "BROADCAST_MAX_MESSAGE_SIZE",
)


@dataclass(frozen=True)
class BroadcastStats:
    """What a hub has seen in this process."""

    #: Channels with at least one subscriber here.
    channels: int
    #: Subscriptions open here.
    subscribers: int
    #: Messages dropped from full buffers (``BROADCAST_OVERFLOW = "drop_oldest"``).
    dropped: int
    #: Subscriptions ended with `SlowConsumer` (``BROADCAST_OVERFLOW = "close"``).
    slow_closes: int
    #: Times the backend connection was restored after it was lost.
    reconnects: int


class Broadcast:
    """A publish/subscribe hub for an app's websockets and event streams.

    Settings come from the app's config (``BROADCAST_URL``, ``BROADCAST_BUFFER``,
    ``BROADCAST_OVERFLOW``, ``BROADCAST_CONNECT_TIMEOUT``, ``BROADCAST_MAX_MESSAGE_SIZE``);
    a keyword argument overrides its setting. Create it with the app, or without one and
    call `init_app` later, as Flask extensions do.

    Raises:
        SetupError: a setting or argument has a value the hub cannot use.
    """

    def __init__(
        self,
        app: Trioframe | None = None,
        url: str | None = None,
        *,
        buffer: int | None = None,
        overflow: Overflow | None = None,
        connect_timeout: float | None = None,
        max_message_size: int | None = None,
    ) -> None:
        arguments = (url, buffer, overflow, connect_timeout, max_message_size)
        # The keyword arguments given, by the setting each overrides.
        self._overrides: dict[str, Any] = {
            setting: value
            for setting, value in zip(_SETTINGS, arguments, strict=True)
            if value is not None
        }
        self._app: Trioframe | None = None
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._dropped = 0
        self._slow_closes = 0
        self._backend: RedisBackend | None = None
        self._configure(DEFAULT_CONFIG)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Trioframe) -> None:
        """Take the settings from ``app.config``, and its JSON provider for `publish_json`.
        With a ``redis://`` URL, the hub's connection runs in the app nursery while the
        app serves, from before the first ``before_serving`` function of its own.

        Raises:
            SetupError: a setting has a value the hub cannot use, or the ``redis://``
                backend is not installed.
        """
        self._configure(app.config)
        self._app = app
        backend = self._backend
        if backend is not None:

            async def connect() -> None:
                await app.nursery.start(backend.run, name=f"broadcast hub for {backend.url}")

            app.before_serving(connect)

    def _configure(self, config: Mapping[str, Any]) -> None:
        settings = {name: config[name] for name in _SETTINGS} | self._overrides
        for name in _SETTINGS:
            checked_setting(settings, name)
        self.url: str = settings["BROADCAST_URL"]
        self.buffer: int = settings["BROADCAST_BUFFER"]
        self.overflow: Overflow = settings["BROADCAST_OVERFLOW"]
        self.connect_timeout: float = settings["BROADCAST_CONNECT_TIMEOUT"]
        self.max_message_size: int | None = settings["BROADCAST_MAX_MESSAGE_SIZE"]
        self._backend = None
        if not self.url.startswith("memory://"):
            self._backend = _redis_backend(self)

    def subscribe(self, channel: str) -> Subscription:
        """A subscription to ``channel``, for ``async with``: it gets every message
        published to the channel while the block runs.

        Raises:
            TypeError: ``channel`` is not a string.
            ValueError: ``channel`` is empty.
        """
        return Subscription(self, _checked_channel(channel))

    async def publish(self, channel: str, message: str | bytes | bytearray | memoryview) -> None:
        """Deliver ``message`` to every subscriber of ``channel``; never waits on one.

        Raises:
            TypeError: the channel is not a string, or the message neither ``str`` nor
                ``bytes`` (use `publish_json` for other values).
            ValueError: the channel is empty, or the message is over
                ``BROADCAST_MAX_MESSAGE_SIZE``.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        channel = _checked_channel(channel)
        checked = self._checked_message(message)
        if self._backend is not None:
            await self._backend.publish(channel, checked)
            return
        self._deliver(channel, checked)
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def publish_json(self, channel: str, value: Any) -> None:
        """`publish` ``value`` as compact JSON text, encoded once with the app's JSON
        provider.

        Raises:
            SetupError: the hub has no app yet (see `init_app`).
            TypeError: ``value`` cannot be encoded as JSON, or the channel is not a string.
            ValueError: the channel is empty, or the text is over
                ``BROADCAST_MAX_MESSAGE_SIZE``.
        """
        if self._app is None:
            raise SetupError(
                "publish_json() encodes with the app's JSON provider, and this hub has no "
                "app; create it with Broadcast(app) or call hub.init_app(app) first"
            )
        await self.publish(channel, self._app.json.dumps(value, separators=(",", ":")))

    async def forward(self, channel: str, websocket: Websocket) -> None:
        """Send every message published to ``channel`` to ``websocket``, until the client
        leaves; the handler's usual ending. The websocket is accepted, if it was not yet,
        once the subscription is in place.

        Raises:
            SlowConsumer: the client reads too slowly for ``BROADCAST_BUFFER``; left to
                trioframe, the websocket is closed with 1008.
        """
        async with self.subscribe(channel) as messages:
            if not websocket.accepted:
                # Subscribed first, so nothing published once the client is in is missed.
                await websocket.accept()
            async for message in messages:
                await websocket.send(message)

    def stats(self) -> BroadcastStats:
        """What the hub has seen in this process."""
        return BroadcastStats(
            channels=len(self._subscriptions),
            subscribers=sum(len(subscribers) for subscribers in self._subscriptions.values()),
            dropped=self._dropped,
            slow_closes=self._slow_closes,
            reconnects=0 if self._backend is None else self._backend.reconnects,
        )

    def _checked_message(self, message: object) -> Message:
        checked = text_or_bytes(message, "publish", "publish_json")
        limit = self.max_message_size
        if over_size(checked, limit):
            size = len(checked.encode()) if isinstance(checked, str) else len(checked)
            raise ValueError(
                f"The message is {size} bytes, over BROADCAST_MAX_MESSAGE_SIZE ({limit}); "
                "send less, or raise the setting"
            )
        return checked

    def _deliver(self, channel: str, message: Message) -> None:
        """Hand ``message`` to every subscriber of ``channel`` here; never waits."""
        for subscription in tuple(self._subscriptions.get(channel, ())):
            subscription._deliver(message)

    def _add(self, subscription: Subscription) -> None:
        self._subscriptions.setdefault(subscription.channel, set()).add(subscription)

    def _remove(self, subscription: Subscription) -> None:
        subscribers = self._subscriptions.get(subscription.channel)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscriptions[subscription.channel]
                if self._backend is not None:
                    self._backend.release(subscription.channel)

    def _gap(self, link: int) -> int:
        """End every open subscription that rests on a connection before ``link`` with
        `BroadcastGap`; how many there were."""
        stale = [
            subscription
            for subscribers in self._subscriptions.values()
            for subscription in subscribers
            if subscription._state == "open" and subscription._link < link
        ]
        for subscription in stale:
            subscription._fail(
                BroadcastGap,
                f"The hub's connection to {self.url} was lost and restored, and messages "
                f"published to {subscription.channel!r} meanwhile may be missing; "
                "resynchronise and subscribe again",
            )
        return len(stale)

    def _count_drop(self) -> None:
        self._dropped += 1

    def _count_slow_close(self) -> None:
        self._slow_closes += 1


def _redis_backend(hub: Broadcast) -> RedisBackend:
    """The backend for the hub's ``redis://`` URL (the setting's check let only that in).

    Raises:
        SetupError: coredis, which the backend talks to Redis through, is not installed.
    """
    try:
        from ._redis import RedisBackend
    except ModuleNotFoundError as error:  # pragma: no cover - the tests install the extra
        raise SetupError(
            f"BROADCAST_URL {hub.url!r} needs the Redis client coredis; install it with "
            "pip install 'trioframe[redis]'"
        ) from error
    return RedisBackend(
        hub.url,
        hub.connect_timeout,
        local_channels=hub._subscriptions.keys,
        deliver=hub._deliver,
        gap=hub._gap,
        max_message_size=hub.max_message_size,
    )


def _checked_channel(channel: object) -> str:
    """``channel``, once it is known to be a name.

    Raises:
        TypeError: it is not a string.
        ValueError: it is empty.
    """
    if not isinstance(channel, str):
        raise TypeError(
            f"A channel is named by a str, not {type(channel).__name__}; for example "
            "hub.subscribe('room:lobby')"
        )
    if not channel:
        raise ValueError("The channel name is empty; name the channel, as 'room:lobby'")
    return channel


class Subscription:
    """The messages published to one channel while the ``async with`` block runs, oldest
    first: ``async for message in subscription`` or ``await subscription.receive()``.

    Up to the hub's ``buffer`` messages wait here for the subscriber; what happens to one
    more depends on the hub's ``overflow``. With ``"close"``, the subscription ends: the
    ``async with`` block is cancelled wherever it is waiting (a send to a slow client, a
    task in a nursery) and raises `SlowConsumer`.
    """

    def __init__(self, hub: Broadcast, channel: str) -> None:
        #: The channel subscribed to.
        self.channel = channel
        self._hub = hub
        self._limit = hub.buffer
        self._overflow = hub.overflow
        self._queue: deque[Message] = deque()
        self._arrived: trio.Event | None = None
        self._block = trio.CancelScope()
        self._failure: tuple[type[BroadcastError], str] | None = None
        self._state: Literal["new", "entering", "open", "ended"] = "new"
        #: The number of the backend connection the subscription rests on.
        self._link = 0
        self._receiving = ConflictDetector(
            "Another task is already receiving from this subscription; receive in one task "
            "and pass the messages on through a memory channel"
        )
        #: Messages this subscriber lost to ``"drop_oldest"``.
        self.dropped = 0

    async def __aenter__(self) -> Self:
        await trio.lowlevel.checkpoint()
        if self._state != "new":
            raise RuntimeError(
                "This subscription was already entered; call hub.subscribe(channel) again "
                "for a new one"
            )
        self._state = "entering"
        self._hub._add(self)
        backend = self._hub._backend
        if backend is not None:
            try:
                self._link = await backend.subscribe(self.channel)
            except BaseException:
                self._end()
                raise
        self._state = "open"
        # Ending the subscription cancels the block, wherever its tasks are waiting (most
        # likely sending to a client that reads too slowly), and `__aexit__` turns that
        # into the error that ended it: a subscriber blocked elsewhere still finds out.
        self._block.__enter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        self._end()
        swallowed = self._block.__exit__(exc_type, exc, tb)
        # Raised also when the block ended by itself before the cancellation landed: the
        # subscriber may have missed messages, and must hear of it.
        if self._failure is not None and (self._block.cancelled_caught or exc is None):
            error, reason = self._failure
            raise error(reason)
        if exc is None:
            await trio.lowlevel.checkpoint()
        else:  # a Cancelled here would hide the error on its way out
            await trio.lowlevel.cancel_shielded_checkpoint()
        return swallowed

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Message:
        return await self.receive()

    async def receive(self) -> Message:
        """The next message, waiting for one if none is here. Safe to cancel: no message
        is lost.

        Raises:
            SlowConsumer: the buffer overflowed (``BROADCAST_OVERFLOW = "close"``); the
                subscription has ended.
            RuntimeError: the ``async with`` block has not begun, or has ended.
            trio.BusyResourceError: another task is receiving from this subscription.
        """
        with self._receiving:
            await trio.lowlevel.checkpoint_if_cancelled()
            while True:
                if self._failure is not None:
                    error, reason = self._failure
                    raise error(reason)
                if self._state != "open":
                    raise RuntimeError(
                        "Messages are received inside 'async with hub.subscribe(channel) as "
                        "messages:', and this subscription is not open"
                    )
                if self._queue:
                    message = self._queue.popleft()
                    await trio.lowlevel.cancel_shielded_checkpoint()
                    return message
                self._arrived = trio.Event()
                await self._arrived.wait()

    def _deliver(self, message: Message) -> None:
        """Take ``message``, by the overflow policy when full; never waits. (A subscription
        that ended is no longer the hub's, so it is never called then.)"""
        if len(self._queue) >= self._limit:
            if self._overflow == "drop_oldest":
                self._queue.popleft()
                self.dropped += 1
                self._hub._count_drop()
            else:
                self._fail(
                    SlowConsumer,
                    f"The subscriber of {self.channel!r} fell {self._limit} messages behind "
                    "(BROADCAST_BUFFER) and its subscription ended; read faster, raise the "
                    "buffer, or use BROADCAST_OVERFLOW = 'drop_oldest'",
                )
                self._hub._count_slow_close()
                return
        self._queue.append(message)
        self._wake()

    def _fail(self, error: type[BroadcastError], message: str) -> None:
        """End the subscription: its block is cancelled and raises ``error`` (as does a
        receive that runs before the cancellation lands)."""
        self._failure = (error, message)
        self._queue.clear()
        self._hub._remove(self)
        self._wake()
        self._block.cancel()

    def _end(self) -> None:
        self._state = "ended"
        self._queue.clear()
        self._hub._remove(self)
        self._wake()

    def _wake(self) -> None:
        if self._arrived is not None:
            self._arrived.set()
            self._arrived = None
