"""The test client's websockets, as users drive them: messages, refusals as
``WebsocketResponse``, misuse."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing

from trioframe import Trioframe, WebsocketDisconnect, websocket
from trioframe.testing import TestWebsocketConnection, WebsocketResponse

if TYPE_CHECKING:
    from trioframe.testing import TestClient


async def test_a_refusal_is_raised_by_the_first_send_or_receive(
    app: Trioframe, client: TestClient
) -> None:
    @app.websocket("/private")
    async def private() -> Any:
        return "Invalid password", 403

    for operation in ("send", "receive"):
        async with client.websocket("/private") as ws:
            assert ws.response is not None  # recorded on entry
            first_use = ws.send("data") if operation == "send" else ws.receive()
            with pytest.raises(WebsocketResponse) as refused:
                await first_use
            assert refused.value.response.status_code == 403
            assert "403" in str(refused.value)
        # raised once: leaving the block does not raise it again


async def test_a_refusal_nobody_looked_at_is_raised_on_leaving(
    app: Trioframe, client: TestClient
) -> None:
    @app.websocket("/private")
    async def private() -> Any:
        return "Invalid password", 403

    with pytest.raises(WebsocketResponse):
        async with client.websocket("/private"):
            pass


async def test_the_test_body_exception_is_not_wrapped(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.receive()

    with pytest.raises(ZeroDivisionError) as raised:
        async with client.websocket("/ws"):
            _ = 1 / 0
    assert type(raised.value) is ZeroDivisionError


async def test_leaving_waits_for_the_handler_and_leaves_no_task(
    app: Trioframe, client: TestClient, autojump_clock: trio.testing.MockClock
) -> None:
    finished = trio.Event()

    @app.websocket("/ws")
    async def ws() -> None:
        async def worker() -> None:
            try:
                await trio.sleep_forever()
            finally:
                with trio.CancelScope(shield=True):
                    await trio.sleep(5)  # slow cleanup is waited for
                finished.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(worker)
            await websocket.receive()

    nurseries_before = len(trio.lowlevel.current_task().child_nurseries)
    async with client.websocket("/ws") as conn:
        assert len(trio.lowlevel.current_task().child_nurseries) == nurseries_before + 1
        await conn.send("x")
    assert finished.is_set()
    assert len(trio.lowlevel.current_task().child_nurseries) == nurseries_before


async def test_the_server_close_code_reaches_receive_and_send(
    app: Trioframe, client: TestClient
) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send("never read")
        await websocket.close(4100, "bye")

    async with client.websocket("/ws") as conn:
        assert await conn.receive() == "never read"
        with pytest.raises(WebsocketDisconnect) as closed:
            await conn.receive()
        assert (closed.value.code, closed.value.reason) == (4100, "bye")
        with pytest.raises(WebsocketDisconnect):
            await conn.send("after close")

    async with client.websocket("/ws") as conn:
        await trio.testing.wait_all_tasks_blocked()  # the app has closed and finished
        with pytest.raises(WebsocketDisconnect) as closed:
            await conn.send("too late")
        assert closed.value.code == 4100


async def test_client_close_is_final(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.receive()

    async with client.websocket("/ws") as conn:
        await conn.close(4003, "done")
        await conn.close()  # a second close does nothing
        with pytest.raises(WebsocketDisconnect) as closed:
            await conn.receive()
        assert (closed.value.code, closed.value.reason) == (4003, "done")


async def test_two_clients_chat_through_the_app(app: Trioframe, client: TestClient) -> None:
    rooms: dict[str, trio.MemorySendChannel[str]] = {}

    @app.websocket("/chat/<name>")
    async def chat(name: str) -> None:
        outbox, inbox = trio.open_memory_channel[str](10)
        rooms[name] = outbox

        async def deliver() -> None:
            async for line in inbox:
                await websocket.send(line)

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(deliver)
                while True:
                    text = await websocket.receive()
                    assert isinstance(text, str)
                    for other, channel in rooms.items():
                        if other != name:
                            await channel.send(f"{name}: {text}")
        finally:
            del rooms[name]

    async with client.websocket("/chat/ada") as ada, client.websocket("/chat/bob") as bob:
        await ada.send("hello bob")
        assert await bob.receive() == "ada: hello bob"
        await bob.send("hi ada")
        assert await ada.receive() == "bob: hi ada"
    assert rooms == {}


async def test_an_app_that_stops_reading_is_cancelled_on_leaving(
    app: Trioframe, client: TestClient
) -> None:
    app.config["WEBSOCKET_QUEUE_SIZE"] = 1
    cancelled = trio.Event()

    @app.websocket("/stuck")
    async def stuck() -> None:
        await websocket.accept()
        try:
            await trio.sleep_forever()  # never reads
        finally:
            cancelled.set()

    async with client.websocket("/stuck") as conn:
        for number in range(12):  # fills the handler queue, the reader and the server queue
            await conn.send(str(number))
    assert cancelled.is_set()


async def test_a_raw_app_ending_without_close(app: Trioframe) -> None:
    class Abrupt(Trioframe):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "bytes": b"last"})

    async with Abrupt("abrupt").test_client().websocket("/") as conn:
        assert await conn.receive() == b"last"
        with pytest.raises(WebsocketDisconnect) as closed:
            await conn.receive()
        assert closed.value.code == 1011


@pytest.mark.parametrize(
    ("messages", "during"),
    [
        ([{"type": "websocket.send", "text": "early"}], "handshake"),
        ([{"type": "websocket.accept"}, {"type": "websocket.accept"}], "open websocket"),
    ],
)
async def test_protocol_errors_from_a_raw_app(messages: list[dict[str, Any]], during: str) -> None:
    class Broken(Trioframe):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await receive()
            for message in messages:
                await send(message)
            await receive()

    with pytest.raises(RuntimeError, match=f"during the handshake|on an {during}"):
        async with Broken("broken").test_client().websocket("/") as conn:
            await conn.receive()


async def test_an_app_failing_before_any_message(app: Trioframe) -> None:
    class Failing(Trioframe):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            raise LookupError("no handler at all")

    with pytest.raises(LookupError, match="no handler at all"):
        async with Failing("failing").test_client().websocket("/"):
            pass


def test_a_connection_can_be_made_outside_a_trio_run(client: TestClient) -> None:
    assert isinstance(client.websocket("/"), TestWebsocketConnection)


async def test_a_connection_is_entered_once(app: Trioframe) -> None:
    @app.websocket("/")
    async def ws() -> None:
        await websocket.send("ok")

    connection = app.test_client().websocket("/")
    async with connection as conn:
        assert await conn.receive() == "ok"
    with pytest.raises(RuntimeError, match="entered once"):
        async with connection:
            pass


async def test_a_timeout_around_the_block_cancels_the_app(
    app: Trioframe, client: TestClient, autojump_clock: trio.testing.MockClock
) -> None:
    torn_down = trio.Event()

    @app.websocket("/forever")
    async def forever() -> None:
        await websocket.accept()
        await trio.sleep_forever()

    @app.teardown_websocket
    async def teardown(error: BaseException | None) -> None:
        torn_down.set()

    with trio.move_on_after(5) as scope:
        async with client.websocket("/forever"):
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert torn_down.is_set()


async def test_a_base_exception_from_the_app_reaches_the_test() -> None:
    class Exiting(Trioframe):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await receive()
            await send({"type": "websocket.accept"})
            raise SystemExit(3)

    with pytest.raises(SystemExit) as raised:
        async with Exiting("exiting").test_client().websocket("/") as conn:
            await conn.receive()
    assert raised.value.code == 3


async def test_a_handler_s_exception_reaches_the_test_without_testing(
    app: Trioframe, client: TestClient
) -> None:
    @app.websocket("/ws")
    async def room() -> None:
        await websocket.send("hello")
        raise LookupError("no such room")

    async def talk() -> None:
        async with client.websocket("/ws") as ws:
            assert await ws.receive() == "hello"
            await ws.receive()  # the 1011 close; the error itself comes as the block ends

    assert not app.testing
    with pytest.raises(LookupError, match="no such room"):
        await talk()


async def test_receive_fails_at_once_when_the_app_sends_nothing(
    app: Trioframe, client: TestClient, autojump_clock: trio.testing.MockClock
) -> None:
    @app.websocket("/quiet")
    async def quiet() -> None:
        await websocket.accept()
        await trio.sleep(60)
        await websocket.send("late")

    async with client.websocket("/quiet") as ws:
        with pytest.raises(
            trio.TooSlowError, match="sent nothing on the websocket /quiet within 5 s"
        ):
            await ws.receive()
        assert await ws.receive(timeout=None) == "late"


async def test_a_handshake_the_app_never_answers_fails(
    app: Trioframe, client: TestClient, autojump_clock: trio.testing.MockClock
) -> None:
    @app.websocket("/undecided")
    async def undecided() -> None:
        await trio.Event().wait()

    async def connect() -> None:
        async with client.websocket("/undecided", timeout=2):
            pass

    start = trio.current_time()
    with pytest.raises(trio.TooSlowError, match="neither accepted nor refused the websocket"):
        await connect()
    assert trio.current_time() - start == pytest.approx(2)


async def test_send_fails_when_the_app_stops_reading(
    app: Trioframe, client: TestClient, autojump_clock: trio.testing.MockClock
) -> None:
    @app.websocket("/deaf")
    async def deaf() -> None:
        await websocket.accept()
        await trio.Event().wait()

    async def flood() -> None:
        async with client.websocket("/deaf") as ws:
            while True:
                await ws.send_json({"n": 1})

    with pytest.raises(trio.TooSlowError, match="took no message on the websocket /deaf"):
        await flood()
