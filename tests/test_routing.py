"""Routing through the test client: rules, converters, methods, redirects and ``url_for``."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
from werkzeug.routing import BaseConverter, Map

from tests.support.asgi import Peer, WebsocketPeer, http_scope, websocket_scope
from trioframe import (
    BuildError,
    MethodNotAllowed,
    NotFound,
    OutsideContextError,
    RequestRedirect,
    SetupError,
    Trioframe,
    request,
    url_for,
    websocket,
)
from trioframe._routing import Rule, make_rule, match

if TYPE_CHECKING:
    from trioframe.testing import TestClient


class ListConverter(BaseConverter):
    """``<list:items>`` matches ``a,b,c`` and gives ``["a", "b", "c"]``."""

    def to_python(self, value: str) -> list[str]:
        return value.split(",")

    def to_url(self, value: list[str]) -> str:
        return ",".join(value)


async def test_converters_pass_typed_values(app: Trioframe, client: TestClient) -> None:
    app.url_map.converters["list"] = ListConverter

    @app.get("/int/<int:n>")
    async def int_view(n: int) -> dict[str, object]:
        return {"value": n, "type": type(n).__name__}

    @app.get("/float/<float:x>")
    async def float_view(x: float) -> dict[str, object]:
        return {"value": x, "type": type(x).__name__}

    @app.get("/path/<path:rest>")
    async def path_view(rest: str) -> str:
        return rest

    @app.get("/uuid/<uuid:ident>")
    async def uuid_view(ident: uuid.UUID) -> str:
        return type(ident).__name__ + ":" + str(ident)

    @app.get("/list/<list:items>")
    async def list_view(items: list[str]) -> dict[str, list[str]]:
        return {"items": items}

    assert await (await client.get("/int/42")).get_json() == {"value": 42, "type": "int"}
    assert await (await client.get("/float/2.5")).get_json() == {"value": 2.5, "type": "float"}
    assert await (await client.get("/path/a/b/c.txt")).get_data(as_text=True) == "a/b/c.txt"
    ident = uuid.uuid4()
    text = await (await client.get(f"/uuid/{ident}")).get_data(as_text=True)
    assert text == f"UUID:{ident}"
    assert await (await client.get("/list/x,y")).get_json() == {"items": ["x", "y"]}
    assert (await client.get("/int/forty-two")).status_code == 404


async def test_unknown_path_is_404(app: Trioframe, client: TestClient) -> None:
    @app.get("/")
    async def index() -> str:
        return "home"

    response = await client.get("/missing")
    assert response.status_code == 404
    assert "Not Found" in await response.get_data(as_text=True)


async def test_wrong_method_is_405_with_allow(app: Trioframe, client: TestClient) -> None:
    @app.route("/items", methods=["GET", "POST"])
    async def items() -> str:
        return "items"

    response = await client.delete("/items")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS, POST"


async def test_head_follows_get_without_body(app: Trioframe, client: TestClient) -> None:
    seen: list[str] = []

    @app.get("/page")
    async def page() -> str:
        from trioframe import request

        seen.append(request.method)
        return "twelve bytes"

    response = await client.head("/page")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == "12"
    assert await response.get_data() == b""
    assert seen == ["HEAD"]


async def test_options_is_answered_automatically(app: Trioframe, client: TestClient) -> None:
    called = False

    @app.route("/things", methods=["GET", "PUT"])
    async def things() -> str:
        nonlocal called
        called = True
        return "things"

    response = await client.options("/things")
    assert response.status_code == 200
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS, PUT"
    assert not called


async def test_explicit_options_goes_to_the_view(app: Trioframe, client: TestClient) -> None:
    @app.route("/cors", methods=["GET", "OPTIONS"])
    async def cors() -> tuple[str, int, dict[str, str]]:
        return "", 204, {"Access-Control-Allow-Origin": "*"}

    response = await client.options("/cors")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_missing_trailing_slash_redirects(app: Trioframe, client: TestClient) -> None:
    @app.get("/folder/")
    async def folder() -> str:
        return "inside"

    response = await client.get("/folder", query_string={"page": "2"})
    assert response.status_code == 308
    assert response.headers["Location"] == "http://localhost/folder/?page=2"
    followed = await client.get("/folder", follow_redirects=True)
    assert await followed.get_data(as_text=True) == "inside"
    assert [r.status_code for r in followed.history] == [308]


async def test_method_shortcuts(app: Trioframe, client: TestClient) -> None:
    @app.get("/r")
    async def read() -> str:
        return "get"

    @app.post("/r")
    async def create() -> str:
        return "post"

    @app.put("/r")
    async def replace() -> str:
        return "put"

    @app.patch("/r")
    async def update() -> str:
        return "patch"

    @app.delete("/r")
    async def remove() -> str:
        return "delete"

    for method in ("get", "post", "put", "patch", "delete"):
        response = await client.open("/r", method=method)
        assert await response.get_data(as_text=True) == method


def test_shortcut_rejects_methods_argument(app: Trioframe) -> None:
    with pytest.raises(TypeError, match="use @route"):
        app.get("/x", methods=["POST"])


def test_methods_given_as_a_string_is_an_error(app: Trioframe) -> None:
    with pytest.raises(TypeError, match="pass a list of method names"):

        @app.route("/x", methods="POST")
        async def view() -> str:
            return "x"


async def test_add_url_rule_and_custom_endpoint(app: Trioframe, client: TestClient) -> None:
    async def show() -> str:
        return "shown"

    app.add_url_rule("/show", "display", show)
    assert (await client.get("/show")).status_code == 200
    async with app.test_request_context():
        assert url_for("display") == "/show"


def test_add_url_rule_needs_an_endpoint_or_view(app: Trioframe) -> None:
    with pytest.raises(TypeError, match="endpoint name or a view"):
        app.add_url_rule("/x")


def test_endpoint_clash_is_a_setup_error(app: Trioframe) -> None:
    @app.get("/one")
    async def index() -> str:
        return "one"

    app.add_url_rule("/also-one", view_func=index)  # same function, same endpoint: fine

    with pytest.raises(SetupError, match="'index' is already taken"):

        @app.get("/two", endpoint="index")
        async def other() -> str:
            return "two"


async def test_registration_after_first_request_is_an_error(
    app: Trioframe, client: TestClient
) -> None:
    @app.get("/")
    async def index() -> str:
        return "home"

    await client.get("/")
    with pytest.raises(SetupError, match="after it handled its first request"):
        app.add_url_rule("/late", "late", index)
    with pytest.raises(SetupError):
        app.before_request(index)


async def test_url_for_builds_paths_and_query_strings(app: Trioframe) -> None:
    @app.get("/user/<int:user_id>")
    async def user(user_id: int) -> str:
        return str(user_id)

    @app.route("/edit", methods=["POST"])
    async def edit() -> str:
        return "edit"

    async with app.test_request_context("/", headers={"Host": "example.org:8080"}):
        assert url_for("user", user_id=7) == "/user/7"
        assert url_for("user", user_id=7, tab="posts", q=["a", "b"]) == "/user/7?tab=posts&q=a&q=b"
        assert url_for("user", user_id=7, _external=True) == "http://example.org:8080/user/7"
        assert url_for("user", user_id=7, _scheme="https") == "https://example.org:8080/user/7"
        assert url_for("user", user_id=7, _anchor="top part") == "/user/7#top%20part"
        assert url_for("edit", _method="POST") == "/edit"
        with pytest.raises(ValueError, match="_external=True"):
            url_for("user", user_id=7, _scheme="https", _external=False)


async def test_url_for_errors_say_what_is_wrong(app: Trioframe) -> None:
    @app.get("/user/<int:user_id>")
    async def user(user_id: int) -> str:
        return str(user_id)

    async with app.test_request_context():
        with pytest.raises(BuildError, match="user_id") as missing_value:
            url_for("user")
        assert missing_value.value.endpoint == "user"
        with pytest.raises(BuildError, match="'usr'"):
            url_for("usr", user_id=1)


async def test_url_for_outside_a_request_needs_server_name(app: Trioframe) -> None:
    @app.get("/about")
    async def about() -> str:
        return "about"

    with app.app_context(), pytest.raises(OutsideContextError, match="SERVER_NAME"):
        url_for("about")
    app.config.update(SERVER_NAME="example.com", PREFERRED_URL_SCHEME="https")
    with app.app_context():
        assert url_for("about") == "https://example.com/about"
    with pytest.raises(OutsideContextError, match="application context"):
        url_for("about")


def test_match_translates_routing_errors() -> None:
    url_map = Map([make_rule("/a/", "a", ["GET"]), make_rule("/b", "b", ["POST"])])
    rule, args = match(url_map.bind("localhost", path_info="/a/"), "GET")
    assert (rule.endpoint, args) == ("a", {})
    with pytest.raises(RequestRedirect) as redirect:
        match(url_map.bind("localhost", path_info="/a"), "GET")
    assert redirect.value.new_url == "http://localhost/a/"
    with pytest.raises(MethodNotAllowed) as not_allowed:
        match(url_map.bind("localhost", path_info="/b"), "GET")
    assert not_allowed.value.valid_methods == ["OPTIONS", "POST"]
    with pytest.raises(NotFound):
        match(url_map.bind("localhost", path_info="/c"), "GET")


def test_make_rule_adds_options_unless_given() -> None:
    assert make_rule("/", "x", None).methods == {"GET", "HEAD", "OPTIONS"}
    explicit = make_rule("/", "x", ["get", "options"])
    assert explicit.methods == {"GET", "HEAD", "OPTIONS"}
    assert not explicit.provide_automatic_options
    assert make_rule("/", "x", ["POST"]).provide_automatic_options
    copied = make_rule("/", "x", ["POST"]).empty()  # werkzeug copies rules this way
    assert isinstance(copied, Rule)
    assert copied.provide_automatic_options


async def test_automatic_options_can_be_turned_off(app: Trioframe, client: TestClient) -> None:
    async def view() -> str:
        return "x"

    app.add_url_rule("/plain", view_func=view, provide_automatic_options=False)
    response = await client.options("/plain")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"


async def test_rule_first_view_later(app: Trioframe, client: TestClient) -> None:
    app.add_url_rule("/later", "later")

    async def later() -> str:
        return "attached"

    app.view_functions["later"] = later
    assert await (await client.get("/later")).get_data(as_text=True) == "attached"


async def test_url_for_relative_outside_a_request(app: Trioframe) -> None:
    @app.get("/about")
    async def about() -> str:
        return "about"

    app.config.update(SERVER_NAME="example.com", APPLICATION_ROOT="/site")
    with app.app_context():
        assert url_for("about", _external=False) == "/site/about"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/app", (200, b"index /")),  # the mount point itself
        ("/app/", (200, b"index /")),
        ("/app/x", (200, b"x /x")),
        ("/x", (404, None)),  # outside the mount point, though the app has a /x
        ("/application/x", (404, None)),  # a prefix of a segment is not the mount point
    ],
)
async def test_only_paths_under_the_mount_point_are_the_app_s(
    app: Trioframe, path: str, expected: tuple[int, bytes | None]
) -> None:
    @app.get("/")
    async def index() -> str:
        return f"index {request.path}"

    @app.get("/x")
    async def x() -> str:
        return f"x {request.path}"

    @app.websocket("/x")
    async def ws() -> None:
        await websocket.send("open")

    # A scripted ASGI peer: the scope is what a server mounting the app at /app sends.
    scope = http_scope(path)
    scope["root_path"] = "/app"
    peer = Peer()
    await app(scope, peer.receive, peer.send)
    status, body = expected
    assert peer.status == status
    if body is not None:
        assert peer.body_chunks == [body]

    socket_scope = websocket_scope(path)
    socket_scope["root_path"] = "/app"
    socket = WebsocketPeer()
    await app(socket_scope, socket.receive, socket.send)
    if path.endswith("/x"):
        accepted = socket.types[0] == "websocket.accept"
        assert accepted is (status == 200)


async def test_an_app_whose_url_map_was_replaced_still_routes() -> None:
    # trioframe matches hits with its own walk of the map's rules; a plain werkzeug Map put
    # in its place routes through werkzeug alone, with the same answers.
    app = Trioframe(__name__)
    app.url_map = Map()

    @app.get("/items/<int:item_id>")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    client = app.test_client()
    assert await (await client.get("/items/3")).get_json() == {"item_id": 3}
    assert (await client.get("/items/x")).status_code == 404
    assert (await client.post("/items/3")).status_code == 405


async def test_create_url_adapter_binds_the_map_to_a_request() -> None:
    app = Trioframe(__name__)

    @app.get("/items/<int:item_id>")
    async def item(item_id: int) -> str:
        return str(item_id)

    async with app.test_request_context("/items/5", headers={"Host": "shop.example"}):
        adapter = app.create_url_adapter(request)
        assert adapter.match() == ("item", {"item_id": 5})
        assert adapter.build("item", {"item_id": 6}, force_external=True) == (
            "http://shop.example/items/6"
        )
