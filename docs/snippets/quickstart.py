"""The quickstart: a first app."""

from __future__ import annotations

# docs: start app
from trioframe import Trioframe, abort, request

app = Trioframe(__name__)
orders: dict[int, dict[str, object]] = {}


@app.get("/hello/<name>")
async def greet(name: str) -> dict[str, str]:
    return {"message": f"Hello, {name}!"}


@app.post("/orders")
async def create_order() -> tuple[dict[str, object], int]:
    order = await request.get_json()  # malformed JSON -> 400
    if not isinstance(order, dict) or "item" not in order:
        abort(422, "An order is a JSON object with an item.")
    order_id = len(orders) + 1
    orders[order_id] = order
    return {"id": order_id, **order}, 201


# docs: end app
