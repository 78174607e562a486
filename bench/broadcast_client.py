"""The load of the broadcast benchmark, run as its own process: many subscribers, one
publisher, one subscriber that stops reading.

Usage: ``python broadcast_client.py <port> <subscribers> <seconds> <message bytes>``.

Subscribers are bare websocket clients: a handshake, then server frames parsed by hand, so
that receiving a thousand streams costs this process as little as it can (a full client
library would be the bottleneck long before the servers). The publisher is trio-websocket on
``/pub``. Every message carries its number and the moment it was sent (``CLOCK_MONOTONIC``,
shared by the processes of one machine), so each subscriber times its delivery.

It talks to the benchmark on standard input and output: it prints ``subscribed`` once every
subscriber has received a message, ``slow`` when the slow consumer phase starts and
``measured`` when it ends, each time waiting for a line on standard input before going on
(the benchmark reads the server's memory then), and finally one line of JSON.

The phases, on one set of connections:

- throughput: bursts of ``BURST`` messages, each burst once every subscriber has the last
  one, for ``seconds``; delivered messages per second;
- latency at 10 and then 100 publishes per second, for ``seconds`` each; p50 and p99;
- slow consumer: one more subscriber that never reads, with a small receive buffer;
  100 publishes per second of ``SLOW_PHASE_BYTES`` for ``2 * seconds``; the others' p99,
  and whether the slow one was closed.
"""

from __future__ import annotations

import json
import resource
import socket
import sys
import time
from base64 import b64encode
from os import urandom
from typing import Any

import trio
from trio_websocket import open_websocket_url

#: Messages published before waiting for every subscriber; below every app's buffer (64).
BURST = 32
#: The slow consumer's receive buffer, so the server's sends to it back up soon.
SLOW_RECEIVE_BUFFER = 4096
#: The size of the messages in the slow consumer phase.
SLOW_PHASE_BYTES = 16384
#: A bound on every wait.
WAIT_S = 60.0


class Subscriber:
    """One ``/sub`` websocket whose frames are counted and timed as they arrive."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.last = -1
        self.close_code: int | None = None
        self.alive = True
        self.leaving = False

    async def open(self, port: int, receive_buffer: int | None = None) -> trio.SocketStream:
        sock = trio.socket.socket()
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        await sock.connect(("127.0.0.1", port))
        stream = trio.SocketStream(sock)
        key = b64encode(urandom(16)).decode()
        await stream.send_all(
            (
                f"GET /sub HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = await stream.receive_some(4096)
            if not chunk:
                raise RuntimeError("the server closed the connection during the handshake")
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"the handshake failed: {head[:200]!r}")
        self.pending = bytearray(rest)
        self.stream = stream
        return stream

    async def read(self, stream: trio.SocketStream) -> None:
        """Receive until the connection ends; count and time every message."""
        buffer = self.pending
        try:
            while True:
                self.parse(buffer)
                if self.close_code is not None:
                    return
                try:
                    chunk = await stream.receive_some(65536)
                except (trio.BrokenResourceError, trio.ClosedResourceError):  # reset, or left
                    return
                if not chunk:
                    return
                buffer += chunk
        finally:
            self.run.lost(self)

    def parse(self, buffer: bytearray) -> None:
        at = 0
        end = len(buffer)
        run = self.run
        while end - at >= 2:
            opcode = buffer[at] & 0x0F
            length = buffer[at + 1] & 0x7F
            header = 2
            if length == 126:
                if end - at < 4:
                    break
                length = int.from_bytes(buffer[at + 2 : at + 4], "big")
                header = 4
            elif length == 127:
                if end - at < 10:
                    break
                length = int.from_bytes(buffer[at + 2 : at + 10], "big")
                header = 10
            if end - at < header + length:
                break
            start = at + header
            at = start + length
            if opcode == 0x8:
                self.close_code = int.from_bytes(buffer[start : start + 2], "big") or 1005
                break
            number, sent = buffer[start:at].split(b" ", 2)[:2]
            run.received(self, int(number), int(sent))
        del buffer[:at]


class Run:
    def __init__(self, subscribers: int) -> None:
        self.count = subscribers
        self.subscribers: list[Subscriber] = []
        self.waiting_for = -1
        self.arrived = 0
        self.all_arrived = trio.Event()
        self.delivered = 0
        self.latencies: list[int] | None = None
        self.closed = 0

    def received(self, subscriber: Subscriber, number: int, sent: int) -> None:
        if subscriber.last < self.waiting_for <= number:
            self.arrived += 1
            if self.arrived >= self.count:
                self.all_arrived.set()
        subscriber.last = number
        self.delivered += 1
        if self.latencies is not None:
            self.latencies.append(time.monotonic_ns() - sent)

    def lost(self, subscriber: Subscriber) -> None:
        """The server closed ``subscriber``: wait for it no more."""
        subscriber.alive = False
        if not subscriber.leaving:
            self.closed += 1
        self.count -= 1
        if subscriber.last >= self.waiting_for:
            self.arrived -= 1
        if self.arrived >= self.count:
            self.all_arrived.set()

    def expect(self, number: int) -> trio.Event:
        """An event set once every (reading) subscriber has message ``number``."""
        self.waiting_for = number
        self.arrived = sum(1 for s in self.subscribers if s.last >= number and s.alive)
        self.all_arrived = trio.Event()
        if self.arrived >= self.count:
            self.all_arrived.set()
        return self.all_arrived


def handshake_line(label: str) -> None:
    """Tell the benchmark where the run is; wait until it says to go on."""
    print(label, flush=True)
    if not sys.stdin.readline():
        raise SystemExit("the benchmark went away")


def percentiles(samples: list[int]) -> tuple[float, float]:
    """p50 and p99, in milliseconds."""
    if not samples:
        return float("nan"), float("nan")
    samples.sort()
    return samples[len(samples) // 2] / 1e6, samples[int(len(samples) * 0.99)] / 1e6


class Load:
    """The subscribers and the publisher of one run."""

    def __init__(self, port: int, size: int, nursery: trio.Nursery, publisher: Any) -> None:
        self.port = port
        self.size = size
        self.nursery = nursery
        self.publisher = publisher
        self.run = Run(0)
        self.number = 0

    async def publish(self) -> None:
        self.number += 1
        text = f"{self.number} {time.monotonic_ns()} ".ljust(self.size, "x")
        await self.publisher.send_message(text)

    async def fill(self, wanted: int) -> int:
        """Open or close subscribers until ``wanted`` are open (again, after some were
        dropped), and wait until every one receives; how many the server had dropped since
        the last fill."""
        run = self.run
        dropped = run.closed
        run.closed = 0
        run.subscribers = [s for s in run.subscribers if s.alive]
        while len(run.subscribers) > wanted:
            leaving = run.subscribers.pop()
            leaving.leaving = True
            await leaving.stream.aclose()
        with trio.fail_after(WAIT_S):
            while len(run.subscribers) < wanted:
                subscriber = Subscriber(run)
                stream = await subscriber.open(self.port)
                run.subscribers.append(subscriber)
                run.count += 1
                self.nursery.start_soon(subscriber.read, stream)
            # Subscribed for sure once a message published now arrives everywhere: publish
            # until every subscriber has one (the first ones may predate a subscription).
            arrived = run.expect(self.number + 1)
            while True:
                await self.publish()
                with trio.move_on_after(0.2):
                    await arrived.wait()
                    return dropped

    async def bursts(self, seconds: float) -> float:
        """Delivered messages per second, publishing ``BURST`` at a time, each burst once
        every subscriber has the last."""
        run = self.run
        run.delivered = 0
        start = time.perf_counter()
        with trio.fail_after(seconds + WAIT_S):
            while time.perf_counter() - start < seconds:
                for _ in range(BURST):
                    await self.publish()
                await run.expect(self.number).wait()
        return run.delivered / (time.perf_counter() - start)

    async def at_rate(self, per_second: int, seconds: float) -> tuple[float, float]:
        """p50 and p99 delivery latency in milliseconds, publishing ``per_second``."""
        run = self.run
        run.latencies = []
        begin = trio.current_time()
        for n in range(int(per_second * seconds)):
            await trio.sleep_until(begin + n / per_second)
            await self.publish()
        with trio.fail_after(WAIT_S):
            await run.expect(self.number).wait()
        samples, run.latencies = run.latencies, None
        return percentiles(samples)


async def main(port: int, subscribers: int, seconds: float, size: int, deliveries: int) -> None:
    results: dict[str, float | int | bool | None] = {}
    async with (
        trio.open_nursery() as nursery,
        open_websocket_url(f"ws://127.0.0.1:{port}/pub") as publisher,
    ):
        load = Load(port, size, nursery, publisher)
        await load.fill(subscribers)
        await trio.to_thread.run_sync(handshake_line, "subscribed")
        results["msgs/s"] = await load.bursts(seconds)
        results["dropped in bursts"] = await load.fill(subscribers)
        for rate in (10, 100):
            await load.fill(deliveries // rate)
            results[f"p50 ms at {rate}/s"], results[f"p99 ms at {rate}/s"] = await load.at_rate(
                rate, seconds
            )
            results[f"dropped at {rate}/s"] = await load.fill(deliveries // rate)

        # Bigger messages from here on, so that what a server keeps for the slow one shows.
        load.size = SLOW_PHASE_BYTES
        slow = Subscriber(Run(1))
        slow_stream = await slow.open(port, SLOW_RECEIVE_BUFFER)
        await load.fill(deliveries // 100)
        await trio.to_thread.run_sync(handshake_line, "slow")
        _, results["p99 ms at 100/s, one slow"] = await load.at_rate(100, 2 * seconds)
        await trio.to_thread.run_sync(handshake_line, "measured")
        results["dropped beside the slow one"] = await load.fill(deliveries // 100)
        # Now the slow one reads what the server left it: if it was dropped, that ends in
        # a close frame or the end of the connection; if not, messages keep coming.
        with trio.move_on_after(5) as looked:
            await slow.read(slow_stream)
        results["slow one closed"] = not looked.cancelled_caught
        nursery.cancel_scope.cancel()
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port, subscribers, seconds, size, deliveries = map(float, sys.argv[1:6])
    trio.run(main, int(port), int(subscribers), seconds, int(size), int(deliveries))
