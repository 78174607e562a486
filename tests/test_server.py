"""trioframe's server, over loopback sockets and in-memory streams: a connection's writes are
bounded in time, even where hypercorn shields them from cancellation, and a connection can be
ended at once."""

from __future__ import annotations

import copy
import socket
from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing

if TYPE_CHECKING:
    from trioframe import Trioframe

from tests.support.loopback import WAIT_S, http_get
from trioframe._server import SEND_SLICE_BYTES, GuardedStream, Server, _ContinueExtension
from trioframe._serving import hypercorn_config, open_listeners
from trioframe._types import CONTINUE_EXTENSION


class Endpoint:
    """The server's end of a lockstep stream pair, with the ``socket`` hypercorn reads."""

    def __init__(self, stream: trio.abc.HalfCloseableStream) -> None:
        self._stream = stream
        self.socket = _Addresses()
        self.closed = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self._stream.receive_some(max_bytes)

    async def aclose(self) -> None:
        self.closed = True
        await self._stream.aclose()


class _Addresses:
    family = socket.AF_INET

    def getpeername(self) -> tuple[str, int]:
        return ("127.0.0.1", 50000)


def guarded(send_timeout: float | None) -> tuple[GuardedStream, Endpoint, Any, list[str]]:
    """A guarded stream whose peer reads only when the test does (lockstep)."""
    client, server = trio.testing.lockstep_stream_pair()
    endpoint = Endpoint(server)
    timeouts: list[str] = []
    stream = GuardedStream(endpoint, send_timeout, lambda _: timeouts.append("timed out"))
    return stream, endpoint, client, timeouts


async def shielded_send(stream: GuardedStream, data: bytes) -> None:
    # As hypercorn writes: no cancel from outside reaches this send.
    with trio.CancelScope(shield=True):
        await stream.send_all(data)


async def test_a_write_the_client_never_takes_gives_up(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stream, endpoint, _, timeouts = guarded(send_timeout=30)
    with pytest.raises(trio.BrokenResourceError, match="took nothing"):
        await shielded_send(stream, b"x" * 10)
    assert trio.current_time() == 30
    assert timeouts == ["timed out"]
    assert endpoint.closed
    assert stream.aborted
    with pytest.raises(trio.ClosedResourceError):
        await stream.send_all(b"more")


async def test_a_slow_reader_is_not_a_stopped_one(autojump_clock: trio.testing.MockClock) -> None:
    stream, _, client, timeouts = guarded(send_timeout=30)
    data = b"x" * (4 * SEND_SLICE_BYTES)
    received = bytearray()

    async def read_slowly() -> None:
        while len(received) < len(data):
            await trio.sleep(20)  # under the timeout each time, far over it in all
            received.extend(await client.receive_some(SEND_SLICE_BYTES))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read_slowly)
        await shielded_send(stream, data)
    assert received == data
    assert trio.current_time() >= 80
    assert timeouts == []


async def test_without_a_timeout_a_write_waits_for_the_client(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stream, _, client, timeouts = guarded(send_timeout=None)

    async def read_much_later() -> None:
        await trio.sleep(3600)
        await client.receive_some()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read_much_later)
        await shielded_send(stream, b"patience")
    assert trio.current_time() == 3600
    assert timeouts == []


async def test_abort_ends_a_write_in_progress() -> None:
    stream, endpoint, _, timeouts = guarded(send_timeout=None)
    outcome: list[str] = []

    async def write() -> None:
        try:
            await shielded_send(stream, b"never read")
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            outcome.append("ended")

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(write)
            await trio.testing.wait_all_tasks_blocked()
            await stream.abort()
    assert outcome == ["ended"]
    assert endpoint.closed
    assert timeouts == []  # ended on purpose, not timed out


async def test_abort_ends_a_write_bounded_by_the_timeout_without_reporting_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stream, endpoint, _, timeouts = guarded(send_timeout=30)
    outcome: list[str] = []

    async def write() -> None:
        try:
            await shielded_send(stream, b"x" * (3 * SEND_SLICE_BYTES))
        except trio.BrokenResourceError:
            outcome.append(f"ended at {trio.current_time():g}")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(write)
        await trio.sleep(10)  # well inside the timeout
        await stream.abort()
    assert outcome == ["ended at 10"]
    assert endpoint.closed
    assert timeouts == []  # ended on purpose, not timed out


async def test_waiting_until_a_write_might_not_block_passes_through() -> None:
    client, server = trio.testing.memory_stream_pair()
    stream = GuardedStream(Endpoint(server), 30, lambda _: None)
    with trio.testing.assert_checkpoints():
        await stream.wait_send_all_might_not_block()
    await stream.send_all(b"ready")
    assert await client.receive_some() == b"ready"


class KernelEndedEndpoint(Endpoint):
    """A socket the kernel ended: reading fails as Trio reports a failed ``recv``."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(trio.testing.memory_stream_pair()[1])
        self._cause = cause

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        await trio.lowlevel.checkpoint()
        raise trio.BrokenResourceError("socket connection broken") from self._cause


@pytest.mark.parametrize(
    ("cause", "reported"),
    [(TimeoutError("timed out"), ["timed out"]), (ConnectionResetError("reset"), [])],
    ids=["kernel-timeout", "reset"],
)
async def test_a_read_can_be_the_first_to_hear_of_the_kernel_timeout(
    cause: OSError, reported: list[str]
) -> None:
    timeouts: list[str] = []
    stream = GuardedStream(KernelEndedEndpoint(cause), 30, lambda _: timeouts.append("timed out"))
    with pytest.raises(trio.BrokenResourceError):
        await stream.receive_some()
    assert timeouts == reported
    assert stream.aborted is bool(reported)


async def test_a_client_gone_before_it_is_served_is_let_go(app: Trioframe) -> None:
    @app.get("/")
    async def index() -> str:
        return "still serving"

    config = hypercorn_config(app, host="127.0.0.1", port=0, access_log=False)
    server = Server(app, config)
    # A socket with no peer: what accept() hands over when the client reset at once.
    gone = trio.socket.socket()
    with trio.fail_after(WAIT_S):
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(server.serve, await open_listeners(config))
            stream = trio.SocketStream(gone)
            assert GuardedStream(stream, 30, lambda _: None).peer == "a client that left"
            server.open_connection(stream)
            await trio.testing.wait_all_tasks_blocked()
            assert gone.fileno() == -1  # closed, its tasks done
            port = int(binds[0].rsplit(":", 1)[1])
            assert await http_get("127.0.0.1", port, "/") == (200, b"still serving")
            server.stop.gracefully()


def test_the_continue_extension_survives_copies_of_the_scope() -> None:
    # ASGI middleware may copy the scope (hypercorn's ProxyFixMiddleware deep-copies it);
    # the entry names the live connection, which is never copied.
    async def send_continue() -> None:
        pass  # pragma: no cover  # never called here

    entry = _ContinueExtension(send_continue)
    scope = {"extensions": {CONTINUE_EXTENSION: entry}}
    assert copy.copy(entry) is entry
    assert copy.deepcopy(scope)["extensions"][CONTINUE_EXTENSION] is entry
    assert entry["send"] is send_continue
