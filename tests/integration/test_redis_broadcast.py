"""The broadcast hub's ``redis://`` backend against a real ``redis-server``: the hub runs in
the app's lifespan (``app.test_app()``), in the test's own Trio run, and talks to a server
the test starts on a free loopback port (tests/support/redis.py)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
import trio

from tests.support.redis import WAIT_S, RedisServer, redis_server
from trioframe import Trioframe, WebsocketDisconnect, websocket
from trioframe.broadcast import (
    Broadcast,
    BroadcastGap,
    BroadcastUnavailable,
    SlowConsumer,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest.fixture
async def redis() -> AsyncIterator[RedisServer]:
    async with redis_server() as server:
        yield server


def hub_app(url: str, **settings: object) -> tuple[Trioframe, Broadcast]:
    app = Trioframe(__name__)
    app.config.update(BROADCAST_URL=url, BROADCAST_CONNECT_TIMEOUT=2.0)
    app.config.update(settings)
    return app, Broadcast(app)


async def test_a_publish_comes_back_through_redis_as_the_type_it_was(redis: RedisServer) -> None:
    app, hub = hub_app(redis.url)
    async with app.test_app():
        async with hub.subscribe("news") as first, hub.subscribe("news") as second:
            # Both subscriptions of this process share one Redis subscription.
            assert await redis.subscribers("news") == 1
            await hub.publish("news", "text")
            await hub.publish("news", b"\x00bytes")
            await hub.publish_json("news", {"n": 1})
            for subscription in (first, second):
                assert [await subscription.receive() for _ in range(3)] == [
                    "text",
                    b"\x00bytes",
                    '{"n":1}',
                ]
        await redis.wait_for_subscribers("news", 0)
        assert hub.stats().subscribers == 0


async def test_another_redis_clients_message_arrives_as_bytes(redis: RedisServer) -> None:
    app, hub = hub_app(redis.url)
    async with app.test_app(), hub.subscribe("feed") as messages, redis.client() as client:
        assert await client.publish("feed", "from elsewhere") == 1
        assert await messages.receive() == b"from elsewhere"


async def test_an_oversized_message_from_another_client_is_logged_not_delivered(
    redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    app, hub = hub_app(redis.url, BROADCAST_MAX_MESSAGE_SIZE=4)
    async with app.test_app(), hub.subscribe("feed") as messages, redis.client() as client:
        await client.publish("feed", "far too long")
        await client.publish("feed", "fits")
        assert await messages.receive() == b"fits"
    assert "over BROADCAST_MAX_MESSAGE_SIZE (4) and was not delivered" in caplog.text


async def test_the_last_local_subscriber_leaving_unsubscribes(redis: RedisServer) -> None:
    app, hub = hub_app(redis.url)
    async with app.test_app():
        async with hub.subscribe("a"):
            async with hub.subscribe("a"), hub.subscribe("b"):
                assert (await redis.subscribers("a"), await redis.subscribers("b")) == (1, 1)
            await redis.wait_for_subscribers("b", 0)
            assert await redis.subscribers("a") == 1  # one subscriber of "a" is left
        await redis.wait_for_subscribers("a", 0)
        # Subscribing again after the unsubscribe works as the first time did.
        async with hub.subscribe("a") as again:
            await hub.publish("a", "back")
            assert await again.receive() == "back"


async def test_a_slow_subscriber_is_ended_as_with_the_memory_backend(redis: RedisServer) -> None:
    app, hub = hub_app(redis.url, BROADCAST_BUFFER=2)
    async with app.test_app():
        async with hub.subscribe("fast") as fast:

            async def fall_behind() -> None:
                async with hub.subscribe("fast"):  # never reads
                    for number in range(3):
                        await hub.publish("fast", str(number))
                        assert await fast.receive() == str(number)
                    await trio.sleep_forever()  # ended by the third message's arrival

            with pytest.raises(SlowConsumer):
                await fall_behind()
        assert hub.stats().slow_closes == 1


async def test_redis_restarted_under_live_subscribers(
    redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    app, hub = hub_app(redis.url, BROADCAST_CONNECT_TIMEOUT=0.5)
    caplog.set_level(logging.INFO, logger="trioframe.broadcast")
    async with app.test_app():

        async def live_through_a_restart() -> None:
            async with hub.subscribe("news") as messages:
                await hub.publish("news", "before")
                assert await messages.receive() == "before"
                await redis.stop()
                # Publishing fails cleanly during the outage, after the connect timeout.
                with pytest.raises(BroadcastUnavailable, match="BROADCAST_CONNECT_TIMEOUT"):
                    await hub.publish("news", "during")
                await redis.start()
                await trio.sleep_forever()  # ended with the gap once the hub is back

        with pytest.raises(BroadcastGap, match="lost and restored"):
            await live_through_a_restart()
        assert hub.stats().reconnects == 1
        assert "reconnected" in caplog.text
        # A new subscription gets what is published from now on.
        async with hub.subscribe("news") as messages:
            await hub.publish("news", "after")
            assert await messages.receive() == "after"
        assert hub.stats().subscribers == 0


async def test_a_websocket_across_a_restart_is_closed_with_1012(redis: RedisServer) -> None:
    app, hub = hub_app(redis.url)

    @app.websocket("/news")
    async def news() -> None:
        await hub.forward("news", websocket)

    async with app.test_app() as test_app, test_app.test_client().websocket("/news") as client:
        await redis.wait_for_subscribers("news", 1)
        await redis.stop()
        await redis.start()
        with pytest.raises(WebsocketDisconnect) as closed:
            await client.receive()
    assert closed.value.code == 1012


async def test_subscribing_while_redis_is_down_fails_after_the_timeout(
    redis: RedisServer,
) -> None:
    app, hub = hub_app(redis.url, BROADCAST_CONNECT_TIMEOUT=0.3)
    async with app.test_app():
        await redis.stop()
        with pytest.raises(BroadcastUnavailable, match="Could not subscribe to 'news'"):
            async with hub.subscribe("news"):
                pytest.fail("the subscription began without Redis")  # pragma: no cover
        assert hub.stats().subscribers == 0
        await redis.start()
        # As the error says, subscribing again works once the hub has reconnected, which
        # its backoff may put off for longer than the 0.3 s one attempt waits.
        with trio.fail_after(WAIT_S):
            while True:
                try:
                    async with hub.subscribe("news") as messages:
                        await hub.publish("news", "back")
                        assert await messages.receive() == "back"
                        break
                except BroadcastUnavailable:
                    continue


async def test_the_hub_needs_the_app_to_be_serving() -> None:
    _, hub = hub_app("redis://127.0.0.1:1/0")
    with pytest.raises(BroadcastUnavailable, match="only while the app serves"):
        await hub.publish("news", "early")
    with pytest.raises(BroadcastUnavailable, match=r"async with app\.test_app"):
        async with hub.subscribe("news"):
            pass  # pragma: no cover
