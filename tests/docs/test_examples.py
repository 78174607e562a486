"""Every example in examples/ through the test client, as its docstring says to use it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import trio
import trio.testing

from examples.hello import MIRROR_DELAYS_S, TICK_S, app

if TYPE_CHECKING:
    from trioframe.testing import TestClient


@pytest.fixture
def client() -> TestClient:
    return app.test_client()


async def test_index_links_to_the_other_pages(client: TestClient) -> None:
    page = await (await client.get("/")).get_data(as_text=True)
    for link in ("/hello/Trio", "/countdown/3", "/fastest"):
        assert f'href="{link}"' in page


async def test_greet(client: TestClient) -> None:
    assert await (await client.get("/hello/Ada")).get_json() == {"message": "Hello, Ada!"}


async def test_echo(client: TestClient) -> None:
    response = await client.post("/echo", json={"n": [1, 2]})
    assert await response.get_json() == {"you_sent": {"n": [1, 2]}}
    malformed = await client.post("/echo", data="{", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert (await client.post("/echo", data="text")).status_code == 415


async def test_countdown_streams_one_line_per_tick(
    client: TestClient, autojump_clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    response = await client.get("/countdown/3")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert await response.get_data(as_text=True) == "3\n2\n1\nliftoff\n"
    assert trio.current_time() - start == pytest.approx(3 * TICK_S)
    assert (await client.get("/countdown/11")).status_code == 400


async def test_fastest_mirror_wins_and_the_rest_are_cancelled(
    client: TestClient, autojump_clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    response = await client.get("/fastest")
    assert await response.get_json() == {"winner": "mirror-b"}
    assert trio.current_time() - start == pytest.approx(min(MIRROR_DELAYS_S.values()))
