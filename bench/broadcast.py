"""Measure the broadcast hub against a hand-written Trio fan-out and Starlette with
encode/broadcaster, in memory and through Redis.

Run it with ``bash bench/run --broadcast``. Each app (``bench/apps/broadcast_*.py``) is served
in its own process, one round at a time for every app, and loaded by ``broadcast_client.py``
in another: delivered messages per second to many subscribers, delivery latency at 10 and
100 publishes per second, the server's memory per subscriber, and what one subscriber that
stops reading does to the others and to the server's memory. The Redis rows share one
``redis-server`` the run starts on a free loopback port. Every wait is bounded.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import bench as harness

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

FLOOR = "Trio floor"
STARLETTE = "Starlette+broadcaster"
#: name: (module, server, broadcast URL or None for memory)
APPS: dict[str, tuple[str, str, bool]] = {
    FLOOR: ("broadcast_floor", "hypercorn", False),
    "trioframe": ("broadcast_trioframe", "hypercorn", False),
    STARLETTE: ("broadcast_starlette", "asyncio", False),
    "trioframe redis": ("broadcast_trioframe", "hypercorn", True),
    f"{STARLETTE} redis": ("broadcast_starlette", "asyncio", True),
}


@dataclass
class Settings:
    rounds: int
    #: Subscribers for the delivered-rate and memory measurements.
    subscribers: int
    #: Seconds of each phase (the slow consumer's: twice this).
    seconds: float
    #: Bytes in each message.
    size: int
    #: Deliveries per second offered in the latency phases: at 10 publishes per second to
    #: a tenth as many subscribers, at 100 to a hundredth.
    deliveries: int


FULL = Settings(rounds=3, subscribers=1000, seconds=5.0, size=256, deliveries=2500)
QUICK = Settings(rounds=1, subscribers=200, seconds=2.0, size=256, deliveries=1000)


@harness.contextmanager
def redis_server() -> Iterator[str]:
    """A ``redis-server`` without persistence on a free loopback port; yields its URL."""
    path = shutil.which("redis-server")
    if path is None:
        raise SystemExit("install redis-server (Debian's package) for the Redis rows")
    port = harness.free_port()
    process = subprocess.Popen(
        [path, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "Ready to accept connections" in line:
                break
        else:
            raise RuntimeError("redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(timeout=harness.WAIT_S)


def measure(name: str, redis_url: str, settings: Settings, results: harness.Results) -> None:
    module, with_server, on_redis = APPS[name]
    url = redis_url if on_redis else "memory://"
    env = {"TRIOFRAME_BROADCAST_URL": url, "BROADCAST_URL": url}
    with harness.server(module, with_server, env) as (port, pid):
        before = harness.rss_kib(pid)
        client = subprocess.Popen(
            [
                sys.executable,
                str(harness.HERE / "broadcast_client.py"),
                *map(
                    str,
                    (
                        port,
                        settings.subscribers,
                        settings.seconds,
                        settings.size,
                        settings.deliveries,
                    ),
                ),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            memory: dict[str, int] = {}
            assert client.stdin is not None
            assert client.stdout is not None
            for line in client.stdout:
                if line.startswith("{"):
                    found = json.loads(line)
                    break
                memory[line.strip()] = harness.rss_kib(pid)
                client.stdin.write("go\n")
                client.stdin.flush()
            else:
                raise RuntimeError(f"the broadcast client failed against {name}")
        finally:
            client.kill()
            client.wait(timeout=harness.WAIT_S)
    results.add("KiB per subscriber", name, (memory["subscribed"] - before) / settings.subscribers)
    results.add("MiB grown with one slow", name, (memory["measured"] - memory["slow"]) / 1024)
    for key, value in found.items():
        if isinstance(value, bool):
            value = float(value)
        results.add(key, name, value)


def ratio(results: harness.Results, metric: str, app: str, to: str) -> float:
    return results.median(metric, app) / results.median(metric, to)


TARGETS = [
    (
        "delivered msgs/s at least 0.8x the floor's",
        lambda r: ratio(r, "msgs/s", "trioframe", FLOOR) >= 0.8,
    ),
    (
        "delivered msgs/s above Starlette+broadcaster's, in memory and on Redis",
        lambda r: (
            ratio(r, "msgs/s", "trioframe", STARLETTE) > 1
            and ratio(r, "msgs/s", "trioframe redis", f"{STARLETTE} redis") > 1
        ),
    ),
    (
        "p99 at 10 and 100 publishes/s within 2x the floor's",
        lambda r: (
            ratio(r, "p99 ms at 10/s", "trioframe", FLOOR) <= 2
            and ratio(r, "p99 ms at 100/s", "trioframe", FLOOR) <= 2
        ),
    ),
    (
        "one slow subscriber: closed, server memory flat (under 1 MiB grown), "
        "others' p99 within 2x the floor's",
        lambda r: (
            r.median("slow one closed", "trioframe") == 1
            and r.median("MiB grown with one slow", "trioframe") < 1
            and ratio(r, "p99 ms at 100/s, one slow", "trioframe", FLOOR) <= 2
        ),
    ),
]


def report(results: harness.Results, settings: Settings) -> dict[str, Any]:
    rows = [
        {
            "metric": metric,
            "app": name,
            "median": results.median(metric, name),
            "ratio": ratio(results, metric, name, FLOOR) if results.median(metric, FLOOR) else 0,
            "samples": samples,
        }
        for metric, by_app in results.samples.items()
        for name, samples in by_app.items()
    ]
    targets = [{"target": text, "met": met(results)} for text, met in TARGETS]
    machine = harness.machine()
    machine["versions"] += ", " + ", ".join(
        f"{package} {harness._package_version(package)}"
        for package in ("broadcaster", "coredis", "redis")
    )
    return {"machine": machine, "settings": vars(settings), "rows": rows, "targets": targets}


def main(quick: bool, output: Path) -> None:
    settings = QUICK if quick else FULL
    results = harness.Results()
    with redis_server() as redis_url:
        for number in range(settings.rounds):
            for name in APPS:
                print(f"round {number + 1}: {name} ...", flush=True)
                measure(name, redis_url, settings, results)
    summary = report(results, settings)
    harness.print_report(summary, FLOOR, width=28)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(summary, indent=2) + "\n")
