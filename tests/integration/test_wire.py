"""The wire harness: the app behind hypercorn's real trio server, over in-memory streams."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import h11
import pytest
import trio
import trio.testing
import trio_websocket
from hypercorn.config import Config as HypercornConfig
from hypercorn.utils import LifespanFailureError

from tests.support.loopback import WAIT_S
from trioframe import Response, Trioframe, event_stream, request, websocket
from trioframe._server import GuardedStream
from trioframe.testing import WireServer, websocket_client
from trioframe.testing._wire import _InMemoryConnection

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


@pytest.fixture
def wire_app() -> Trioframe:
    app = Trioframe("wire")

    @app.get("/")
    async def index() -> str:
        return "hello over the wire"

    @app.post("/echo")
    async def echo_body() -> bytes:
        return await request.get_data()

    @app.websocket("/echo")
    async def echo() -> None:
        while True:
            await websocket.send(await websocket.receive())

    @app.websocket("/private")
    async def private() -> Any:
        return "Invalid password", 403, {"X-Reason": "password"}

    @app.websocket("/once")
    async def once() -> None:
        await websocket.send("bye")

    @app.websocket("/crash")
    async def crash() -> None:
        await websocket.accept()
        raise RuntimeError("handler bug")

    return app


async def test_http_request(wire_app: Trioframe) -> None:
    async with WireServer(wire_app) as server:
        response = await server.request("GET", "/")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.body == b"hello over the wire"
        posted = await server.request("POST", "/echo", body=b"payload")
        assert posted.body == b"payload"


async def test_a_refused_websocket_reaches_trio_websocket(wire_app: Trioframe) -> None:
    async with WireServer(wire_app) as server:
        with pytest.raises(trio_websocket.ConnectionRejected) as rejected:
            async with server.websocket("/private"):
                pass
    assert rejected.value.status_code == 403
    assert rejected.value.body == b"Invalid password"
    assert (b"x-reason", b"password") in rejected.value.headers


async def test_websocket_echo(wire_app: Trioframe) -> None:
    async with WireServer(wire_app) as server, server.websocket("/echo") as ws:
        for message in ("hello", b"\x00binary", ""):
            await ws.send_message(message)
            assert await ws.get_message() == message


@pytest.mark.parametrize(
    ("path", "code"), [("/once", 1000), ("/crash", 1011)], ids=["return", "error"]
)
async def test_close_codes_seen_by_the_client(
    wire_app: Trioframe, path: str, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    async def read_until_closed(ws: trio_websocket.WebSocketConnection) -> None:
        while True:
            await ws.get_message()

    async with WireServer(wire_app) as server, server.websocket(path) as ws:
        with pytest.raises(trio_websocket.ConnectionClosed) as closed:
            await read_until_closed(ws)
    assert closed.value.reason is not None
    assert closed.value.reason.code == code


async def test_shutdown_closes_open_websockets_with_1001_at_once(
    wire_app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    wire_app.config["GRACEFUL_SHUTDOWN_TIMEOUT"] = 60.0
    ended: list[str] = []

    @wire_app.teardown_websocket
    async def teardown(error: BaseException | None) -> None:
        ended.append(f"teardown {error!r}")

    async with WireServer(wire_app) as server, server.websocket("/echo") as ws:
        await ws.send_message("still here")
        assert await ws.get_message() == "still here"
        await server.shutdown()
        with pytest.raises(trio_websocket.ConnectionClosed) as closed:
            await ws.get_message()
    assert closed.value.reason is not None
    assert (closed.value.reason.code, closed.value.reason.reason) == (1001, "server shutting down")
    assert ended == ["teardown None"]  # the handler was cancelled, and cleaned up
    # A websocket never finishes by itself: waiting out the grace period would gain nothing.
    assert trio.current_time() < 60


async def test_an_app_serves_again_after_a_shutdown(wire_app: Trioframe) -> None:
    for _ in range(2):
        async with WireServer(wire_app) as server, server.websocket("/echo") as ws:
            await ws.send_message("again")
            assert await ws.get_message() == "again"


async def test_malformed_http_does_not_disturb_other_connections(wire_app: Trioframe) -> None:
    async with WireServer(wire_app) as server, server.websocket("/echo") as ws:
        await ws.send_message("before")
        assert await ws.get_message() == "before"
        with trio.fail_after(5):
            reply = await server.send_raw(b"NOT HTTP AT ALL\r\n\x00\x01\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 400")
        await ws.send_message("after")
        assert await ws.get_message() == "after"
        assert (await server.request("GET", "/")).status_code == 200


async def test_a_startup_failure_stops_the_server() -> None:
    app = Trioframe("failing")

    @app.before_serving
    async def start() -> None:
        raise OSError("database unreachable")

    with pytest.raises(LifespanFailureError, match="OSError: database unreachable"):
        async with WireServer(app):
            raise AssertionError("the server never serves")


async def test_a_custom_config_and_misuse(wire_app: Trioframe) -> None:
    config = HypercornConfig()
    config.graceful_timeout = 0.5
    server = WireServer(wire_app, config)
    with pytest.raises(RuntimeError, match="not serving"):
        await server.connect()
    async with server:
        assert server.config.graceful_timeout == 0.5
    with pytest.raises(RuntimeError, match="entered once"):
        async with server:
            pass


async def test_an_error_in_the_block_stops_the_server_and_propagates(wire_app: Trioframe) -> None:
    async def run() -> None:
        async with WireServer(wire_app) as server:
            assert (await server.request("GET", "/")).status_code == 200
            raise KeyError("test bug")

    with pytest.raises(KeyError, match="test bug"):
        await run()


async def test_an_error_in_a_websocket_block_is_not_wrapped(wire_app: Trioframe) -> None:
    async def converse(server: WireServer) -> None:
        async with server.websocket("/echo") as ws:
            await ws.send_message("x")
            _ = 1 / 0

    async with WireServer(wire_app) as server:
        with pytest.raises(ZeroDivisionError):
            await converse(server)
        assert (await server.request("GET", "/")).status_code == 200  # still serving


async def test_shutdown_during_a_handshake_refuses_with_503(
    wire_app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    @wire_app.websocket("/undecided")
    async def undecided() -> None:
        await trio.sleep_forever()  # never accepts or refuses

    async with WireServer(wire_app) as server, trio.open_nursery() as nursery:
        outcome: list[int] = []

        async def connect() -> None:
            with pytest.raises(trio_websocket.ConnectionRejected) as rejected:
                async with server.websocket("/undecided"):
                    pass
            outcome.append(rejected.value.status_code)

        nursery.start_soon(connect)
        await trio.testing.wait_all_tasks_blocked()
        await server.shutdown()
    assert outcome == [503]


async def test_a_startup_that_hangs_is_bounded_by_the_test(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = Trioframe("hanging")

    @app.before_serving
    async def hang() -> None:
        await trio.sleep_forever()

    with trio.move_on_after(10) as scope:
        async with WireServer(app):
            raise AssertionError("never serving")
    assert scope.cancelled_caught


async def test_a_server_hanging_up_during_the_handshake(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client_end, server_end = trio.testing.memory_stream_pair()
    await server_end.aclose()
    with pytest.raises(trio_websocket.ConnectionTimeout, match="within 5 s"):
        async with websocket_client(client_end, "/ws", connect_timeout=5):
            pass
    assert trio.current_time() == pytest.approx(5)
    with pytest.raises(trio.ClosedResourceError):  # the client's stream was closed too
        await client_end.send_all(b"x")


async def test_a_handshake_cancelled_or_refused_by_the_client(
    wire_app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    @wire_app.websocket("/undecided")
    async def undecided() -> None:
        await trio.sleep_forever()  # never accepts or refuses

    async with WireServer(wire_app) as server:
        with trio.move_on_after(5) as scope:
            async with server.websocket("/undecided"):
                raise AssertionError("never accepted")
        assert scope.cancelled_caught
        with pytest.raises(h11.LocalProtocolError, match="Illegal target"):
            async with server.websocket("/no spaces allowed"):
                raise AssertionError("never sent")
        with pytest.raises(UnicodeEncodeError):
            async with server.websocket("/echo", headers=[("X-Name", "\udc80")]):
                raise AssertionError("never sent")
        assert (await server.request("GET", "/")).status_code == 200  # still serving


async def test_in_flight_requests_get_the_grace_period(
    wire_app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    wire_app.config["GRACEFUL_SHUTDOWN_TIMEOUT"] = 10.0
    ended: list[str] = []

    @wire_app.get("/slow/<int:seconds>")
    async def slow(seconds: int) -> str:
        try:
            await trio.sleep(seconds)
            return f"done after {seconds} s"
        finally:
            ended.append(f"view {seconds} ended at {trio.current_time():.0f}")

    replies: dict[int, int | str] = {}

    async def fetch(server: WireServer, seconds: int) -> None:
        try:
            response = await server.request("GET", f"/slow/{seconds}")
        except h11.RemoteProtocolError as error:  # the server hung up without answering
            replies[seconds] = str(error)
        else:
            replies[seconds] = response.status_code

    async with WireServer(wire_app) as server, trio.open_nursery() as nursery:
        nursery.start_soon(fetch, server, 3)  # finishes within the grace period
        nursery.start_soon(fetch, server, 60)  # does not: cancelled when it runs out
        await trio.testing.wait_all_tasks_blocked()
        await server.shutdown()
    assert replies[3] == 200
    assert isinstance(replies[60], str)
    assert sorted(ended) == ["view 3 ended at 3", "view 60 ended at 10"]


async def test_files_and_event_streams_on_the_wire(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "data.bin").write_bytes(b"0123456789")
    app = Trioframe("wire", root_path=str(tmp_path))

    @app.get("/events")
    async def events() -> Response:
        async def stream() -> AsyncIterator[str]:
            yield "one"
            yield "two"

        return event_stream(stream())

    async with WireServer(app) as server:
        whole = await server.request("GET", "/static/data.bin")
        assert (whole.status_code, whole.body) == (200, b"0123456789")
        etag = whole.headers["ETag"]
        cached = await server.request("GET", "/static/data.bin", headers=[("If-None-Match", etag)])
        assert (cached.status_code, cached.body) == (304, b"")
        part = await server.request("GET", "/static/data.bin", headers=[("Range", "bytes=-4")])
        assert (part.status_code, part.body) == (206, b"6789")
        head = await server.request("HEAD", "/static/data.bin")
        assert (head.headers["Content-Length"], head.body) == ("10", b"")
        stream = await server.request("GET", "/events")
        assert stream.headers["Transfer-Encoding"] == "chunked"
        assert stream.body == b"data: one\n\ndata: two\n\n"
        escape = await server.send_raw(
            b"GET /static/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert escape.startswith(b"HTTP/1.1 404")


async def test_an_in_memory_connection_is_the_stream_the_server_guards() -> None:
    # What trioframe's server asks of an accepted socket stream, over the harness's own.
    client, server_end = trio.testing.memory_stream_pair()
    stream = GuardedStream(_InMemoryConnection(server_end, ("127.0.0.1", 50001)), 30, print)
    assert stream.peer == "127.0.0.1:50001"
    with trio.testing.assert_checkpoints():
        await stream.wait_send_all_might_not_block()
    await stream.send_all(b"hello")
    assert await client.receive_some() == b"hello"
    await client.send_all(b"back")
    assert await stream.receive_some() == b"back"
    await stream.send_eof()
    assert await client.receive_some() == b""
    await stream.aclose()


async def test_an_error_that_propagates_out_of_the_app_is_a_500_and_serving_goes_on(
    app: Trioframe, caplog: pytest.LogCaptureFixture
) -> None:
    # With PROPAGATE_EXCEPTIONS the error leaves the app: the server must cope with it.
    app.config["PROPAGATE_EXCEPTIONS"] = True

    @app.get("/crash")
    async def crash() -> str:
        raise KeyError("the view's own")

    @app.get("/")
    async def index() -> str:
        return "still serving"

    with trio.fail_after(WAIT_S):
        async with WireServer(app) as server:
            crashed = await server.request("GET", "/crash")
            served = await server.request("GET", "/")
    assert crashed.status_code == 500
    assert (served.status_code, served.body) == (200, b"still serving")
    logged = [record for record in caplog.records if record.exc_info]
    assert [type(record.exc_info[1]) for record in logged if record.exc_info] == [KeyError]


async def test_an_absolute_form_target_is_routed_by_its_path_and_host(app: Trioframe) -> None:
    # RFC 9112 3.2.2: proxies may send the whole URL; its host wins over the Host header.
    @app.get("/where")
    async def where() -> str:
        return f"{request.host} {request.path} {request.args['q']}"

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send(f"{websocket.host} {websocket.path}")

    with trio.fail_after(WAIT_S):
        async with WireServer(app) as server:
            answer = await server.send_raw(
                b"GET http://example.com/where?q=1 HTTP/1.1\r\nHost: elsewhere\r\n"
                b"Connection: close\r\n\r\n"
            )
            stream = await server.connect()
            await stream.send_all(
                b"GET http://example.com/ws HTTP/1.1\r\nHost: elsewhere\r\n"
                b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            handshake_and_message = b""
            while not handshake_and_message.endswith(b"example.com /ws"):
                handshake_and_message += await stream.receive_some(4096)
            await stream.aclose()
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b"\r\n\r\nexample.com /where 1")
    assert handshake_and_message.startswith(b"HTTP/1.1 101")


async def test_a_client_that_answers_the_close_is_let_go(app: Trioframe) -> None:
    # The close handshake the other way round: the app closes, the client replies.
    @app.websocket("/bye")
    async def bye() -> None:
        await websocket.accept()
        await websocket.close()  # 1000; the handler lives on until the server stops
        await trio.sleep_forever()

    with trio.fail_after(WAIT_S):
        async with WireServer(app) as server:
            stream = await server.connect()
            await stream.send_all(
                b"GET /bye HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                b"Sec-WebSocket-Version: 13\r\n\r\n"
            )
            received = b""
            while b"\x88\x02\x03\xe8" not in received:  # the server's close frame, 1000
                received += await stream.receive_some(4096)
            # The reply: a masked close frame (mask key of zeros) with 1000.
            await stream.send_all(bytes([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]))
            while await stream.receive_some(4096):  # until the server, having read it, closes
                pass
            await stream.aclose()
    assert received.startswith(b"HTTP/1.1 101")
