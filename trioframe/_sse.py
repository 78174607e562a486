"""Server-sent events: an async iterator of events becomes a ``text/event-stream`` response.

The events are pulled by a task of the response's own (a `BodyProducer`), beside a second
task that sends a keep-alive comment whenever nothing was sent for a while, so proxies and
browsers do not give up on a quiet stream. Both run only as fast as the client reads, and
both are cancelled when it leaves: the event iterator sees ``trio.Cancelled`` where it
waits, and is then closed, so its ``finally`` blocks run.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from ._concurrency import bounded_cleanup
from ._context import current_app, has_app_context
from ._response import Response
from ._streaming import BodyProducer

if TYPE_CHECKING:
    from ._types import HeadersValue

#: Seconds of silence after which a keep-alive comment is sent.
KEEP_ALIVE_INTERVAL_S = 15.0
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class ServerSentEvent:
    """One event of an event stream.

    Args:
        data: The payload; a multi-line string is sent as several ``data:`` lines and
            arrives as one string with its line breaks. Send JSON as a string. Without
            data (``None``) the browser dispatches nothing; such an event can still set
            ``retry`` or ``id``.
        event: The event type, for ``addEventListener(type, ...)`` in the browser; ``None``
            is the default ``message`` type.
        id: The event id; a reconnecting browser sends the last one as ``Last-Event-ID``.
        retry: Milliseconds the browser should wait before reconnecting.

    Raises:
        ValueError: ``event`` or ``id`` contains a line break (or ``id`` a NUL), which
            would corrupt the stream, or ``retry`` is negative.
    """

    data: str | None = None
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    def __post_init__(self) -> None:
        for name, value in (("event", self.event), ("id", self.id)):
            if value is not None and _LINE_BREAK.search(value):
                raise ValueError(f"A server-sent event's {name} cannot contain a line break")
        if self.id is not None and "\x00" in self.id:
            raise ValueError("A server-sent event's id cannot contain a NUL character")
        if self.retry is not None and self.retry < 0:
            raise ValueError(f"retry={self.retry}: give the reconnection delay in milliseconds")

    def encode(self) -> bytes:
        """The event in the ``text/event-stream`` format, ending with its blank line."""
        lines = []
        if self.event is not None:
            lines.append(f"event: {self.event}")
        if self.id is not None:
            lines.append(f"id: {self.id}")
        if self.retry is not None:
            lines.append(f"retry: {self.retry}")
        if self.data is not None:
            lines.extend(f"data: {line}" for line in _LINE_BREAK.split(self.data))
        return ("\n".join(lines) + "\n\n").encode()


def event_stream(
    events: AsyncIterable[ServerSentEvent | str],
    *,
    keep_alive_interval: float | None = KEEP_ALIVE_INTERVAL_S,
    retry: int | None = None,
    headers: HeadersValue | None = None,
) -> Response:
    """A ``text/event-stream`` response sending each event as ``events`` yields it.

    Return it from a view; the server-sent events guide shows a whole example.

    Args:
        events: The events; a ``str`` is an event with only ``data``.
        keep_alive_interval: Seconds of silence after which a ``: keep-alive`` comment is
            sent; ``None`` sends none.
        retry: A reconnection delay in milliseconds to send first.
        headers: Extra response headers.

    Raises:
        TypeError: ``events`` is not an async iterable.
    """
    if not isinstance(events, AsyncIterable):
        raise TypeError(
            f"event_stream() needs an async iterable of events (an async generator, say), "
            f"not {type(events).__name__}"
        )
    if keep_alive_interval is not None and keep_alive_interval <= 0:
        raise ValueError("keep_alive_interval must be a positive number of seconds, or None")

    async def produce(channel: trio.MemorySendChannel[bytes]) -> None:
        await _send_events(events, channel, keep_alive_interval, retry)

    response_class = current_app.response_class if has_app_context() else Response
    response = response_class(BodyProducer(produce), 200, headers)
    response.headers["Content-Type"] = "text/event-stream; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    # Proxies such as nginx buffer responses unless told not to; events must go at once.
    response.headers["X-Accel-Buffering"] = "no"
    return response


async def _send_events(
    events: AsyncIterable[ServerSentEvent | str],
    channel: trio.MemorySendChannel[bytes],
    keep_alive_interval: float | None,
    retry: int | None,
) -> None:
    last_sent = trio.current_time()

    async def send(chunk: bytes) -> None:
        nonlocal last_sent
        await channel.send(chunk)
        last_sent = trio.current_time()

    async def keep_alive(interval: float) -> None:
        while True:
            await trio.sleep_until(last_sent + interval)
            if trio.current_time() >= last_sent + interval:
                await send(b": keep-alive\n\n")

    iterator = aiter(events)
    try:
        async with trio.open_nursery() as nursery:
            if keep_alive_interval is not None:
                nursery.start_soon(keep_alive, keep_alive_interval)
            if retry is not None:
                await send(ServerSentEvent(retry=retry).encode())
            async for event in iterator:
                if isinstance(event, str):
                    event = ServerSentEvent(event)
                await send(event.encode())
            nursery.cancel_scope.cancel()  # the events are over
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            with bounded_cleanup("body close"):
                await aclose()
