"""The pantry's tests, written as for Quart and ported by changing imports; they drive the
app through the test client."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from trioframe import session

from .app import app, items

if TYPE_CHECKING:
    from collections.abc import Iterator

    from trioframe.testing import TestClient


@pytest.fixture
def client() -> Iterator[TestClient]:
    items.clear()
    yield app.test_client()
    items.clear()


async def test_adding_an_item_flashes_a_message(client: TestClient) -> None:
    added = await client.post("/en/", form={"name": "tea"}, follow_redirects=True)
    page = await added.get_data(as_text=True)
    assert '<p class="message">Added tea.</p>' in page
    assert '<a href="/en/items/1">tea</a>' in page
    again = await (await client.get("/en/")).get_data(as_text=True)
    assert "Added tea." not in again  # shown once


async def test_an_empty_name_is_an_error_message(client: TestClient) -> None:
    refused = await client.post("/de/", form={"name": " "}, follow_redirects=True)
    assert '<p class="error">An item needs a name.</p>' in await refused.get_data(as_text=True)
    assert refused.request is not None
    assert refused.request.path == "/de/"  # url_defaults kept the language


async def test_the_item_api(client: TestClient) -> None:
    put = await client.put("/fr/items/7", json={"name": "honey"})
    assert await put.get_json() == {"id": 7, "name": "honey", "lang": "fr"}
    assert await (await client.get("/fr/items/7")).get_json() == put_body(7, "honey", "fr")
    assert (await client.delete("/fr/items/7")).status_code == 204
    missing = await client.get("/fr/items/7")
    assert missing.status_code == 404
    assert await missing.get_json() == {
        "code": 404,
        "name": "Not Found",
        "description": "No item 7 in the pantry.",
    }
    unprocessable = await client.put("/fr/items/7", json=["honey"])
    assert (await unprocessable.get_json())["code"] == 422
    assert (await client.post("/fr/items/7")).headers["Content-Type"] == "application/json"


async def test_the_session_is_there_to_inspect(client: TestClient) -> None:
    async with app.test_client() as kept:
        await kept.post("/en/", form={"name": "rice"})
        assert session["_flashes"] == [["message", "Added rice."]]


def put_body(item_id: int, name: str, lang: str) -> dict[str, object]:
    return {"id": item_id, "name": name, "lang": lang}
