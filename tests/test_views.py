"""Class-based views through the test client: View, MethodView and how add_url_rule reads
a view function's methods, as in Flask."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from trioframe import Blueprint, Trioframe, request
from trioframe.views import MethodView, View

if TYPE_CHECKING:
    from collections.abc import Callable

    from trioframe.testing import TestClient


class ItemAPI(MethodView):
    """Items, one per id."""

    init_every_request = False

    def __init__(self, store: dict[int, str]) -> None:
        self.store = store

    async def get(self, item_id: int) -> tuple[str, int] | str:
        if item_id not in self.store:
            return "missing", 404
        return self.store[item_id]

    async def put(self, item_id: int) -> str:
        self.store[item_id] = (await request.get_data()).decode()
        return "stored"

    def delete(self, item_id: int) -> str:  # a plain def runs in a worker thread
        self.store.pop(item_id, None)
        return "deleted"


async def test_a_method_view_answers_the_methods_it_defines(
    app: Trioframe, client: TestClient
) -> None:
    store: dict[int, str] = {}
    view = ItemAPI.as_view("item", store)
    app.add_url_rule("/items/<int:item_id>", view_func=view)
    assert ItemAPI.methods == {"GET", "PUT", "DELETE"}
    assert (view.__name__, view.__doc__, view.view_class) == ("item", ItemAPI.__doc__, ItemAPI)

    assert (await client.get("/items/1")).status_code == 404
    assert await (await client.put("/items/1", data=b"kettle")).get_data() == b"stored"
    assert await (await client.get("/items/1")).get_data() == b"kettle"
    head = await client.head("/items/1")  # HEAD falls back to get
    assert head.status_code == 200
    assert await (await client.delete("/items/1")).get_data() == b"deleted"
    refused = await client.post("/items/1")
    assert refused.status_code == 405
    assert refused.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, PUT"
    options = await client.options("/items/1")
    assert options.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, PUT"


def tagged(tag: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        async def wrapper(**kwargs: Any) -> Any:
            return f"{tag}({await view(**kwargs)})"

        return wrapper

    return decorator


class Greeting(View):
    methods: ClassVar[list[str]] = ["GET", "POST"]
    decorators: ClassVar[list[Callable[..., Any]]] = [tagged("inner"), tagged("outer")]
    made = 0

    def __init__(self, greeting: str) -> None:
        Greeting.made += 1
        self.greeting = greeting

    async def dispatch_request(self, name: str) -> str:
        return f"{self.greeting} {name} by {request.method}"


async def test_a_view_with_decorators_and_an_instance_per_request(
    app: Trioframe, client: TestClient
) -> None:
    bp = Blueprint("greet", __name__, url_prefix="/greet")
    bp.add_url_rule("/<name>", view_func=Greeting.as_view("hello", "Hello"))
    app.register_blueprint(bp)
    Greeting.made = 0
    assert await (await client.get("/greet/ada")).get_data() == b"outer(inner(Hello ada by GET))"
    assert await (await client.post("/greet/bob")).get_data() == b"outer(inner(Hello bob by POST))"
    assert Greeting.made == 2


async def test_add_url_rule_reads_the_view_function_s_methods(
    app: Trioframe, client: TestClient
) -> None:
    async def report() -> str:
        return request.method

    report.methods = ["POST"]  # type: ignore[attr-defined]  # as Flask reads it
    report.required_methods = ["PATCH"]  # type: ignore[attr-defined]
    report.provide_automatic_options = False  # type: ignore[attr-defined]
    app.add_url_rule("/report", view_func=report)
    assert await (await client.post("/report")).get_data() == b"POST"
    assert await (await client.patch("/report")).get_data() == b"PATCH"
    assert (await client.get("/report")).status_code == 405
    assert (await client.options("/report")).status_code == 405  # no automatic OPTIONS


async def test_a_view_must_implement_dispatch_request(app: Trioframe, client: TestClient) -> None:
    class Unfinished(View):
        pass

    app.add_url_rule("/unfinished", view_func=Unfinished.as_view("unfinished"))
    app.testing = True
    with pytest.raises(NotImplementedError):
        await client.get("/unfinished")


async def test_method_view_edge_cases(app: Trioframe, client: TestClient) -> None:
    class Base(MethodView):
        """No handler methods: nothing to infer, so no methods of its own."""

    class Declared(Base):
        methods: ClassVar[list[str]] = ["GET", "POST"]  # declared, one left unwritten

        async def get(self) -> str:
            return "got"

    assert Base.methods is None
    assert Declared.methods == ["GET", "POST"]
    app.add_url_rule("/declared", view_func=Declared.as_view("declared"))
    assert await (await client.get("/declared")).get_data() == b"got"
    refused = await client.post("/declared")  # routed, but the class has no post
    assert refused.status_code == 405
    assert refused.headers["Allow"] == "GET, POST"
