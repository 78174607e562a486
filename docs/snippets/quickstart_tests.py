"""The quickstart's tests, as a user writes them."""

from __future__ import annotations

# docs: start tests
from .quickstart import app  # your app module


async def test_greet() -> None:
    client = app.test_client()
    response = await client.get("/hello/Trio")
    assert response.status_code == 200
    assert await response.get_json() == {"message": "Hello, Trio!"}


async def test_orders_need_an_item() -> None:
    client = app.test_client()
    for not_an_order in ({"quantity": 2}, ["item"], "item", 42):
        response = await client.post("/orders", json=not_an_order)
        assert response.status_code == 422
    created = await client.post("/orders", json={"item": "tea"})
    assert created.status_code == 201
    assert (await created.get_json())["item"] == "tea"


# docs: end tests
