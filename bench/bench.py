"""Measure trioframe against a hand-written ASGI app, quart-trio and Starlette.

Run it through ``bench/run``, which installs what it needs. Four apps with the same three
endpoints (``bench/apps``) are measured in rounds, each round taking every app in turn, so
drift in the machine's speed hits all of them alike; the report gives medians and ratios to
the hand-written floor, and says whether each target is met. Every run is bounded in time
and talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

HERE = Path(__file__).parent
ROOT = HERE.parent
APPS = {
    "raw ASGI": "raw_asgi",
    "trioframe": "trioframe_app",
    "quart-trio": "quart_trio_app",
    "Starlette": "starlette_app",
}
FLOOR = "raw ASGI"
#: The same four apps grown big: 100 routes in 5 blueprints (mounts), each with a hook.
BIG_APPS = {
    "raw ASGI": "big_raw_asgi",
    "trioframe": "big_trioframe",
    "quart-trio": "big_quart_trio",
    "Starlette": "big_starlette",
}
#: Over loopback, trioframe once more behind its own server (``trioframe run``): the others
#: all run behind hypercorn's ``serve``, and this shows what the server's bounds cost.
OWN_SERVER = "trioframe run"
SERVED = {
    **{name: (module, "hypercorn") for name, module in APPS.items()},
    OWN_SERVER: (
        "trioframe_app",
        "trioframe",
    ),
}
#: Every wait on a server or a load generator is bounded by this.
WAIT_S = 60


@dataclass
class Settings:
    rounds: int
    dispatch_s: float
    http_s: float
    http_connections: int
    ws_s: float
    ws_connections: int
    latency_messages: int
    idle_connections: int
    fan_in_connections: int


FULL = Settings(5, 2.0, 10.0, 32, 10.0, 16, 2000, 1000, 200)
QUICK = Settings(2, 0.5, 2.0, 16, 2.0, 16, 300, 200, 50)


@dataclass
class Results:
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def add(self, metric: str, app: str, value: float) -> None:
        self.samples.setdefault(metric, {}).setdefault(app, []).append(value)

    def median(self, metric: str, app: str) -> float:
        return statistics.median(self.samples[metric][app])


# In-process dispatch -------------------------------------------------------------------

DISPATCH_SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.3"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/json/42",
    "raw_path": b"/json/42",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
    "extensions": {},
    "state": {},
}


async def call_once(app: Callable[..., Any], scope: dict[str, Any] | None = None) -> None:
    """One GET /json/42 (or the request ``scope`` describes), with the least a server could
    do: the request, then (as ASGI says a server does once the response is sent) the
    disconnect."""
    requested = False
    complete = trio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await complete.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            complete.set()

    await app(dict(scope if scope is not None else DISPATCH_SCOPE), receive, send)
    if not complete.is_set():
        raise RuntimeError("the app did not complete its response")


def big_app_scope() -> dict[str, Any]:
    """The big app's request: a route near the end, reading a query argument and a header."""
    from big_shape import HEADER, PATH, QUERY

    return {
        **DISPATCH_SCOPE,
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": QUERY,
        "headers": [*DISPATCH_SCOPE["headers"], HEADER],
    }


async def measure_dispatch(settings: Settings, results: Results) -> None:
    sys.path.insert(0, str(HERE / "apps"))
    scenarios = [
        ("dispatch calls/s", APPS, None),
        ("big app calls/s", BIG_APPS, big_app_scope()),
    ]
    for metric, modules, scope in scenarios:
        apps = {name: importlib.import_module(module).app for name, module in modules.items()}
        for app in apps.values():
            for _ in range(500):  # warm up caches and lazy imports
                await call_once(app, scope)
        for _ in range(settings.rounds):
            for name, app in apps.items():
                calls = 0
                start = time.perf_counter()
                with trio.move_on_after(WAIT_S):
                    while time.perf_counter() - start < settings.dispatch_s:
                        await call_once(app, scope)
                        calls += 1
                results.add(metric, name, calls / (time.perf_counter() - start))


# Over loopback --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(
    module: str, with_server: str, env: dict[str, str] | None = None
) -> Iterator[tuple[int, int]]:
    """Serve ``module`` in its own process with ``with_server`` (``"hypercorn"``,
    ``"trioframe"`` or ``"asyncio"``) and ``env`` added to the environment; yields its port
    and process id."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(HERE / "serve.py"), module, str(port), with_server],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + WAIT_S
        line = process.stdout.readline()
        if line.strip() != "ready" or time.monotonic() > deadline:
            raise RuntimeError(f"{module} did not start: {line!r}")
        yield port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(command: list[str], timeout: float) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    return result.stdout


def wrk(port: int, path: str, settings: Settings) -> tuple[float, float, float]:
    """Requests per second and p50/p99 latency in milliseconds, measured by wrk."""
    output = run(
        [
            "wrk",
            "--threads",
            "1",
            "--connections",
            str(settings.http_connections),
            "--duration",
            f"{round(settings.http_s)}s",
            "--latency",
            f"http://127.0.0.1:{port}{path}",
        ],
        timeout=settings.http_s + WAIT_S,
    )
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw errors:\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    return rate, _percentile(output, "50%"), _percentile(output, "99%")


def _percentile(output: str, label: str) -> float:
    match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", output)
    if match is None:
        raise RuntimeError(f"no {label} latency in wrk's output:\n{output}")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def ws_client(*args: object, timeout: float) -> list[float]:
    output = run([sys.executable, str(HERE / "ws_client.py"), *map(str, args)], timeout)
    return [float(value) for value in output.split()]


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


def idle_memory(port: int, pid: int, connections: int) -> float:
    """The server's resident memory per idle websocket, in KiB."""
    ws_client("latency", port, 10, timeout=WAIT_S)  # warm up: the first connection's costs
    before = rss_kib(pid)
    holder = subprocess.Popen(
        [sys.executable, str(HERE / "ws_client.py"), "idle", str(port), str(connections)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        if holder.stdout.readline().strip() != "open":
            raise RuntimeError("the idle websockets did not open")
        time.sleep(1)  # let the server settle after the burst before reading its memory
        after = rss_kib(pid)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=WAIT_S)
    return (after - before) / connections


def measure_loopback(settings: Settings, results: Results) -> None:
    for _ in range(settings.rounds):
        for name, (module, with_server) in SERVED.items():
            with server(module, with_server) as (port, pid):
                for path, label in (("/plaintext", "plaintext"), ("/json/42", "json")):
                    rate, p50, p99 = wrk(port, path, settings)
                    results.add(f"HTTP {label} req/s", name, rate)
                    results.add(f"HTTP {label} p50 ms", name, p50)
                    results.add(f"HTTP {label} p99 ms", name, p99)
                (rate,) = ws_client(
                    "throughput",
                    port,
                    settings.ws_connections,
                    settings.ws_s,
                    timeout=settings.ws_s + WAIT_S,
                )
                results.add("websocket msgs/s", name, rate)
                p50, _ = ws_client("latency", port, settings.latency_messages, timeout=WAIT_S)
                results.add("websocket RTT us", name, p50)
                rate, p99 = ws_client(
                    "fanin",
                    port,
                    settings.fan_in_connections,
                    settings.ws_s,
                    timeout=settings.ws_s + WAIT_S,
                )
                results.add("fan-in msgs/s", name, rate)
                results.add("fan-in p99 us", name, p99)
            with server(module, with_server) as (port, pid):
                results.add(
                    "KiB per idle websocket",
                    name,
                    idle_memory(port, pid, settings.idle_connections),
                )


# Report ---------------------------------------------------------------------------------


@dataclass
class Target:
    description: str
    metric: str
    met: Callable[[Results], bool]


def ratio(results: Results, metric: str, app: str) -> float:
    """``app``'s median as a share of the floor's, in one run."""
    return results.median(metric, app) / results.median(metric, FLOOR)


def ratio_near_starlette(metric: str) -> Callable[[Results], bool]:
    """trioframe's ratio to the floor is at least Starlette's, less 0.02."""
    return lambda r: ratio(r, metric, "trioframe") >= ratio(r, metric, "Starlette") - 0.02


def p99_near_floor(metric: str) -> Callable[[Results], bool]:
    """trioframe's 99th percentile is at most 1.15 times the floor's."""
    return lambda r: r.median(metric, "trioframe") <= 1.15 * r.median(metric, FLOOR)


#: The targets: medians of one interleaved run of at least 5 rounds (a quick run prints them
#: too, but only a full run counts).
TARGETS = [
    Target(
        "in-process GET /json/42 at least Starlette's calls/s (goal: 2x)",
        "dispatch calls/s",
        lambda r: (
            r.median("dispatch calls/s", "trioframe") >= r.median("dispatch calls/s", "Starlette")
        ),
    ),
    Target(
        "in-process big app at least 1.5x Starlette's",
        "big app calls/s",
        lambda r: (
            r.median("big app calls/s", "trioframe")
            >= 1.5 * r.median("big app calls/s", "Starlette")
        ),
    ),
    Target(
        "HTTP plaintext ratio to the floor at least Starlette's - 0.02",
        "HTTP plaintext req/s",
        ratio_near_starlette("HTTP plaintext req/s"),
    ),
    Target(
        "HTTP plaintext p99 at most 1.15x the floor's",
        "HTTP plaintext p99 ms",
        p99_near_floor("HTTP plaintext p99 ms"),
    ),
    Target(
        "HTTP json ratio to the floor at least Starlette's - 0.02",
        "HTTP json req/s",
        ratio_near_starlette("HTTP json req/s"),
    ),
    Target(
        "HTTP json p99 at most 1.15x the floor's",
        "HTTP json p99 ms",
        p99_near_floor("HTTP json p99 ms"),
    ),
    Target(
        "websocket echo ratio to the floor at least Starlette's - 0.02",
        "websocket msgs/s",
        ratio_near_starlette("websocket msgs/s"),
    ),
    Target(
        "websocket fan-in p99 at most Starlette's",
        "fan-in p99 us",
        lambda r: r.median("fan-in p99 us", "trioframe") <= r.median("fan-in p99 us", "Starlette"),
    ),
    Target(
        "memory per idle websocket at most 1.2x the floor's",
        "KiB per idle websocket",
        lambda r: (
            r.median("KiB per idle websocket", "trioframe")
            <= 1.2 * r.median("KiB per idle websocket", FLOOR)
        ),
    ),
]


def machine() -> dict[str, str]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = found.group(1).strip() if found else cpu
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "date": time.strftime("%Y-%m-%d"),
        "versions": ", ".join(
            [f"{name} {_package_version(name)}" for name in MEASURED_PACKAGES]
            + [f"wrk {_wrk_version()}"]
        ),
    }


#: The packages whose versions decide the numbers, recorded with every run (and wrk's).
MEASURED_PACKAGES = ("trio", "hypercorn", "werkzeug", "starlette", "anyio", "quart-trio")


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _wrk_version() -> str:
    try:
        found = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    words = (found.stdout + found.stderr).split()
    return words[1] if len(words) > 1 else "unknown"


def report(results: Results, settings: Settings) -> dict[str, Any]:
    rows = []
    for metric, by_app in results.samples.items():
        floor = results.median(metric, FLOOR)
        for name in by_app:
            value = results.median(metric, name)
            rows.append(
                {
                    "metric": metric,
                    "app": name,
                    "median": value,
                    "ratio": value / floor if floor else float("nan"),
                    "samples": by_app[name],
                }
            )
    targets = [
        {"target": t.description, "met": t.met(results)}
        for t in TARGETS
        if t.metric in results.samples
    ]
    return {"machine": machine(), "settings": vars(settings), "rows": rows, "targets": targets}


def print_report(summary: dict[str, Any], floor: str = FLOOR, width: int = 14) -> None:
    print(f"\nMachine: {summary['machine']}")
    current = None
    for row in summary["rows"]:
        if row["metric"] != current:
            current = row["metric"]
            print(f"\n{current}")
        print(f"  {row['app']:<{width}} {row['median']:>12,.1f}   {row['ratio']:5.2f}x of {floor}")
    print()
    for target in summary["targets"]:
        print(f"  [{'met' if target['met'] else 'NOT MET'}] {target['target']}")


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--skip-loopback", action="store_true", help="in-process dispatch only")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument(
        "--replot", action="store_true", help="redraw the docs' results from --output; no run"
    )
    parser.add_argument(
        "--broadcast",
        action="store_true",
        help="the broadcast hub's benchmark instead (results in results/broadcast.json)",
    )
    return parser


def write_docs(summary: dict[str, Any]) -> None:
    from chart import write_chart, write_results_page

    write_chart(summary, ROOT / "docs" / "benchmarks" / "chart.png")
    write_results_page(summary, ROOT / "docs" / "benchmarks" / "results.inc")


def main() -> None:
    args = argument_parser().parse_args()
    if args.broadcast:
        import broadcast

        broadcast.main(args.quick, HERE / "results" / "broadcast.json")
        return
    if args.replot:
        write_docs(json.loads(args.output.read_text()))
        return
    settings = QUICK if args.quick else FULL
    results = Results()
    print("in-process dispatch ...", flush=True)
    trio.run(measure_dispatch, settings, results)
    if not args.skip_loopback:
        print("over loopback ...", flush=True)
        measure_loopback(settings, results)
    summary = report(results, settings)
    print_report(summary)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n")
    if not (args.skip_loopback or args.quick):  # only full runs go in the docs
        write_docs(summary)


if __name__ == "__main__":
    main()
