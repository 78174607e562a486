"""The ``redis://`` backend: Redis pub/sub through coredis, one reader per process.

Publishing sends ``PUBLISH`` and delivers nothing locally: the message comes back through
the process's reader, as it does to every other process, so all subscribers everywhere see
one order. The reader is one Redis connection in the app nursery. It subscribes to a
channel when the process's first subscriber of it arrives, and unsubscribes when the last
one leaves. When the connection is lost it reconnects with jittered exponential backoff,
resubscribes, and ends every subscription that was open across the outage with
`BroadcastGap`: Redis pub/sub keeps nothing for a disconnected reader.

A message on the Redis channel is the payload behind a two-byte header, ``\\0T`` for text
(UTF-8) or ``\\0B`` for bytes, so a subscriber gets back the type that was published.
Messages from other Redis clients, which have no header, arrive as bytes.

coredis runs on AnyIO, which drives Trio here; this module talks to it only through
coredis's own API, and is imported only when a hub is given a ``redis://`` URL.
"""

from __future__ import annotations

import contextlib
import logging
import random
from typing import TYPE_CHECKING, cast

import coredis
import trio
from coredis.exceptions import RedisError

from trioframe._exceptions import BroadcastUnavailable

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from coredis.patterns.pubsub import PubSub

    from ._hub import Message

logger = logging.getLogger("trioframe.broadcast")

#: What a lost or unreachable Redis raises, through coredis.
LINK_ERRORS = (RedisError, OSError, TimeoutError)

_TEXT = b"\0T"
_BYTES = b"\0B"

#: Reconnect delays: a random wait in the upper half of a ceiling that doubles from the first
#: to the cap.
FIRST_DELAY = 0.1
MAX_DELAY = 5.0


def encode(message: Message) -> bytes:
    """``message`` as it travels on a Redis channel."""
    if isinstance(message, str):
        return _TEXT + message.encode()
    return _BYTES + message


def decode(payload: bytes) -> Message:
    """A message read from a Redis channel, back to the type it was published as."""
    if payload.startswith(_TEXT):
        return payload[2:].decode(errors="replace")
    if payload.startswith(_BYTES):
        return payload[2:]
    return payload


def backoff(attempt: int) -> float:
    """The wait before reconnect attempt ``attempt`` (1 for the first retry)."""
    ceiling = min(MAX_DELAY, FIRST_DELAY * 2 ** min(attempt - 1, 16))
    return random.uniform(ceiling / 2, ceiling)


class _Link:
    """One connection of the reader, and the channels subscribed on it."""

    def __init__(self, number: int, pubsub: PubSub[bytes], channels: list[str]) -> None:
        self.number = number
        self.pubsub = pubsub
        #: ``channel -> set when Redis acknowledged the SUBSCRIBE`` (or the link was lost).
        self.subscribed: dict[str, trio.Event] = {}
        for channel in channels:
            acknowledged = self.subscribed[channel] = trio.Event()
            acknowledged.set()
        self.lost = False
        self.dropped = trio.Event()

    def lose(self) -> None:
        self.lost = True
        self.dropped.set()
        for acknowledged in self.subscribed.values():
            acknowledged.set()


class RedisBackend:
    """The Redis connection of one hub in one process. `run` is its life, in the app
    nursery; the hub calls the rest from subscribers' and publishers' tasks."""

    def __init__(
        self,
        url: str,
        connect_timeout: float,
        *,
        local_channels: Callable[[], Collection[str]],
        deliver: Callable[[str, Message], None],
        gap: Callable[[int], int],
        max_message_size: int | None,
    ) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self._local_channels = local_channels
        self._deliver = deliver
        self._gap = gap
        self._max_message_size = max_message_size
        self._client: coredis.Redis[bytes] | None = None
        self._link: _Link | None = None
        self._linked = trio.Event()
        self._released: set[str] = set()
        self._release_wanted = trio.Event()
        #: Times the connection was restored after it was lost.
        self.reconnects = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep the connection to Redis until cancelled, at the app's shutdown."""
        client = coredis.Redis.from_url(
            self.url,
            connect_timeout=self.connect_timeout,
            stream_timeout=None,
            retry_policy=coredis.retry.NoRetryPolicy(),
        )
        try:
            async with client, trio.open_nursery() as nursery:
                self._client = client
                try:
                    nursery.start_soon(self._release_channels)
                    task_status.started()
                    await self._read_forever()
                finally:
                    self._client = None
                    self._link = None
        except BaseException as error:
            # This ends only when the app shuts down and cancels it. coredis then closes
            # the connection, and its pub/sub task may still try to unsubscribe on it and
            # fail: an error of a connection being abandoned on purpose, which must not
            # stand in for the Cancelled (nor fail the shutdown). Being cancelled, the
            # checkpoint raises that Cancelled instead; otherwise the error goes on.
            if not isinstance(error, trio.Cancelled) and not _holds(error, KeyboardInterrupt):
                await trio.lowlevel.checkpoint_if_cancelled()
            raise

    async def _read_forever(self) -> None:
        number = 0
        failures = 0
        while True:
            channels = sorted(self._local_channels())
            try:
                # Entering subscribes to the channels in use here, and waits for Redis to
                # acknowledge them.
                async with self._client_or_fail().pubsub(
                    channels=channels or None,
                    retry_policy=None,
                    subscription_timeout=self.connect_timeout,
                ) as pubsub:
                    number += 1
                    self._connected(_Link(number, pubsub, channels), failures)
                    failures = 0
                    await self._read(pubsub)
            except* LINK_ERRORS as group:
                failures += 1
                self._disconnected(group, failures)
            await trio.sleep(backoff(failures))

    def _connected(self, link: _Link, failures: int) -> None:
        self._link = link
        self._linked.set()
        if link.number == 1:
            logger.info("The broadcast hub connected to %s", self.url)
            return
        self.reconnects += 1
        ended = self._gap(link.number)
        logger.warning(
            "The broadcast hub reconnected to %s after %d failed attempts; %d subscriptions "
            "that may have missed messages were ended with BroadcastGap",
            self.url,
            failures,
            ended,
        )

    def _disconnected(self, group: BaseExceptionGroup[BaseException], failures: int) -> None:
        link, self._link = self._link, None
        self._linked = trio.Event()
        if link is not None:
            link.lose()
        error = _first_leaf(group)
        log = logger.warning if failures == 1 or failures % 10 == 0 else logger.debug
        log(
            "The broadcast hub lost or could not reach %s (%s: %s); reconnecting (attempt %d)",
            self.url,
            type(error).__name__,
            error,
            failures,
        )

    async def _read(self, pubsub: PubSub[bytes]) -> None:
        limit = self._max_message_size
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True)
            if message is None or message["type"] != "message":
                continue
            payload = cast("bytes", message["data"])
            if limit is not None and len(payload) - 2 > limit:
                # Only another Redis client can publish this: the hub checks its own.
                logger.warning(
                    "A message of %d bytes on %r is over BROADCAST_MAX_MESSAGE_SIZE (%d) and "
                    "was not delivered",
                    len(payload),
                    message["channel"],
                    limit,
                )
                continue
            channel = cast("bytes", message["channel"]).decode(errors="replace")
            self._deliver(channel, decode(payload))

    def _client_or_fail(self) -> coredis.Redis[bytes]:
        if self._client is None:
            raise BroadcastUnavailable(
                f"The hub's connection to {self.url} is open only while the app serves; "
                "serve it (hypercorn, trioframe run) or test it inside "
                "'async with app.test_app():'"
            )
        return self._client

    async def publish(self, channel: str, message: Message) -> None:
        """Send ``message`` to Redis, retrying until ``connect_timeout`` while it is down.

        Raises:
            BroadcastUnavailable: Redis could not be reached in time; nothing was queued.
        """
        client = self._client_or_fail()
        payload = encode(message)
        last: BaseException | None = None
        attempt = 0
        with trio.move_on_after(self.connect_timeout):
            while True:
                try:
                    await client.publish(channel, payload)
                except LINK_ERRORS as error:
                    last = error
                else:
                    return
                attempt += 1
                await trio.sleep(backoff(attempt))
        raise BroadcastUnavailable(
            f"Could not publish to {channel!r}: {self.url} was not reachable within "
            f"BROADCAST_CONNECT_TIMEOUT ({self.connect_timeout} s); nothing was queued, so "
            "publish again once Redis is back"
        ) from last

    async def subscribe(self, channel: str) -> int:
        """Wait until Redis sends this process the messages of ``channel``.

        Returns:
            The number of the connection the subscription rests on: when a later one
            replaces it, the subscription may have missed messages.

        Raises:
            BroadcastUnavailable: Redis could not be reached within ``connect_timeout``.
        """
        self._client_or_fail()
        with trio.move_on_after(self.connect_timeout):
            while True:
                while self._link is None:
                    await self._linked.wait()
                link = self._link
                acknowledged = link.subscribed.get(channel)
                if acknowledged is None:
                    acknowledged = link.subscribed[channel] = trio.Event()
                    try:
                        await link.pubsub.subscribe(channel)
                    except LINK_ERRORS:  # pragma: no cover - a race with the reader
                        # The connection died after the reader's last message and before
                        # it noticed; it soon will, and the next connection is the one
                        # to try.
                        if link.subscribed.get(channel) is acknowledged:
                            del link.subscribed[channel]
                        acknowledged.set()
                        await link.dropped.wait()
                        continue
                    acknowledged.set()
                else:
                    await acknowledged.wait()
                if not link.lost and link.subscribed.get(channel) is acknowledged:
                    return link.number
        raise BroadcastUnavailable(
            f"Could not subscribe to {channel!r}: {self.url} was not reachable within "
            f"BROADCAST_CONNECT_TIMEOUT ({self.connect_timeout} s); try again once Redis "
            "is back"
        )

    def release(self, channel: str) -> None:
        """The process's last subscriber of ``channel`` left: unsubscribe, soon."""
        self._released.add(channel)
        self._release_wanted.set()

    async def _release_channels(self) -> None:
        while True:
            await self._release_wanted.wait()
            self._release_wanted = trio.Event()
            released, self._released = self._released, set()
            link = self._link
            if link is None:  # pragma: no cover - a race with the reader
                continue  # the next connection subscribes only to channels in use
            local = self._local_channels()
            idle = [
                channel
                for channel in sorted(released)
                if channel not in local and channel in link.subscribed
            ]
            for channel in idle:
                del link.subscribed[channel]
            if idle:
                # A lost connection unsubscribes everything by itself.
                with contextlib.suppress(*LINK_ERRORS):
                    await link.pubsub.unsubscribe(*idle)


def _holds(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``error`` is, or is a group holding, an exception of ``kind``."""
    if isinstance(error, BaseExceptionGroup):
        return error.subgroup(kind) is not None
    return isinstance(error, kind)


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
