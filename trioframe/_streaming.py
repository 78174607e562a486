"""Streaming response bodies: the kinds a view may return, and how they are pulled.

A body streams from an async iterable, a plain iterable (pulled in a worker thread when
it may block), or a `BodyProducer`, a task that sends its chunks. `Response.open_body`
is where the sender meets them.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import trio

from ._concurrency import in_thread, single_errors_unwrapped

BodySource = AsyncIterable[bytes | str] | Iterable[bytes | str]


class BodyProducer:
    """A streaming body made by a task of its own: ``produce(channel)`` sends its chunks.

    For a body that must do several things at once, which an async generator cannot do
    safely (it cannot yield from inside a nursery): `event_stream` sends keep-alive
    comments while it waits for the next event this way. The task runs in a nursery the
    response's sender owns; the channel has no buffer, so the task runs only as fast as
    the client reads. It is cancelled when the client leaves.
    """

    def __init__(self, produce: Callable[[trio.MemorySendChannel[bytes]], Awaitable[None]]):
        self.produce = produce


@asynccontextmanager
async def produced(producer: BodyProducer) -> AsyncIterator[trio.MemoryReceiveChannel[bytes]]:
    sender, receiver = trio.open_memory_channel[bytes](0)

    async def produce() -> None:
        # Closed without a checkpoint: once the reader sees the end, this task has ended,
        # so the cancel below can never land on an error on its way out and hide it.
        with sender:
            await producer.produce(sender)

    # The producer's own error, not the group the nursery wraps it in.
    with single_errors_unwrapped():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce)
            try:
                yield receiver
            finally:
                # If the block ended before the body did, stop the producer, before closing
                # the channel would fail its next send.
                nursery.cancel_scope.cancel()
                receiver.close()


#: What ``next`` returns once a sync body is exhausted.
_END: Any = object()


class BodyIterator:
    """Pulls a response body chunk by chunk, encoding ``str`` chunks as UTF-8.

    A plain (sync) iterator, such as the generator a ``def`` view returns, may block
    between chunks, so each chunk is taken in a worker thread, as the view itself ran:
    the next chunk is asked for only once the previous one is sent, and a cancelled
    request waits for the chunk being made, then closes the iterator (in a thread too,
    for its ``finally`` blocks). A list or tuple holds its chunks already and is read
    in place.
    """

    def __init__(self, source: BodySource) -> None:
        self._source = source
        self._async: AsyncIterator[bytes | str] | None = None
        self._sync: Iterator[bytes | str] | None = None
        self._in_place = isinstance(source, list | tuple)
        if isinstance(source, AsyncIterable):
            self._async = aiter(source)
        else:
            self._sync = iter(source)

    def __aiter__(self) -> BodyIterator:
        return self

    async def __anext__(self) -> bytes:
        if self._async is not None:
            chunk = await anext(self._async)
        else:
            assert self._sync is not None
            if self._in_place:
                await trio.lowlevel.checkpoint()
                next_chunk = next(self._sync, _END)
            else:
                next_chunk = await in_thread(partial(next, self._sync, _END))
            if next_chunk is _END:
                raise StopAsyncIteration
            chunk = next_chunk
        return chunk.encode() if isinstance(chunk, str) else bytes(chunk)

    async def aclose(self) -> None:
        """Close the underlying generator so its ``finally`` blocks run."""
        aclose = getattr(self._async, "aclose", None)
        if aclose is not None:
            await aclose()
        close = getattr(self._sync, "close", None)
        if close is not None:
            # A generator's finally blocks may block too; a bounded cleanup around this
            # may give up on the thread rather than wait for it.
            await in_thread(close, abandon_on_cancel=True)
