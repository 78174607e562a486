"""The ``Websocket`` wrapper through the test client, a scripted ASGI peer and direct calls with
a recording transport: its state machine, state by operation."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing
from werkzeug.datastructures import Headers

from tests.support.asgi import WebsocketPeer, websocket_scope
from trioframe import (
    CloseCode,
    OutsideContextError,
    Response,
    Trioframe,
    Websocket,
    WebsocketDisconnect,
    url_for,
    websocket,
)

if TYPE_CHECKING:
    import uuid

    from trioframe.testing import TestClient


async def test_echo_keeps_the_message_type(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/echo")
    async def echo() -> None:
        while True:
            await websocket.send(await websocket.receive())

    async with client.websocket("/echo") as ws:
        for message in ("hello", b"\x00\x01", "", b""):
            await ws.send(message)
            assert await ws.receive() == message


async def test_the_websocket_global(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/rooms/<int:room>/<uuid:token>")
    async def room(room: int, token: uuid.UUID) -> None:
        auth = websocket.authorization
        await websocket.send_json(
            {
                "room": room,
                "token": str(token),
                "path": websocket.path,
                "args": websocket.args.getlist("tag"),
                "header": websocket.headers["X-Client"],
                "cookie": websocket.cookies["session"],
                "auth": [auth.username, auth.password] if auth else None,
                "host": websocket.host,
                "scheme": websocket.scheme,
                "remote_addr": websocket.remote_addr,
                "subprotocols": websocket.requested_subprotocols,
                "endpoint": websocket.endpoint,
            }
        )

    client.set_cookie("session", "s1")
    token = "12345678-1234-5678-1234-567812345678"
    async with client.websocket(
        f"/rooms/7/{token}",
        query_string={"tag": ["a", "b"]},
        headers={"X-Client": "test"},
        subprotocols=["chat.v2", "chat.v1"],
        auth=("ada", "pw"),
    ) as ws:
        assert await ws.receive_json() == {
            "room": 7,
            "token": token,
            "path": f"/rooms/7/{token}",
            "args": ["a", "b"],
            "header": "test",
            "cookie": "s1",
            "auth": ["ada", "pw"],
            "host": "localhost",
            "scheme": "ws",
            "remote_addr": "127.0.0.1",
            "subprotocols": ["chat.v2", "chat.v1"],
            "endpoint": "room",
        }


async def test_accept_with_a_subprotocol_and_headers(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/chat")
    async def chat() -> None:
        await websocket.accept(headers={"X-Server": "trioframe"}, subprotocol="chat.v1")
        await websocket.accept(headers={"X-Server": "trioframe"}, subprotocol="chat.v1")
        await websocket.send(websocket.subprotocol or "none")

    async with client.websocket("/chat", subprotocols=["chat.v2", "chat.v1"]) as ws:
        assert ws.subprotocol == "chat.v1"
        assert ws.headers["X-Server"] == "trioframe"
        assert await ws.receive() == "chat.v1"


async def test_accept_misuse_is_an_error(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/unrequested")
    async def unrequested() -> None:
        await websocket.accept(subprotocol="mqtt")

    @app.websocket("/twice")
    async def twice() -> None:
        await websocket.accept(subprotocol="a")
        await websocket.accept(subprotocol="b")

    app.testing = True
    with pytest.raises(ValueError, match=r"client asked for \['a', 'b'\]"):
        async with client.websocket("/unrequested", subprotocols=["a", "b"]):
            pass
    with pytest.raises(RuntimeError, match="again with different arguments"):
        async with client.websocket("/twice", subprotocols=["a", "b"]) as ws:
            await ws.receive()


async def test_json_messages(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/sum")
    async def add() -> None:
        while True:
            numbers = await websocket.receive_json()
            await websocket.send_json({"sum": sum(numbers)})

    async with client.websocket("/sum") as ws:
        await ws.send_json([1, 2, 3])
        assert await ws.receive_json() == {"sum": 6}
        await ws.send(b"[4]")  # binary JSON is fine too
        assert await ws.receive_json() == {"sum": 4}
        await ws.send("not json")
        with pytest.raises(WebsocketDisconnect) as closed:
            await ws.receive()
    assert (closed.value.code, closed.value.reason) == (1008, "Bad Request")


async def test_a_json_nesting_bomb_closes_with_1008_and_logs_nothing(
    app: Trioframe, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["WEBSOCKET_MAX_MESSAGE_SIZE"] = None

    @app.websocket("/json")
    async def parse() -> None:
        await websocket.receive_json()

    async with client.websocket("/json") as ws:
        await ws.send("[" * 100_000 + "]" * 100_000)
        with pytest.raises(WebsocketDisconnect) as closed:
            await ws.receive()
    assert closed.value.code == 1008
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_the_app_closes_with_a_code_and_reason(app: Trioframe, client: TestClient) -> None:
    after_close: list[str] = []

    @app.websocket("/bye")
    async def bye() -> None:
        await websocket.send("closing")
        await websocket.close(4000, "done for today")
        await websocket.close()  # closing again does nothing
        for operation in (websocket.receive(), websocket.send("late")):
            try:
                await operation
            except WebsocketDisconnect as error:
                after_close.append(f"{error.code} {error.reason}")

    async with client.websocket("/bye") as ws:
        assert await ws.receive() == "closing"
        with pytest.raises(WebsocketDisconnect) as closed:
            await ws.receive()
        assert (closed.value.code, closed.value.reason) == (4000, "done for today")
        assert ws.close_code == 4000
    assert after_close == ["4000 done for today", "4000 done for today"]


@pytest.mark.parametrize(
    ("code", "reason", "message"),
    [(1005, "", "cannot be sent"), (999, "", "cannot be sent"), (1000, "x" * 124, "123 bytes")],
)
async def test_invalid_close_arguments(
    app: Trioframe, client: TestClient, code: int, reason: str, message: str
) -> None:
    @app.websocket("/close")
    async def close() -> None:
        await websocket.accept()
        await websocket.close(code, reason)

    app.testing = True
    with pytest.raises(ValueError, match=message):
        async with client.websocket("/close"):
            pass


async def test_close_before_accept_refuses(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/closed")
    async def closed() -> None:
        await websocket.close()

    async with client.websocket("/closed") as ws:
        assert ws.response is not None
        assert ws.response.status_code == 403
        ws.response = None  # seen; nothing to raise on leaving


async def test_two_tasks_receiving_is_an_error(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/race")
    async def race() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(websocket.receive)
            nursery.start_soon(websocket.receive)

    app.testing = True
    with pytest.raises(trio.BusyResourceError, match="already receiving"):
        async with client.websocket("/race"):
            pass


async def test_concurrent_sends_take_turns(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/two-senders")
    async def two_senders() -> None:
        async def send_all(name: str) -> None:
            for number in range(40):
                await websocket.send(f"{name}{number}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_all, "a")
            nursery.start_soon(send_all, "b")

    async with client.websocket("/two-senders") as ws:
        # The client reads nothing yet: the server's queue fills, sends wait their turn.
        await trio.testing.wait_all_tasks_blocked()
        received = [str(await ws.receive()) for _ in range(80)]
    for name in "ab":
        mine = [message for message in received if message.startswith(name)]
        assert mine == [f"{name}{number}" for number in range(40)]  # whole and in order


async def test_send_takes_text_or_bytes(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/types")
    async def types() -> None:
        await websocket.send(bytearray(b"ok"))
        await websocket.send(memoryview(b"view"))
        await websocket.send(42)  # type: ignore[arg-type]  # the mistake under test

    async def converse() -> None:
        async with client.websocket("/types") as ws:
            assert await ws.receive() == b"ok"
            assert await ws.receive() == b"view"
            await ws.receive()

    app.testing = True
    with pytest.raises(TypeError, match="use send_json"):
        await converse()


async def test_the_global_is_visible_in_tasks_the_handler_starts(
    app: Trioframe, client: TestClient
) -> None:
    @app.websocket("/fan/<name>")
    async def fan(name: str) -> None:
        async def report(label: str) -> None:
            await websocket.send(f"{label}:{websocket.view_args}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(report, "child")

    async with client.websocket("/fan/x") as ws:
        assert await ws.receive() == "child:{'name': 'x'}"


async def test_a_rejected_websocket_refuses_further_use(app: Trioframe, client: TestClient) -> None:
    kept: list[Websocket] = []

    @app.before_websocket
    async def keep() -> Any:
        kept.append(websocket._get_current_object())  # type: ignore[attr-defined]
        return "No entry", 403

    @app.websocket("/kept")
    async def handler() -> None:
        await websocket.accept()

    async with client.websocket("/kept") as ws:
        assert ws.response is not None
        ws.response = None
    for operation in (kept[0].send("x"), kept[0].accept()):
        with pytest.raises(RuntimeError, match="not allowed in state REJECTED"):
            await operation


async def test_url_for_in_and_to_websockets(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/live/<int:feed>")
    async def live(feed: int) -> None:
        await websocket.send(url_for("live", feed=feed + 1))

    @app.get("/page")
    async def page() -> str:
        return url_for("live", feed=1)

    async with client.websocket("/live/1") as ws:
        assert await ws.receive() == "ws://localhost/live/2"
    assert await (await client.get("/page")).get_data(as_text=True) == "ws://localhost/live/1"


def test_the_global_outside_a_handler() -> None:
    with pytest.raises(OutsideContextError, match=re.escape("client().websocket(path)")):
        _ = websocket.path


async def test_a_task_outside_the_handler_sees_the_disconnect(
    app: Trioframe, client: TestClient
) -> None:
    registry: list[Websocket] = []
    outcome: list[int] = []

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        registry.append(websocket._get_current_object())  # type: ignore[attr-defined]
        await trio.sleep_forever()

    async def listen(socket: Websocket) -> None:
        try:
            await socket.receive()
        except WebsocketDisconnect as error:
            outcome.append(error.code)

    # The listener runs in the test's nursery, not under the handler.
    async with trio.open_nursery() as nursery, client.websocket("/ws") as conn:
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(listen, registry[0])
        await trio.testing.wait_all_tasks_blocked()
        await conn.close(4005)
    assert outcome == [4005]


async def test_accepting_after_the_client_left_is_a_disconnect(app: Trioframe) -> None:
    outcome: list[int] = []

    @app.websocket("/slow-handshake")
    async def slow() -> None:
        try:
            await trio.sleep_forever()  # still deciding whether to accept
        finally:
            with trio.CancelScope(shield=True):
                try:
                    await websocket.accept()
                except WebsocketDisconnect as error:
                    outcome.append(error.code)

    peer = WebsocketPeer()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, websocket_scope("/slow-handshake"), peer.receive, peer.send)
        await trio.testing.wait_all_tasks_blocked()
        peer.disconnect(1001)
    assert outcome == [1001]
    assert peer.sent == []


async def test_mounted_under_a_root_path(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send(f"{websocket.root_path} {websocket.path}")

    async with client.websocket("/ws", root_path="/app") as conn:
        assert await conn.receive() == "/app /ws"


class RecordingTransport:
    """A transport that records what a `Websocket` asks of it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def accept(self, subprotocol: str | None, headers: Headers) -> None:
        self.calls.append("accept")

    async def send(self, data: str | bytes) -> None:
        self.calls.append(f"send {data!r}")

    async def close(self, code: int, reason: str) -> None:
        self.calls.append(f"close {code}")

    async def reject(self, response: Response) -> None:
        self.calls.append(f"reject {response.status_code}")


def make_websocket(transport: RecordingTransport) -> Websocket:
    _, inbound = trio.open_memory_channel[str | bytes](1)
    return Websocket(
        "ws",
        None,
        "",
        "/",
        b"",
        Headers(),
        None,
        subprotocols=[],
        transport=transport,
        inbound=inbound,
    )


async def test_the_state_machine_refuses_a_rejection_once_accepted() -> None:
    transport = RecordingTransport()
    socket = make_websocket(transport)
    assert socket.state.name == "HANDSHAKE"
    await socket.send("hi")  # accepts implicitly
    assert socket.state.name == "CONNECTED"
    assert socket.accepted
    with pytest.raises(RuntimeError, match="not allowed in state CONNECTED"):
        await socket._reject(Response("too late", 403))
    await socket.close(1001)
    assert socket.state.name == "CLOSED"
    assert transport.calls == ["accept", "send 'hi'", "close 1001"]


# Every (state, operation) pair: what it does, where it leads, what reaches the transport.
# Written out here by hand, apart from the table in trioframe/_websocket.py, so that a
# change to either shows up as a failure.
STATE_OPERATION_OUTCOMES = {
    ("HANDSHAKE", "accept"): ("done", "CONNECTED", ["accept"]),
    ("HANDSHAKE", "receive"): ("done", "CONNECTED", ["accept"]),
    ("HANDSHAKE", "send"): ("done", "CONNECTED", ["accept", "send 'x'"]),
    ("HANDSHAKE", "close"): ("done", "CLOSED", ["close 1000"]),
    ("HANDSHAKE", "reject"): ("done", "REJECTED", ["reject 403"]),
    ("HANDSHAKE", "client close"): ("done", "CLOSED", []),
    ("CONNECTED", "accept"): ("done", "CONNECTED", []),
    ("CONNECTED", "receive"): ("done", "CONNECTED", []),
    ("CONNECTED", "send"): ("done", "CONNECTED", ["send 'x'"]),
    ("CONNECTED", "close"): ("done", "CLOSED", ["close 1000"]),
    ("CONNECTED", "reject"): ("RuntimeError", "CONNECTED", []),
    ("CONNECTED", "client close"): ("done", "CLOSED", []),
    ("REJECTED", "accept"): ("RuntimeError", "REJECTED", []),
    ("REJECTED", "receive"): ("RuntimeError", "REJECTED", []),
    ("REJECTED", "send"): ("RuntimeError", "REJECTED", []),
    ("REJECTED", "close"): ("done", "REJECTED", []),
    ("REJECTED", "reject"): ("RuntimeError", "REJECTED", []),
    ("REJECTED", "client close"): ("done", "REJECTED", []),
    ("CLOSED", "accept"): ("done", "CLOSED", []),
    ("CLOSED", "receive"): ("WebsocketDisconnect", "CLOSED", []),
    ("CLOSED", "send"): ("WebsocketDisconnect", "CLOSED", []),
    ("CLOSED", "close"): ("done", "CLOSED", []),
    ("CLOSED", "reject"): ("RuntimeError", "CLOSED", []),
    ("CLOSED", "client close"): ("done", "CLOSED", []),
}
OPERATION_NAMES = {
    "accept": "websocket.accept()",
    "receive": "websocket.receive()",
    "send": "websocket.send()",
    "reject": "websocket rejection",
}


async def websocket_in(state: str) -> tuple[Websocket, RecordingTransport]:
    """A websocket brought into ``state`` by the operations that lead there, with one
    message waiting from the client and a transport whose record starts empty."""
    transport = RecordingTransport()
    sender, inbound = trio.open_memory_channel[str | bytes](1)
    sender.send_nowait("from the client")
    socket = Websocket(
        "ws", None, "", "/", b"", Headers(), None,
        subprotocols=[], transport=transport, inbound=inbound,
    )  # fmt: skip
    if state == "REJECTED":
        await socket._reject(Response("no", 403))
    elif state != "HANDSHAKE":
        await socket.accept()
        if state == "CLOSED":
            await socket.close()
    transport.calls.clear()
    assert socket.state.name == state
    return socket, transport


async def apply(socket: Websocket, operation: str) -> None:
    if operation == "accept":
        await socket.accept()
    elif operation == "receive":
        assert await socket.receive() == "from the client"
    elif operation == "send":
        await socket.send("x")
    elif operation == "close":
        await socket.close()
    elif operation == "reject":
        await socket._reject(Response("no", 403))
    else:
        socket._peer_closed(1001, "bye")


@pytest.mark.parametrize(("state", "operation"), list(STATE_OPERATION_OUTCOMES))
async def test_every_state_and_operation(state: str, operation: str) -> None:
    outcome, next_state, calls = STATE_OPERATION_OUTCOMES[state, operation]
    socket, transport = await websocket_in(state)
    if outcome == "done":
        await apply(socket, operation)
    elif outcome == "WebsocketDisconnect":
        with pytest.raises(WebsocketDisconnect) as disconnect:
            await apply(socket, operation)
        assert disconnect.value.code == 1000  # the close that got it there
    else:
        # A misuse names both the state and the operation.
        message = f"{re.escape(OPERATION_NAMES[operation])} is not allowed in state {state}"
        with pytest.raises(RuntimeError, match=message):
            await apply(socket, operation)
    assert socket.state.name == next_state
    assert transport.calls == calls


async def test_the_two_directions_of_closing_are_recorded_apart() -> None:
    socket, _ = await websocket_in("CONNECTED")
    await socket.close(CloseCode.GOING_AWAY, "restarting")
    assert not socket._peer_closed(1000, "")  # too late to end the handler: closed already
    assert socket.app_close == (1001, "restarting")
    assert socket.client_close == (1000, "")
    assert (socket.close_code, socket.close_reason) == (1001, "restarting")  # the first

    socket, _ = await websocket_in("CONNECTED")
    assert socket._peer_closed(CloseCode.ABNORMAL, "")
    await socket.close()
    assert socket.app_close is None  # nothing sent: the client had gone
    assert socket.close_code == 1006


def test_close_codes_have_their_rfc_6455_values() -> None:
    assert [int(code) for code in CloseCode] == [
        1000, 1001, 1002, 1003, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014
    ]  # fmt: skip
    assert WebsocketDisconnect(CloseCode.POLICY_VIOLATION).code == 1008
    assert f"{CloseCode.INTERNAL_ERROR}" == "1011"  # logs and messages show the number


async def test_the_scope_and_url_root_are_quart_s(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send(f"{websocket.scope['type']} {websocket.url_root}")

    async with client.websocket("/ws") as connection:
        assert await connection.receive() == "websocket ws://localhost/"
