"""The broadcast hub's memory backend: by direct call under Trio's autojump clock, and
through the test client for what a websocket handler sees (close 1008 for a slow
consumer, 1012 for a gap)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing

from trioframe import SetupError, Trioframe, WebsocketDisconnect, request, websocket
from trioframe.broadcast import (
    Broadcast,
    BroadcastGap,
    BroadcastStats,
    SlowConsumer,
    Subscription,
)

if TYPE_CHECKING:
    from trioframe.testing import TestClient


async def test_a_publish_reaches_every_subscriber_of_its_channel_in_order() -> None:
    hub = Broadcast(url="memory://")
    async with (
        hub.subscribe("news") as first,
        hub.subscribe("news") as second,
        hub.subscribe("sport") as other,
    ):
        await hub.publish("news", "one")
        await hub.publish("news", b"two")
        await hub.publish("sport", "goal")
        assert [await first.receive(), await first.receive()] == ["one", b"two"]
        assert [await second.receive(), await second.receive()] == ["one", b"two"]
        assert await other.receive() == "goal"
        assert hub.stats() == BroadcastStats(
            channels=2, subscribers=3, dropped=0, slow_closes=0, reconnects=0
        )
    # The last subscriber of a channel leaving forgets the channel.
    assert hub.stats().channels == 0
    await hub.publish("news", "nobody listens")  # no subscriber: nothing to do


async def test_a_message_published_before_subscribing_is_not_received() -> None:
    hub = Broadcast()
    await hub.publish("news", "early")
    async with hub.subscribe("news") as messages:
        await hub.publish("news", "late")
        assert await messages.receive() == "late"


async def test_publish_json_encodes_once_for_every_subscriber() -> None:
    app = Trioframe(__name__)
    hub = Broadcast(app)
    async with hub.subscribe("feed") as first, hub.subscribe("feed") as second:
        await hub.publish_json("feed", {"price": 3, "name": "tea"})
        one, two = await first.receive(), await second.receive()
        assert one == '{"name":"tea","price":3}'
        assert one is two  # one encoding, shared


async def test_publishing_never_waits_and_a_slow_subscriber_gets_slow_consumer() -> None:
    hub = Broadcast(buffer=2, overflow="close")

    async def lag_behind(fast: Subscription) -> None:
        async with hub.subscribe("news"):  # never read
            for number in range(3):
                with trio.testing.assert_checkpoints():
                    await hub.publish("news", f"message {number}")
                # The third message finds the slow subscriber's two places taken, and its
                # block is cancelled here.
                assert await fast.receive() == f"message {number}"

    async with hub.subscribe("news") as fast:
        with pytest.raises(SlowConsumer, match="fell 2 messages behind"):
            await lag_behind(fast)
        # The third message is still there for the fast subscriber, and nothing stalled.
        await hub.publish("news", "still flowing")
        assert [await fast.receive(), await fast.receive()] == ["message 2", "still flowing"]
        assert hub.stats().slow_closes == 1
        assert hub.stats().subscribers == 1


async def test_a_subscriber_blocked_elsewhere_is_ended_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Most slow subscribers are stuck sending to a slow client, not waiting in receive():
    # the subscription's block is cancelled wherever it waits, with its tasks.
    hub = Broadcast(buffer=1)
    ended: list[BaseException] = []

    async def stuck(task_status: trio.TaskStatus[None]) -> None:
        try:
            async with hub.subscribe("news"), trio.open_nursery() as nursery:
                nursery.start_soon(trio.sleep_forever)
                task_status.started()
                await trio.sleep_forever()  # as a send to a client that reads nothing
        except SlowConsumer as error:
            ended.append(error)

    async with trio.open_nursery() as nursery:
        await nursery.start(stuck)
        await hub.publish("news", "one")
        await hub.publish("news", "two")
    assert [type(error) for error in ended] == [SlowConsumer]
    assert trio.current_time() == 0


async def test_drop_oldest_keeps_the_newest_messages_and_counts_the_rest() -> None:
    hub = Broadcast(buffer=2, overflow="drop_oldest")
    async with hub.subscribe("ticker") as ticker:
        for price in range(5):
            await hub.publish("ticker", str(price))
        assert [await ticker.receive(), await ticker.receive()] == ["3", "4"]
        assert ticker.dropped == 3
        assert hub.stats().dropped == 3


async def test_every_operation_is_a_checkpoint() -> None:
    hub = Broadcast()
    subscription = hub.subscribe("news")
    with trio.testing.assert_checkpoints():
        await subscription.__aenter__()
    await hub.publish("news", "here already")
    with trio.testing.assert_checkpoints():
        assert await subscription.receive() == "here already"
    with trio.testing.assert_checkpoints():
        await hub.publish("news", "x")
    with trio.testing.assert_checkpoints():
        await subscription.__aexit__(None, None, None)


async def test_a_cancelled_receive_loses_nothing(autojump_clock: trio.testing.MockClock) -> None:
    hub = Broadcast()
    async with hub.subscribe("news") as messages:
        with trio.move_on_after(5):
            await messages.receive()
        assert trio.current_time() == pytest.approx(5)
        await hub.publish("news", "after the timeout")
        assert await messages.receive() == "after the timeout"


async def test_a_subscriber_waits_for_the_next_message(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Broadcast()
    received: list[str | bytes] = []
    async with hub.subscribe("news") as messages, trio.open_nursery() as nursery:

        async def publish_later() -> None:
            await trio.sleep(3)
            await hub.publish("news", "at three")

        nursery.start_soon(publish_later)
        async for message in messages:
            received.append(message)
            break
    assert received == ["at three"]
    assert trio.current_time() == pytest.approx(3)


async def test_misuse_is_refused_with_what_to_do_before_anything_is_sent() -> None:
    hub = Broadcast(max_message_size=8)
    with pytest.raises(TypeError, match="use publish_json"):
        await hub.publish("news", 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"over BROADCAST_MAX_MESSAGE_SIZE \(8\)"):
        await hub.publish("news", "é" * 5)  # 10 bytes in UTF-8
    with pytest.raises(TypeError, match="named by a str"):
        hub.subscribe(b"news")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="channel name is empty"):
        await hub.publish("", "x")
    await hub.publish("news", bytearray(b"12345678"))  # exactly the limit, as bytes
    with pytest.raises(SetupError, match="has no app"):
        await hub.publish_json("news", {})

    subscription = hub.subscribe("news")
    with pytest.raises(RuntimeError, match="not open"):
        await subscription.receive()
    async with subscription:
        with pytest.raises(RuntimeError, match="already entered"):
            await subscription.__aenter__()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(subscription.receive)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.BusyResourceError):
                await subscription.receive()
            nursery.cancel_scope.cancel()
    with pytest.raises(RuntimeError, match="not open"):
        await subscription.receive()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"BROADCAST_URL": "kafka://localhost"}, "BROADCAST_URL is 'kafka://localhost'"),
        ({"BROADCAST_URL": "redis://localhost:port"}, "such as 'redis://localhost:6379/0'"),
        ({"BROADCAST_URL": "redis:///0"}, "or a Redis URL"),
        ({"BROADCAST_URL": "redis://localhost/db"}, "or a Redis URL"),
        ({"BROADCAST_URL": b"memory://"}, "use 'memory://'"),
        ({"BROADCAST_OVERFLOW": "block"}, "'close'.*'drop_oldest'"),
        ({"BROADCAST_BUFFER": 0}, "int >= 1"),
        ({"BROADCAST_CONNECT_TIMEOUT": 0}, "seconds > 0"),
        ({"BROADCAST_MAX_MESSAGE_SIZE": 0}, "bytes >= 1"),
    ],
)
def test_settings_the_hub_cannot_use_fail_at_setup(settings: dict[str, Any], message: str) -> None:
    app = Trioframe(__name__)
    app.config.update(settings)
    with pytest.raises(SetupError, match=message):
        Broadcast(app)
    # A keyword argument overrides the app's setting.
    app = Trioframe(__name__)
    hub = Broadcast(app, buffer=5, overflow="drop_oldest")
    assert (hub.buffer, hub.overflow, hub.url) == (5, "drop_oldest", "memory://")


def hub_app(**options: Any) -> tuple[Trioframe, Broadcast, trio.Event]:
    app = Trioframe(__name__)
    hub = Broadcast(app, **options)
    reading = trio.Event()

    @app.websocket("/news")
    async def news() -> None:
        await hub.forward("news", websocket)

    @app.websocket("/lagging")
    async def lagging() -> None:
        async with hub.subscribe("news") as messages:
            await websocket.accept()
            await reading.wait()
            async for message in messages:
                await websocket.send(message)

    @app.websocket("/greeted")
    async def greeted() -> None:
        await websocket.accept()
        await websocket.send("welcome")
        await hub.forward("news", websocket)

    @app.websocket("/gap")
    async def gap() -> None:
        await websocket.accept()
        raise BroadcastGap("The hub lost its backend; resynchronise")

    @app.post("/news")
    async def publish() -> str:
        await hub.publish("news", await request.get_data(as_text=True))
        return "sent"

    return app, hub, reading


async def test_forward_sends_what_is_published_to_a_websocket() -> None:
    app, hub, _ = hub_app()
    client: TestClient = app.test_client()
    async with client.websocket("/news") as first, client.websocket("/news") as second:
        await trio.testing.wait_all_tasks_blocked()  # both handlers wait for messages
        assert hub.stats().subscribers == 2
        assert (await client.post("/news", data="breaking")).status_code == 200
        assert await first.receive() == "breaking"
        assert await second.receive() == "breaking"
    # A handler may accept and say something first.
    async with client.websocket("/greeted") as greeted:
        assert await greeted.receive() == "welcome"
        await trio.testing.wait_all_tasks_blocked()
        await client.post("/news", data="later")
        assert await greeted.receive() == "later"


async def test_a_websocket_that_falls_behind_is_closed_with_1008(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, hub, reading = hub_app(buffer=2)
    client: TestClient = app.test_client()
    async with client.websocket("/lagging") as lagging:
        await lagging.send("ready")
        await trio.testing.wait_all_tasks_blocked()
        for number in range(3):
            await client.post("/news", data=f"message {number}")
        reading.set()
        with caplog.at_level(logging.WARNING), pytest.raises(WebsocketDisconnect) as closed:
            await lagging.receive()
    assert closed.value.code == 1008
    assert hub.stats().slow_closes == 1
    assert "Closing the websocket /lagging with 1008" in caplog.text


async def test_a_gap_the_handler_lets_through_closes_with_1012() -> None:
    app, _, _ = hub_app()
    async with app.test_client().websocket("/gap") as connection:
        with pytest.raises(WebsocketDisconnect) as closed:
            await connection.receive()
    assert closed.value.code == 1012


def test_subscriptions_are_exported_for_type_annotations() -> None:
    assert Subscription.__name__ == "Subscription"


async def test_a_receiver_outside_the_block_gets_slow_consumer_itself() -> None:
    # A task started outside the subscription's block is not cancelled with it; its
    # receive reports why the subscription ended, now and afterwards.
    hub = Broadcast(buffer=1)
    subscription = hub.subscribe("news")
    errors: list[BaseException] = []

    async def receive_outside() -> None:
        try:
            await subscription.receive()
        except SlowConsumer as error:
            errors.append(error)

    async def overflow(nursery: trio.Nursery) -> None:
        async with subscription:
            await hub.publish("news", "one")
            await hub.publish("news", "two")  # the one place is taken: it ends
            # Started in the block, owned by a nursery outside it: not cancelled with it.
            nursery.start_soon(receive_outside)

    async with trio.open_nursery() as nursery:
        with pytest.raises(SlowConsumer):
            await overflow(nursery)
    assert [type(error) for error in errors] == [SlowConsumer]
    with pytest.raises(SlowConsumer):
        await subscription.receive()
