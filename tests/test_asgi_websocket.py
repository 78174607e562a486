"""The websocket handler, through the test client and a scripted ASGI peer: the reader, limits,
close codes, refusals and shutdown."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing

from tests.support.asgi import Peer, WebsocketPeer, http_scope, websocket_scope
from trioframe import (
    HTTPException,
    Response,
    SetupError,
    Trioframe,
    WebsocketDisconnect,
    abort,
    websocket,
)
from trioframe.testing import WebsocketResponse

if TYPE_CHECKING:
    from trioframe.testing import TestClient


@pytest.mark.parametrize(
    ("refusal", "status", "body", "header"),
    [
        (("Invalid password", 403), 403, b"Invalid password", None),
        (("Slow down", 429, {"Retry-After": "30"}), 429, b"Slow down", ("Retry-After", "30")),
        (Response("Gone fishing", 503, {"X-Why": "fish"}), 503, b"Gone fishing", ("X-Why", "fish")),
        ({"error": "members only"}, 200, b'{"error":"members only"}\n', None),
    ],
)
async def test_refusals_reach_the_client(
    app: Trioframe,
    client: TestClient,
    refusal: Any,
    status: int,
    body: bytes,
    header: tuple[str, str] | None,
) -> None:
    @app.websocket("/private")
    async def private() -> Any:
        return refusal

    async with client.websocket("/private") as ws:
        try:
            await ws.send("data")
        except WebsocketResponse as error:  # a plain exception, not an ExceptionGroup
            refused = error.response
    assert refused.status_code == status
    assert await refused.get_data() == body
    if header is not None:
        assert refused.headers[header[0]] == header[1]


async def test_abort_refuses_and_error_handlers_apply(app: Trioframe, client: TestClient) -> None:
    @app.errorhandler(401)
    async def unauthorized(error: HTTPException) -> Any:
        return {"login": "/login"}, 401, {"WWW-Authenticate": "Basic"}

    @app.websocket("/admin")
    async def admin() -> None:
        if websocket.authorization is None:
            abort(401)
        await websocket.accept()

    @app.websocket("/forbidden")
    async def forbidden() -> None:
        abort(403, "Admins only.")

    with pytest.raises(WebsocketResponse) as refused:
        async with client.websocket("/admin"):
            pass  # leaving the block raises the refusal nobody looked at
    assert refused.value.response.status_code == 401
    assert refused.value.response.headers["WWW-Authenticate"] == "Basic"
    assert await refused.value.response.get_json() == {"login": "/login"}
    async with client.websocket("/forbidden") as ws:
        with pytest.raises(WebsocketResponse) as page:
            await ws.receive()
    assert "Admins only." in await page.value.response.get_data(as_text=True)


async def test_refusal_without_the_response_extension(app: Trioframe) -> None:
    @app.websocket("/private")
    async def private() -> Any:
        return "Invalid password", 403

    peer = WebsocketPeer()
    with trio.fail_after(5):
        await app(websocket_scope("/private", denial_responses=False), peer.receive, peer.send)
    # A close before accept is how ASGI refuses without the extension; servers send 403.
    assert peer.sent == [{"type": "websocket.close", "code": 1000, "reason": ""}]


async def test_refusal_with_the_response_extension(app: Trioframe) -> None:
    @app.websocket("/private")
    async def private() -> Any:
        return "Invalid password", 403

    peer = WebsocketPeer()
    with trio.fail_after(5):
        await app(websocket_scope("/private"), peer.receive, peer.send)
    assert peer.types == ["websocket.http.response.start", "websocket.http.response.body"]
    assert peer.sent[0]["status"] == 403
    assert peer.sent[1] == {
        "type": "websocket.http.response.body",
        "body": b"Invalid password",
        "more_body": False,
    }


async def test_ending_without_accepting_refuses(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/silent")
    async def silent() -> None:
        return None

    async with client.websocket("/silent") as ws:
        assert ws.response is not None
        assert ws.response.status_code == 403
        ws.response = None


async def test_returning_after_accept_closes_with_1000(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/once")
    async def once() -> None:
        await websocket.send("only message")

    async with client.websocket("/once") as ws:
        assert await ws.receive() == "only message"
        with pytest.raises(WebsocketDisconnect) as closed:
            await ws.receive()
    assert closed.value.code == 1000


async def test_an_error_after_accept_closes_with_1011(
    app: Trioframe, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets
    seen: list[str] = []

    @app.errorhandler(LookupError)
    async def lookup_failed(error: LookupError) -> Any:
        seen.append(repr(error))
        return "unused once accepted", 500

    @app.websocket("/fail")
    async def fail() -> None:
        await websocket.accept()
        raise ZeroDivisionError("bad maths")

    @app.websocket("/handled")
    async def handled() -> None:
        await websocket.accept()
        raise KeyError("no such room")

    async with client.websocket("/fail") as ws:
        with pytest.raises(WebsocketDisconnect) as closed:
            await ws.receive()
    assert (closed.value.code, closed.value.reason) == (1011, "Internal Server Error")
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1  # logged exactly once
    assert errors[0].getMessage() == "Exception on websocket /fail"
    assert "bad maths" in caplog.text

    async with client.websocket("/handled") as ws:
        with pytest.raises(WebsocketDisconnect) as closed:
            await ws.receive()
    assert closed.value.code == 1011
    assert seen == ["KeyError('no such room')"]


async def test_a_failing_child_task_closes_with_1011(
    app: Trioframe, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets

    @app.websocket("/children")
    async def children() -> None:
        async def crash() -> None:
            await websocket.send("about to fail")
            raise RuntimeError("child failed")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(crash)
            nursery.start_soon(trio.sleep_forever)

    async with client.websocket("/children") as ws:
        assert await ws.receive() == "about to fail"
        with pytest.raises(WebsocketDisconnect) as closed:
            await ws.receive()
    assert closed.value.code == 1011
    logged = [record.getMessage() for record in caplog.records]
    assert logged == ["Exception on websocket /children"]  # logged exactly once


async def test_an_error_before_accept_is_a_500_refusal(
    app: Trioframe, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets

    @app.websocket("/early")
    async def early() -> None:
        raise ValueError("config missing")

    with pytest.raises(WebsocketResponse) as refused:
        async with client.websocket("/early"):
            pass
    assert refused.value.response.status_code == 500
    assert "config missing" not in await refused.value.response.get_data(as_text=True)
    assert "config missing" in caplog.text


async def test_testing_propagates_after_closing(app: Trioframe, client: TestClient) -> None:
    closes: list[int] = []

    @app.websocket("/fail")
    async def fail() -> None:
        await websocket.accept()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_raise, KeyError("from a child task"))

    async def converse() -> None:
        async with client.websocket("/fail") as ws:
            try:
                await ws.receive()
            except WebsocketDisconnect as error:
                closes.append(error.code)
                raise

    app.testing = True
    with pytest.raises(KeyError, match="from a child task") as raised:
        await converse()
    assert type(raised.value) is KeyError  # the user's exception, not a group
    assert closes == [1011]


async def _raise(error: Exception) -> None:
    await trio.lowlevel.checkpoint()
    raise error


async def test_a_response_after_accept_is_a_logged_misuse(
    app: Trioframe, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.websocket("/late")
    async def late() -> Any:
        await websocket.send("hello")
        return "Invalid password", 403

    async with client.websocket("/late") as ws:
        assert await ws.receive() == "hello"
        with pytest.raises(WebsocketDisconnect) as closed:
            await ws.receive()
    assert (closed.value.code, closed.value.reason) == (1008, "Forbidden")
    assert "returned a response after accepting" in caplog.text


async def test_disconnect_cancels_a_send_only_handler(
    app: Trioframe, client: TestClient, autojump_clock: trio.testing.MockClock
) -> None:
    events: list[tuple[str, float]] = []

    @app.websocket("/ticker")
    async def ticker() -> None:
        try:
            while True:
                await websocket.send("tick")
                events.append(("sent", trio.current_time()))
                await trio.sleep(10)
        finally:
            events.append(("finally", trio.current_time()))

    async with client.websocket("/ticker") as ws:
        assert await ws.receive() == "tick"
        await trio.sleep(1)
        await ws.close()
    start = events[0][1]
    assert [name for name, _ in events] == ["sent", "finally"]
    assert events[1][1] - start == pytest.approx(1)  # cancelled at once, not at the next tick


async def test_disconnect_cancels_every_task_the_handler_started(
    app: Trioframe, client: TestClient, autojump_clock: trio.testing.MockClock
) -> None:
    cancelled: list[str] = []

    @app.websocket("/ticker")
    async def ticker() -> None:
        async def sending() -> None:
            try:
                while True:
                    await websocket.send(f"t={trio.current_time():.0f}")
                    await trio.sleep(10)
            finally:
                cancelled.append("sending")

        async def receiving() -> None:
            try:
                while True:
                    message = await websocket.receive()
                    assert isinstance(message, str)
                    await websocket.send(f"echo {message}")
            finally:
                cancelled.append("receiving")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(sending)
            nursery.start_soon(receiving)

    async with client.websocket("/ticker") as ws:
        first = await ws.receive()
        assert isinstance(first, str)
        assert first.startswith("t=")
        await ws.send("hi")
        assert await ws.receive() == "echo hi"
        await ws.close(1001)
    assert sorted(cancelled) == ["receiving", "sending"]


async def test_a_disconnect_escaping_the_handler_is_a_normal_end(
    app: Trioframe, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[BaseException | None] = []

    @app.websocket("/group")
    async def group() -> None:
        await websocket.accept()
        await websocket.close(4001)

        async def late_receive() -> None:
            await websocket.receive()  # raises WebsocketDisconnect: the app closed

        async with trio.open_nursery() as nursery:
            nursery.start_soon(late_receive)
            nursery.start_soon(late_receive)

    @app.teardown_websocket
    async def teardown(error: BaseException | None) -> None:
        errors.append(error)

    async with client.websocket("/group") as ws:
        with pytest.raises(WebsocketDisconnect) as closed:
            await ws.receive()
    assert closed.value.code == 4001
    assert errors == [None]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_block_policy_applies_backpressure(app: Trioframe, client: TestClient) -> None:
    app.config["WEBSOCKET_QUEUE_SIZE"] = 4
    release = trio.Event()
    handled: list[str] = []

    @app.websocket("/slow")
    async def slow() -> None:
        await websocket.accept()
        await release.wait()
        while True:
            handled.append(str(await websocket.receive()))

    sent = 0
    async with client.websocket("/slow") as ws, trio.open_nursery() as nursery:

        async def flood() -> None:
            nonlocal sent
            for number in range(100):
                await ws.send(str(number))
                sent += 1

        nursery.start_soon(flood)
        await trio.testing.wait_all_tasks_blocked()
        # The handler's queue (4), one message held by the reader and the server's
        # queue (10) are full; the client waits instead of memory growing.
        assert sent == 4 + 1 + 10
        release.set()
    assert sent == 100
    # In order, none lost; the last few may still be queued when the client leaves.
    assert len(handled) >= 100 - (4 + 1 + 10)
    assert handled == [str(number) for number in range(len(handled))]


async def test_close_policy_closes_with_1008(app: Trioframe, client: TestClient) -> None:
    app.config.update(WEBSOCKET_QUEUE_SIZE=4, WEBSOCKET_QUEUE_OVERFLOW="close")
    finished: list[str] = []

    @app.websocket("/slow")
    async def slow() -> None:
        await websocket.accept()
        try:
            await trio.sleep_forever()
        finally:
            finished.append("cancelled")

    async def flood() -> None:
        for number in range(100):
            await ws.send(str(number))
        await ws.receive()

    async with client.websocket("/slow") as ws:
        with pytest.raises(WebsocketDisconnect) as closed:
            await flood()
    assert closed.value.code == 1008
    assert closed.value.reason == "messages arrive faster than handled"
    assert finished == ["cancelled"]


@pytest.mark.parametrize("message", ["é" * 600, b"x" * 1025], ids=["text", "binary"])
async def test_oversized_messages_close_with_1009(
    app: Trioframe, client: TestClient, message: str | bytes
) -> None:
    app.config["WEBSOCKET_MAX_MESSAGE_SIZE"] = 1024
    received: list[int] = []

    @app.websocket("/small")
    async def small() -> None:
        while True:
            received.append(len(await websocket.receive()))

    async with client.websocket("/small") as ws:
        await ws.send("a" * 1024)  # exactly at the limit
        await ws.send("é" * 512)  # 1024 bytes as UTF-8
        await ws.send(message)
        with pytest.raises(WebsocketDisconnect) as closed:
            await ws.receive()
    assert closed.value.code == 1009
    assert received == [1024, 512]


async def test_no_message_size_limit(app: Trioframe, client: TestClient) -> None:
    app.config["WEBSOCKET_MAX_MESSAGE_SIZE"] = None

    @app.websocket("/big")
    async def big() -> None:
        await websocket.send(str(len(await websocket.receive())))

    async with client.websocket("/big") as ws:
        await ws.send(b"x" * 5_000_000)
        assert await ws.receive() == "5000000"


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("WEBSOCKET_QUEUE_OVERFLOW", "drop", "'block'"),
        ("WEBSOCKET_QUEUE_SIZE", 0, "int >= 1"),
        ("WEBSOCKET_MAX_MESSAGE_SIZE", "1MB", "int or None"),
    ],
)
async def test_invalid_settings_are_setup_errors(
    app: Trioframe, client: TestClient, setting: str, value: object, message: str
) -> None:
    app.config[setting] = value

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()

    with pytest.raises(SetupError, match=message):
        async with client.websocket("/ws"):
            pass


async def test_hooks(app: Trioframe, client: TestClient) -> None:
    events: list[str] = []

    @app.before_websocket
    async def check() -> Any:
        events.append(f"before {websocket.path}")
        if websocket.args.get("ban"):
            return "Banned", 403
        return None

    @app.after_websocket
    def after(response: Response | None) -> Response | None:
        events.append(f"after {None if response is None else response.status_code}")
        return response

    @app.teardown_websocket
    async def teardown(error: BaseException | None) -> None:
        events.append(f"teardown {error!r}")

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send("hi")
        await websocket.receive()

    async with client.websocket("/ws") as conn:
        assert await conn.receive() == "hi"
    assert events == ["before /ws", "teardown None"]  # disconnected: cancelled, no after
    events.clear()
    async with client.websocket("/ws", query_string={"ban": "1"}) as conn:
        assert conn.response is not None
        conn.response = None
    assert events == ["before /ws", "after 403", "teardown None"]


async def test_teardown_runs_on_every_end(
    app: Trioframe, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets
    endings: list[str] = []

    @app.teardown_websocket
    async def teardown(error: BaseException | None) -> None:
        await trio.sleep(0.01)  # may await even when the handler was cancelled
        endings.append(type(error).__name__)

    @app.teardown_websocket
    def broken(error: BaseException | None) -> None:
        raise OSError("metrics down")

    @app.websocket("/ws/<mode>")
    async def ws(mode: str) -> None:
        await websocket.accept()
        if mode == "fail":
            raise ValueError("boom")
        if mode == "wait":
            await trio.sleep_forever()

    for mode in ("return", "fail", "wait"):
        async with client.websocket(f"/ws/{mode}") as conn:
            if mode != "wait":
                with pytest.raises(WebsocketDisconnect):
                    await conn.receive()
    assert endings == ["NoneType", "ValueError", "NoneType"]
    teardown_errors = [
        record for record in caplog.records if record.getMessage().startswith("Error in teardown")
    ]
    assert len(teardown_errors) == 3


def test_a_sync_handler_is_refused(app: Trioframe) -> None:
    with pytest.raises(SetupError, match="must be an 'async def'"):

        @app.websocket("/sync")  # type: ignore[type-var]  # the mistake under test
        def sync() -> None:
            pass


async def test_routing_mismatches(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/live")
    async def live() -> None:
        await websocket.accept()

    @app.get("/page")
    async def page() -> str:
        return "page"

    plain = await client.get("/live")
    assert plain.status_code == 426
    assert plain.headers["Upgrade"] == "websocket"
    for path, status in (("/page", 400), ("/missing", 404)):
        with pytest.raises(WebsocketResponse) as refused:
            async with client.websocket(path):
                pass
        assert refused.value.response.status_code == status


async def test_hypercorn_style_messages(app: Trioframe) -> None:
    @app.websocket("/echo")
    async def echo() -> None:
        while True:
            await websocket.send(await websocket.receive())

    peer = WebsocketPeer(
        [
            {"type": "websocket.receive", "bytes": None, "text": ""},
            {"type": "websocket.receive", "bytes": b"\x01", "text": None},
            {"type": "websocket.unknown"},
        ]
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, websocket_scope("/echo"), peer.receive, peer.send)
        await trio.testing.wait_all_tasks_blocked()
        peer.disconnect(1006)
    assert peer.sent == [
        {"type": "websocket.accept", "subprotocol": None, "headers": []},
        {"type": "websocket.send", "text": "", "bytes": None},
        {"type": "websocket.send", "text": None, "bytes": b"\x01"},
    ]


async def test_the_client_closing_reports_its_code(app: Trioframe, client: TestClient) -> None:
    codes: list[int | None] = []

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        await trio.sleep_forever()

    @app.teardown_websocket
    async def teardown(error: BaseException | None) -> None:
        codes.append(websocket.close_code)

    async with client.websocket("/ws") as conn:
        await conn.close(4002, "going away")
    assert codes == [4002]


async def test_a_client_gone_before_connecting(app: Trioframe) -> None:
    called = False

    @app.websocket("/ws")
    async def ws() -> None:
        nonlocal called
        called = True

    peer = WebsocketPeer([{"type": "websocket.disconnect", "code": 1006}], connect=False)
    await app(websocket_scope("/ws"), peer.receive, peer.send)
    assert not called
    assert peer.sent == []


async def test_http_and_websocket_share_one_app(app: Trioframe, client: TestClient) -> None:
    @app.get("/")
    async def index() -> str:
        return "http"

    @app.websocket("/")
    async def ws() -> None:
        await websocket.send("websocket")

    assert await (await client.get("/")).get_data(as_text=True) == "http"
    async with client.websocket("/") as conn:
        assert await conn.receive() == "websocket"
    peer = Peer()
    await app(http_scope("/"), peer.receive, peer.send)  # an http scope goes to the view
    assert peer.body_chunks == [b"http"]


async def test_a_streamed_refusal(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/stream-refusal")
    async def refuse() -> Any:
        async def explain() -> Any:
            yield "not "
            yield "today"

        return Response(explain(), 503)

    with pytest.raises(WebsocketResponse) as refused:
        async with client.websocket("/stream-refusal"):
            pass
    assert await refused.value.response.get_data() == b"not today"


async def test_unread_messages_do_not_delay_the_close(app: Trioframe, client: TestClient) -> None:
    app.config["WEBSOCKET_QUEUE_SIZE"] = 1
    release = trio.Event()

    @app.websocket("/busy")
    async def busy() -> None:
        await websocket.accept()
        await release.wait()  # returns without reading what the client sent

    async with client.websocket("/busy") as ws:
        for number in range(3):  # one queued, one held by the reader, one with the server
            await ws.send(str(number))
        await trio.testing.wait_all_tasks_blocked()
        release.set()
        with pytest.raises(WebsocketDisconnect) as closed:
            await ws.receive()
    assert closed.value.code == 1000


async def test_a_websocket_connecting_while_the_server_stops_is_refused(
    app: Trioframe, client: TestClient
) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()

    # What a stopping server does first; a handshake already under way then gets 503.
    app.serving_state.close_websockets()
    with pytest.raises(WebsocketResponse) as refused:
        async with client.websocket("/ws"):
            pass
    assert refused.value.response.status_code == 503
    assert b"shutting down" in await refused.value.response.get_data()


class StalledClient(WebsocketPeer):
    """A client that takes ``readable`` messages and then reads nothing more, behind a
    server that gives up on a write after ``give_up_after`` seconds."""

    def __init__(self, readable: int, give_up_after: float) -> None:
        super().__init__()
        self._readable = readable
        self._give_up_after = give_up_after

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] in ("websocket.send", "websocket.close") and self._readable == 0:
            await trio.sleep(self._give_up_after)
            self.disconnect(1006)  # the server ended the connection
            return
        if message["type"] == "websocket.send":
            self._readable -= 1
        await super().send(message)


async def test_a_client_that_stops_reading_is_closed_after_the_send_timeout(
    app: Trioframe, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["WEBSOCKET_SEND_TIMEOUT"] = 10
    ended: list[tuple[str, float]] = []

    @app.websocket("/ticker")
    async def ticker() -> None:
        try:
            while True:
                await websocket.send("tick")
        except WebsocketDisconnect as gone:
            ended.append((f"disconnect {gone.code}", trio.current_time()))
            raise

    peer = StalledClient(readable=3, give_up_after=10)
    with trio.fail_after(60):
        await app(websocket_scope("/ticker"), peer.receive, peer.send)
    assert ended == [("disconnect 1008", 10.0)]
    assert [m["type"] for m in peer.sent] == ["websocket.accept"] + ["websocket.send"] * 3
    warnings = [r for r in caplog.records if "WEBSOCKET_SEND_TIMEOUT" in r.getMessage()]
    assert len(warnings) == 1  # the close that could not be sent either is not logged again
    assert "/ticker" in warnings[0].getMessage()


class LaggingClient(WebsocketPeer):
    """A client that takes each message only ``lag`` seconds after it was sent."""

    def __init__(self, lag: float) -> None:
        super().__init__()
        self._lag = lag

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] != "websocket.accept":
            await trio.sleep(self._lag)
        await super().send(message)


async def test_a_close_as_late_as_the_message_before_it_is_not_logged_again(
    app: Trioframe, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    # A send timeout shorter than the time a close may take: the close, too, is late.
    app.config["WEBSOCKET_SEND_TIMEOUT"] = 2

    @app.websocket("/ticker")
    async def ticker() -> None:
        while True:
            await websocket.send("tick")

    peer = LaggingClient(lag=2)
    with trio.fail_after(60):
        await app(websocket_scope("/ticker"), peer.receive, peer.send)
    assert peer.types == ["websocket.accept", "websocket.send", "websocket.close"]
    assert peer.sent[-1]["code"] == 1008
    assert trio.current_time() == 4  # the message, then the close, each 2 s late
    warnings = [r for r in caplog.records if "WEBSOCKET_SEND_TIMEOUT" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize("value", [0, -1, "soon"])
async def test_an_invalid_send_timeout_is_a_setup_error(
    app: Trioframe, client: TestClient, value: object
) -> None:
    app.config["WEBSOCKET_SEND_TIMEOUT"] = value

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()

    with pytest.raises(SetupError, match="WEBSOCKET_SEND_TIMEOUT"):
        async with client.websocket("/ws"):
            pass


async def test_without_a_send_timeout_a_send_waits_as_long_as_it_takes(
    app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    app.config["WEBSOCKET_SEND_TIMEOUT"] = None
    sent_at: list[float] = []

    @app.websocket("/patient")
    async def patient() -> None:
        await websocket.send("one")
        sent_at.append(trio.current_time())

    peer = StalledClient(readable=0, give_up_after=3600)
    with trio.fail_after(7200):
        await app(websocket_scope("/patient"), peer.receive, peer.send)
    assert sent_at == [3600]


class BurstPeer(WebsocketPeer):
    """A client that connects, waits until the app is idle (its handler waiting in
    ``receive()``), then sends a burst of messages that reach the app without a
    scheduling point between them."""

    def __init__(self, texts: list[str]) -> None:
        super().__init__([{"type": "websocket.receive", "text": text} for text in texts])
        self._bursting = False

    async def receive(self) -> dict[str, Any]:
        if self._messages and (self._bursting or self._messages[0]["type"] == "websocket.connect"):
            message: dict[str, Any] = self._messages.pop(0)
            return message
        await trio.testing.wait_all_tasks_blocked()
        self._bursting = True
        return await super().receive()


@pytest.mark.parametrize(
    ("burst", "handler_waits", "overflows"),
    [(2, True, False), (3, True, True), (2, False, True)],
)
async def test_a_message_goes_straight_to_a_handler_waiting_in_receive(
    burst: int, handler_waits: bool, overflows: bool
) -> None:
    # With room for one message, a burst of two fits: the first is handed to the handler
    # waiting in receive() and never takes the room; only the second waits there. A third
    # finds the room taken and (with the "close" policy) closes the connection with 1008,
    # as the second does when the handler is busy elsewhere.
    app = Trioframe(__name__)
    app.config.update(WEBSOCKET_QUEUE_SIZE=1, WEBSOCKET_QUEUE_OVERFLOW="close")
    received: list[str | bytes] = []

    @app.websocket("/burst")
    async def handler() -> None:
        await websocket.accept()
        if not handler_waits:
            await trio.sleep_forever()
        while True:
            received.append(await websocket.receive())

    peer = BurstPeer([f"message {number}" for number in range(burst)])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, websocket_scope("/burst"), peer.receive, peer.send)
        await trio.testing.wait_all_tasks_blocked()
        peer.disconnect()
    closes = [message for message in peer.sent if message["type"] == "websocket.close"]
    if overflows:
        assert closes[0]["code"] == 1008
    else:
        assert received == [f"message {number}" for number in range(burst)]
        assert closes == []
