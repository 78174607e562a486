"""The websocket side of the benchmark, run as its own process so it does not share the
server's CPU time slices with it more than the machine forces.

Usage:
  ``python ws_client.py throughput <port> <connections> <seconds>``: echo round trips on
  every connection at once; prints messages per second.
  ``python ws_client.py latency <port> <messages>``: one connection; prints the median and
  99th percentile round trip in microseconds.
  ``python ws_client.py idle <port> <connections>``: opens the connections, prints ``open``,
  and holds them until its standard input closes.
  ``python ws_client.py fanin <port> <connections> <seconds>``: every connection sends a
  message every 10 ms to ``/fanin`` (a handler with independent receiving and sending
  tasks) and times its echo; prints messages per second and the 99th percentile round trip
  in microseconds.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time

import trio
from trio_websocket import open_websocket_url

MESSAGE = "Hello, World!"


async def throughput(port: int, connections: int, seconds: float) -> None:
    count = 0
    deadline = trio.current_time() + seconds

    async def client() -> None:
        nonlocal count
        async with open_websocket_url(f"ws://127.0.0.1:{port}/ws") as ws:
            while trio.current_time() < deadline:
                await ws.send_message(MESSAGE)
                await ws.get_message()
                count += 1

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(connections):
            nursery.start_soon(client)
    print(count / (time.perf_counter() - start))


async def latency(port: int, messages: int) -> None:
    samples = []
    async with open_websocket_url(f"ws://127.0.0.1:{port}/ws") as ws:
        for _ in range(100):  # warm up
            await ws.send_message(MESSAGE)
            await ws.get_message()
        for _ in range(messages):
            start = time.perf_counter()
            await ws.send_message(MESSAGE)
            await ws.get_message()
            samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    print(statistics.median(samples), samples[int(len(samples) * 0.99)])


async def idle(port: int, connections: int) -> None:
    opened = 0
    all_open = trio.Event()

    async def client() -> None:
        nonlocal opened
        async with open_websocket_url(f"ws://127.0.0.1:{port}/ws") as ws:
            await ws.send_message(MESSAGE)  # one round trip: the handler is running
            await ws.get_message()
            opened += 1
            if opened == connections:
                all_open.set()
            await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        for _ in range(connections):
            nursery.start_soon(client)
        await all_open.wait()
        print("open", flush=True)
        await trio.to_thread.run_sync(sys.stdin.read)  # until the benchmark is done
        nursery.cancel_scope.cancel()


#: How often each fan-in client sends, in seconds.
FAN_IN_INTERVAL_S = 0.010


async def fan_in(port: int, connections: int, seconds: float) -> None:
    round_trips: list[float] = []
    start = time.perf_counter()
    last_echo = start
    deadline = trio.current_time() + seconds

    async def client() -> None:
        nonlocal last_echo
        async with open_websocket_url(f"ws://127.0.0.1:{port}/fanin") as ws:
            sent: dict[str, float] = {}

            async def sending() -> None:
                number = 0
                while trio.current_time() < deadline:
                    number += 1
                    sent[str(number)] = time.perf_counter()
                    await ws.send_message(str(number))
                    await trio.sleep(FAN_IN_INTERVAL_S)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(sending)
                with trio.move_on_after(seconds + 5):  # the last echoes, then give up
                    while trio.current_time() < deadline or sent:
                        message = await ws.get_message()
                        last_echo = time.perf_counter()
                        round_trips.append((last_echo - sent.pop(str(message))) * 1e6)
                nursery.cancel_scope.cancel()

    async with trio.open_nursery() as nursery:
        for _ in range(connections):
            nursery.start_soon(client)
    round_trips.sort()
    # Over the time messages flowed: closing the connections is not part of it.
    rate = len(round_trips) / (last_echo - start)
    print(rate, round_trips[int(len(round_trips) * 0.99)] if round_trips else float("nan"))


def main() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "throughput":
        trio.run(throughput, port, int(sys.argv[3]), float(sys.argv[4]))
    elif mode == "latency":
        trio.run(latency, port, int(sys.argv[3]))
    elif mode == "fanin":
        trio.run(fan_in, port, int(sys.argv[3]), float(sys.argv[4]))
    else:
        trio.run(idle, port, int(sys.argv[3]))


if __name__ == "__main__":
    main()
