"""Attack ``trioframe run`` over real sockets, and judge how the server took each attack.

Run it with ``bash bench/attacks/run`` (``--quick`` for shorter attacks). It serves
``bench/attacks/app.py`` with ``trioframe run`` on 127.0.0.1 and runs each attack in turn,
while a probe, a well-behaved client, requests ``/`` every 20 ms. For each attack it prints:

- what the attacker got;
- whether the probe was served throughout, and its latency p50 and p99 during the attack;
- the server's resident memory before, at its peak during, and after the attack;
- the Trio tasks and file descriptors left in the server once the attack is over;
- the verdict: **ok** when every probe was answered with a p99 under `PROBE_P99_LIMIT_MS`,
  the tasks and descriptors came back to where they were, memory came back within
  `RSS_SLACK_MB`, and the attacker got what the limits page promises.

Finally it stops the server with Ctrl-C while clients are stalled, and checks that it
exits within its grace period and runs its shutdown hooks. Every wait is bounded; the whole
run takes a few minutes. These are load-shaped checks: the deterministic parts of each
attack are regression tests in ``tests/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

ROOT = Path(__file__).resolve().parents[2]
#: A bound on every single wait on the server.
WAIT_S = 30.0
#: The probe's worst acceptable p99 latency during an attack.
PROBE_P99_LIMIT_MS = 1000.0
#: How much more memory than before an attack the server may keep after it.
RSS_SLACK_MB = 30.0
#: How long the server gets to settle after an attack before it is judged.
SETTLE_S = 10.0
#: The send timeouts the app is served with, so stalled clients are dropped quickly.
SEND_TIMEOUT_S = 2
HANDSHAKE = (
    "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
)


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False) -> bytes:
    """A client websocket frame (RFC 6455 5.2), masked with a zero key: clients must mask,
    and a zero key leaves the payload as it is, so megabytes cost nothing to build."""
    length = len(payload)
    if length < 126:
        size = bytes([0x80 | length])
    elif length < 1 << 16:
        size = bytes([0x80 | 126]) + length.to_bytes(2, "big")
    else:
        size = bytes([0x80 | 127]) + length.to_bytes(8, "big")
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    return bytes([first]) + size + bytes(4) + payload


class Server:
    """``trioframe run`` serving the attack app in a subprocess."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.output = ""
        self.port = 0
        self._more_output = trio.Event()

    async def read_output(self) -> None:
        assert self.process.stdout is not None
        while chunk := await self.process.stdout.receive_some(65536):
            self.output += chunk.decode(errors="replace")
            self._more_output.set()
            self._more_output = trio.Event()

    async def wait_for(self, pattern: str) -> re.Match[str]:
        with trio.fail_after(WAIT_S):
            while (found := re.search(pattern, self.output)) is None:
                await self._more_output.wait()
        return found

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(found.group(1)) / 1024 if found else float("nan")

    async def health(self) -> dict[str, int]:
        request = b"GET /_health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        status, body = await http(self.port, request)
        assert status == 200, f"the server's health check got {status}"
        result: dict[str, int] = json.loads(body)
        return result


async def read_all(
    stream: trio.SocketStream, done: Callable[[bytes], bool] = lambda _: False
) -> bytes:
    """What the server sends until it hangs up (or breaks the connection), or until
    ``done`` says what arrived is enough."""
    received = b""
    while not done(received):
        try:
            chunk = await stream.receive_some(65536)
        except trio.BrokenResourceError:
            break
        if not chunk:
            break
        received += chunk
    return received


def _response_complete(received: bytes) -> bool:
    head, separator, body = received.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: (\d+)", head)
    return bool(separator and length and len(body) >= int(length.group(1)))


async def http(port: int, raw: bytes) -> tuple[int, bytes]:
    """Send a raw request on a new connection; the status and body of the answer (read until
    the server closes or the body is complete)."""
    with trio.fail_after(WAIT_S):
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            await stream.send_all(raw)
            received = await read_all(stream, _response_complete)
    status = re.match(rb"HTTP/1\.1 (\d{3})", received)
    return (int(status.group(1)) if status else 0), received.partition(b"\r\n\r\n")[2]


@dataclass
class Probe:
    """A well-behaved client requesting ``/`` every 20 ms while an attack runs."""

    latencies_ms: list[float] = field(default_factory=list)
    failures: int = 0

    async def run(self, port: int) -> None:
        request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        while True:
            started = time.perf_counter()
            try:
                with trio.fail_after(5):
                    status, _ = await http(port, request)
            except (trio.TooSlowError, OSError):
                status = 0
            if status == 200:
                self.latencies_ms.append((time.perf_counter() - started) * 1000)
            else:
                self.failures += 1
            await trio.sleep(0.02)

    def summary(self) -> tuple[float, float]:
        if not self.latencies_ms:
            return float("nan"), float("nan")
        ordered = sorted(self.latencies_ms)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return statistics.median(ordered), p99


# The attacks: each runs for about ``duration`` seconds and says what the attacker got. ----


async def raw_websocket(port: int, path: str, extra: str = "") -> tuple[trio.SocketStream, bytes]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    stream.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await stream.send_all(HANDSHAKE.format(path=path, extra=extra).encode())
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = await stream.receive_some(4096)
        if not chunk:
            break
        response += chunk
    return stream, response


async def close_code(stream: trio.SocketStream) -> int | None:
    """The code of the first close frame the server sends before it hangs up."""
    data = b""
    with trio.move_on_after(WAIT_S):
        data = await read_all(stream)
    while len(data) >= 2:
        opcode, length = data[0] & 0x0F, data[1] & 0x7F
        start = 2
        if length == 126:
            length, start = int.from_bytes(data[2:4]), 4
        elif length == 127:
            length, start = int.from_bytes(data[2:10]), 10
        if opcode == 0x8:
            return int.from_bytes(data[start : start + 2])
        data = data[start + length :]
    return None


async def vanishing_flood(port: int, duration: float) -> str:
    rounds = 0
    with trio.move_on_after(duration):
        while True:
            stream, _ = await raw_websocket(port, "/flood")
            await stream.receive_some(65536)
            await stream.aclose()
            rounds += 1
    return f"{rounds} send-only websockets left mid-flood"


async def echo_flood_then_leave(port: int, duration: float) -> str:
    payload = frame(0x2, b"y" * 65536)

    async def one() -> None:
        stream, _ = await raw_websocket(port, "/echo")
        with trio.move_on_after(duration / 2):
            while True:
                await stream.send_all(payload)  # echoes pile up unread
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(one)
    return "20 clients flooded an echo without reading, then left"


async def ignored_1009(port: int, duration: float) -> str:
    stream, _ = await raw_websocket(port, "/echo")
    await stream.send_all(frame(0x1, b"x" * (1024 * 1024 + 1), fin=False))
    sent = 0
    with trio.move_on_after(duration):
        try:
            while True:
                await stream.send_all(frame(0x0, b"y" * 65536, fin=False))
                sent += 65536
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
    code = await close_code(stream)
    await stream.aclose()
    return f"close {code}; cut off after {sent // 1024} KiB more"


def make_bomb() -> bytes:
    """One gibibyte of zeros, deflated (as permessage-deflate does) to about one mebibyte."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(bytes(1024 * 1024 * 1024)) + compressor.flush(zlib.Z_SYNC_FLUSH)


#: Made once, before the attacks: making it takes the harness seconds of its own time.
BOMB: list[bytes] = []


async def deflate_bomb(port: int, duration: float) -> str:
    offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    stream, response = await raw_websocket(port, "/echo", offer)
    agreed = b"permessage-deflate" in response.lower()
    bomb = BOMB[0]
    with contextlib.suppress(trio.BrokenResourceError):  # refused before it was all sent
        await stream.send_all(frame(0x2, bomb[:-4], rsv1=True))
    code = await close_code(stream)
    await stream.aclose()
    compression = "agreed" if agreed else "declined"
    return f"compression {compression}; a {len(bomb) // 1024} KiB bomb got close {code}"


async def stalled(port: int, duration: float, request: bytes, count: int) -> str:
    dropped = 0

    async def one() -> None:
        nonlocal dropped
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        stream.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        await stream.send_all(request)
        await stream.receive_some(1024)
        await trio.sleep(duration)  # reads nothing more
        try:
            # Whatever the server left in the pipe, and then: is it still there?
            with trio.move_on_after(WAIT_S):
                while await stream.receive_some(65536):
                    pass
                dropped += 1
        except trio.BrokenResourceError:
            dropped += 1
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(one)
    return f"{dropped} of {count} clients that stopped reading were dropped"


async def big_json(port: int, duration: float) -> str:
    body = json.dumps(list(range(1_800_000))).encode()  # about 15 MiB
    head = (
        f"POST /api/items HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    statuses: list[int] = []
    deadline = trio.current_time() + duration

    async def one() -> None:
        while trio.current_time() < deadline:  # each body is sent and answered whole
            statuses.append((await http(port, head + body))[0])

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(one)
    return f"{len(statuses)} bodies of {len(body) // 2**20} MiB: statuses {sorted(set(statuses))}"


async def chunked_form(port: int, duration: float) -> str:
    head = (
        b"POST /form HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    )
    chunk = b"10000\r\n" + b"a" * 65536 + b"\r\n"
    statuses: list[int] = []
    with trio.move_on_after(duration):
        while True:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.send_all(head)
            answer = b""
            with trio.move_on_after(5):
                try:
                    for _ in range(256):  # up to 16 MiB, unless refused first
                        await stream.send_all(chunk)
                except trio.BrokenResourceError:
                    pass
                answer = await stream.receive_some(4096)
            found = re.match(rb"HTTP/1\.1 (\d{3})", answer)
            statuses.append(int(found.group(1)) if found else 0)
            await stream.aclose()
    return f"{len(statuses)} endless forms: statuses {sorted(set(statuses))}"


async def slowloris(port: int, duration: float) -> str:
    closed = 0

    async def one() -> None:
        nonlocal closed
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        head = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 1000
        try:
            with trio.move_on_after(duration):
                for byte in head:
                    await stream.send_all(bytes([byte]))
                    await trio.sleep(0.5)
        except trio.BrokenResourceError:
            closed += 1
        else:
            try:
                if not await stream.receive_some(1024):
                    closed += 1
            except trio.BrokenResourceError:
                closed += 1
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        for _ in range(200):
            nursery.start_soon(one)
    return f"{closed} of 200 slow heads were cut off by the server"


MALFORMED = {
    "bad header line": b"GET / HTTP/1.1\r\nHost: localhost\r\nNo colon here\r\n\r\n",
    "NUL byte": b"GET / HTTP/1.1\r\nHost: local\x00host\r\n\r\n",
    "two lengths": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
    b"Content-Length: 2\r\n\r\nab",
    "bad chunk": b"POST /form HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "20 KB line": b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "4000 headers": b"GET / HTTP/1.1\r\nHost: localhost\r\n" + b"X-A: b\r\n" * 4000 + b"\r\n",
    "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "both framings": b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "bad host": b"GET / HTTP/1.1\r\nHost: bad host\r\n\r\n",
}


async def malformed_http(port: int, duration: float) -> str:
    answers = {}
    for name, raw in MALFORMED.items():
        answers[name] = (await http(port, raw))[0]
    return ", ".join(f"{name}: {status}" for name, status in answers.items())


TRAVERSALS = [
    "/static/../../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2F..%2F..%2Fetc%2Fpasswd",
    "/static/etc_link/passwd",
    "/static/%00",
]


async def traversal(port: int, duration: float) -> str:
    leaked = 0
    statuses = []
    for path in TRAVERSALS:
        status, body = await http(port, f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        statuses.append(status)
        leaked += b"root:" in body
    return f"statuses {sorted(set(statuses))}; {leaked} leaked /etc/passwd"


async def session_forgery(port: int, duration: float) -> str:
    form = b"user=ada"
    raw = (
        b"POST /login HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 8\r\nConnection: close\r\n\r\n" + form
    )
    with trio.fail_after(WAIT_S):
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            await stream.send_all(raw)
            answer = await read_all(stream)
    cookie = re.search(rb"(?i)set-cookie: session=([^;]+)", answer)
    assert cookie is not None, "the login set no session cookie"
    genuine = cookie.group(1).decode()
    forged = {
        "genuine": genuine,
        "tampered payload": "eyJ1c2VyIjoiYWRtaW4ifQ" + genuine[genuine.index(".") :],
        "tampered signature": genuine[:-4] + "AAAA",
        "unsigned": "eyJ1c2VyIjoiYWRtaW4ifQ",
    }
    statuses = {}
    for name, value in forged.items():
        request = f"GET /me HTTP/1.1\r\nHost: localhost\r\nCookie: session={value}\r\n\r\n"
        statuses[name] = (await http(port, request.encode()))[0]
    return ", ".join(f"{name}: {status}" for name, status in statuses.items())


async def half_close(port: int, duration: float) -> str:
    answers = []
    for last in (False, True):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        close = "Connection: close\r\n" if last else ""
        await stream.send_all(f"GET /slow HTTP/1.1\r\nHost: localhost\r\n{close}\r\n".encode())
        await stream.send_eof()
        with trio.fail_after(WAIT_S):
            answer = await stream.receive_some(4096)
        await stream.aclose()
        answers.append("answered" if answer.startswith(b"HTTP/1.1 200") else "treated as gone")
    return f"keep-alive request: {answers[0]}; last request: {answers[1]}"


@dataclass
class Attack:
    name: str
    run: Callable[[int, float], Awaitable[str]]
    #: What the attacker must have got for the attack to count as handled.
    expect: str
    #: How much more memory the server may keep after it; ``None``: reported, not judged,
    #: for attacks the app must serve in earnest (Python keeps much of what it freed).
    rss_slack_mb: float | None = RSS_SLACK_MB


def _stalled_attack(request: bytes, count: int) -> Callable[[int, float], Awaitable[str]]:
    async def run(port: int, duration: float) -> str:
        return await stalled(port, max(duration, SEND_TIMEOUT_S * 2), request, count)

    return run


ATTACKS = [
    Attack("send-only websocket, client vanishes", vanishing_flood, r"left mid-flood"),
    Attack("echo flooded unread, client leaves", echo_flood_then_leave, r"then left"),
    Attack("continuation frames after 1009", ignored_1009, r"close 1009; cut off"),
    Attack("permessage-deflate bomb", deflate_bomb, r"declined; .* got close 1002"),
    Attack(
        "download, client stops reading",
        _stalled_attack(b"GET /download HTTP/1.1\r\nHost: x\r\n\r\n", 10),
        r"^10 of 10",
    ),
    Attack(
        "event stream, client stops reading",
        _stalled_attack(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n", 10),
        r"^10 of 10",
    ),
    Attack(
        "websocket, client stops reading",
        _stalled_attack(HANDSHAKE.format(path="/ticker", extra="").encode(), 10),
        r"^10 of 10",
    ),
    Attack("4 clients posting 15 MiB JSON", big_json, r"statuses \[201\]", rss_slack_mb=None),
    Attack("endless chunked forms", chunked_form, r"statuses \[413\]"),
    Attack("slowloris, 200 connections", slowloris, r"^200 of 200"),
    Attack(
        "malformed HTTP",
        malformed_http,
        r"line: 400.*NUL byte: 400.*lengths: 400.*chunk: 400.*KB line: 431.*headers: 431"
        r".*preface: 505.*framings: 200.*bad host: 400",
    ),
    Attack("path traversal", traversal, r"statuses \[40[04]\]; 0 leaked"),
    Attack(
        "session forgery",
        session_forgery,
        r"genuine: 200, tampered payload: 401, tampered signature: 401, unsigned: 401",
    ),
    Attack(
        "half-close after a request",
        half_close,
        r"keep-alive request: treated as gone; last request: answered",
    ),
]


@dataclass
class Outcome:
    attack: Attack
    observed: str
    probe: Probe
    rss_before: float
    rss_peak: float
    rss_after: float
    left_tasks: int
    left_fds: int

    @property
    def ok(self) -> bool:
        _, p99 = self.probe.summary()
        return (
            self.probe.failures == 0
            and p99 < PROBE_P99_LIMIT_MS
            and self.left_tasks <= 0
            and self.left_fds <= 0
            and (
                self.attack.rss_slack_mb is None
                or self.rss_after - self.rss_before < self.attack.rss_slack_mb
            )
            and re.search(self.attack.expect, self.observed) is not None
        )


async def run_attack(server: Server, attack: Attack, duration: float) -> Outcome:
    before = await server.health()
    rss_before = rss_peak = server.rss_mb()
    probe = Probe()
    observed = ""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(probe.run, server.port)

        async def sample_memory() -> None:
            nonlocal rss_peak
            while True:
                rss_peak = max(rss_peak, server.rss_mb())
                await trio.sleep(0.1)

        nursery.start_soon(sample_memory)
        with trio.move_on_after(duration + 4 * WAIT_S):
            observed = await attack.run(server.port, duration)
        nursery.cancel_scope.cancel()
    # Settle: the server may still be ending what the attack left.
    after = await server.health()
    with trio.move_on_after(SETTLE_S):
        while after["tasks"] > before["tasks"] or after["fds"] > before["fds"]:
            await trio.sleep(0.2)
            after = await server.health()
    return Outcome(
        attack,
        observed,
        probe,
        rss_before,
        rss_peak,
        server.rss_mb(),
        after["tasks"] - before["tasks"],
        after["fds"] - before["fds"],
    )


async def shutdown_with_stalled_clients(server: Server) -> tuple[bool, str]:
    streams = []
    for request in (
        b"GET /download HTTP/1.1\r\nHost: x\r\n\r\n",
        HANDSHAKE.format(path="/ticker", extra="").encode(),
    ):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        stream.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        await stream.send_all(request)
        await stream.receive_some(1024)
        streams.append(stream)
    await trio.sleep(0.5)
    started = time.perf_counter()
    server.process.send_signal(signal.SIGINT)
    with trio.move_on_after(WAIT_S):
        await server.process.wait()
    took = time.perf_counter() - started
    for stream in streams:
        await stream.aclose()
    clean = "attack-app: stopped cleanly" in server.output
    ok = server.process.returncode == 0 and clean and took < WAIT_S
    return ok, f"exited with {server.process.returncode} after {took:.1f} s; hooks ran: {clean}"


def print_outcome(outcome: Outcome) -> None:
    p50, p99 = outcome.probe.summary()
    verdict = "ok" if outcome.ok else "FAILED"
    print(f"\n[{verdict}] {outcome.attack.name}")
    print(f"  attacker got: {outcome.observed}")
    print(
        f"  probe: {len(outcome.probe.latencies_ms)} served, {outcome.probe.failures} failed, "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    print(
        f"  RSS: {outcome.rss_before:.0f} MB before, {outcome.rss_peak:.0f} MB at peak, "
        f"{outcome.rss_after:.0f} MB after"
    )
    print(f"  left after: {outcome.left_tasks:+d} tasks, {outcome.left_fds:+d} file descriptors")


async def main(duration: float) -> int:
    with tempfile.TemporaryDirectory() as folder:
        static = Path(folder) / "static"
        static.mkdir()
        (static / "style.css").write_text("body { color: teal; }")
        (static / "etc_link").symlink_to("/etc", target_is_directory=True)
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "ATTACK_STATIC": str(static),
            "TRIOFRAME_RESPONSE_SEND_TIMEOUT": str(SEND_TIMEOUT_S),
            "TRIOFRAME_WEBSOCKET_SEND_TIMEOUT": str(SEND_TIMEOUT_S),
        }
        command = [sys.executable, "-m", "trioframe", "run", "bench/attacks/app.py:app"]
        process = await trio.lowlevel.open_process(
            [*command, "--port", "0", "--no-access-log"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        server = Server(process)
        failures = 0
        BOMB.append(await trio.to_thread.run_sync(make_bomb))
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(server.read_output)
                port = await server.wait_for(r"Running on http://127\.0\.0\.1:(\d+)")
                server.port = int(port.group(1))
                await server.wait_for("attack-app: started")
                for attack in ATTACKS:
                    outcome = await run_attack(server, attack, duration)
                    print_outcome(outcome)
                    failures += not outcome.ok
                ok, observed = await shutdown_with_stalled_clients(server)
                print(f"\n[{'ok' if ok else 'FAILED'}] shutdown with clients that stopped reading")
                print(f"  {observed}")
                failures += not ok
        finally:
            if process.returncode is None:
                process.kill()
    print(f"\n{len(ATTACKS) + 1 - failures} of {len(ATTACKS) + 1} handled as promised")
    return 1 if failures else 0


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="shorter attacks, for a smoke run")
    return parser


if __name__ == "__main__":
    arguments = argument_parser().parse_args()
    sys.exit(trio.run(main, 2.0 if arguments.quick else 6.0))
