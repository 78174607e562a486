"""Blueprints through the test client: prefixes, nesting, hooks, error handlers and registration
rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from trioframe import (
    Blueprint,
    HTTPException,
    Response,
    SetupError,
    Trioframe,
    abort,
    g,
    request,
    url_for,
    websocket,
)
from trioframe.testing import WebsocketResponse

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from trioframe.testing import TestClient


async def test_routes_get_the_prefix_and_the_name(app: Trioframe, client: TestClient) -> None:
    admin = Blueprint("admin", __name__, url_prefix="/admin")

    @admin.get("/")
    async def index() -> str:
        return f"{request.endpoint} in {request.blueprint} {request.blueprints}"

    @admin.post("/users/<int:user_id>")
    async def update(user_id: int) -> dict[str, Any]:
        return {"user": user_id, "self": url_for(".update", user_id=user_id)}

    @app.get("/")
    async def home() -> str:
        return f"{request.blueprint} {url_for('admin.index')} {url_for('.home')}"

    admin.add_url_rule("/settings", "settings", index)
    app.register_blueprint(admin)
    assert await (await client.get("/admin/")).get_data(as_text=True) == (
        "admin.index in admin ['admin']"
    )
    assert await (await client.get("/admin/settings")).get_data(as_text=True) == (
        "admin.settings in admin ['admin']"
    )
    response = await client.post("/users/7")
    assert response.status_code == 404  # only under the prefix
    assert await (await client.post("/admin/users/7")).get_json() == {
        "user": 7,
        "self": "/admin/users/7",
    }
    assert await (await client.get("/")).get_data(as_text=True) == "None /admin/ /"
    assert app.blueprints == {"admin": admin}
    assert list(app.iter_blueprints()) == [admin]


async def test_register_options_override_the_blueprint(app: Trioframe, client: TestClient) -> None:
    pages = Blueprint("pages", __name__, url_prefix="/pages", url_defaults={"lang": "en"})

    @pages.get("/about")
    async def about(lang: str) -> str:
        return f"{lang} {request.blueprint} {url_for('.about')}"

    @pages.get("/contact", defaults={"lang": "it"})
    async def contact(lang: str) -> str:
        return lang

    app.register_blueprint(pages, url_prefix="/p")
    app.register_blueprint(pages, name="docs", url_prefix="/docs", url_defaults={"lang": "fr"})
    assert await (await client.get("/p/about")).get_data(as_text=True) == "en pages /p/about"
    assert await (await client.get("/docs/about")).get_data(as_text=True) == "fr docs /docs/about"
    assert await (await client.get("/docs/contact")).get_data(as_text=True) == "it"
    assert (await client.get("/pages/about")).status_code == 404


async def test_a_none_prefix_at_registration_keeps_the_blueprint_s_own(
    app: Trioframe, client: TestClient
) -> None:
    # Flask and Quart read url_prefix=None as "the blueprint's own", also for nesting.
    api = Blueprint("api", __name__, url_prefix="/api")
    v1 = Blueprint("v1", __name__, url_prefix="/v1")

    @v1.get("/status")
    async def status() -> str:
        return url_for("api.v1.status")

    api.register_blueprint(v1, url_prefix=None)
    app.register_blueprint(api, url_prefix=None)
    assert await (await client.get("/api/v1/status")).get_data(as_text=True) == "/api/v1/status"


async def test_nested_blueprints(app: Trioframe, client: TestClient) -> None:
    api = Blueprint("api", __name__, url_prefix="/api")
    v1 = Blueprint("v1", __name__, url_prefix="/v1")
    items = Blueprint("items", __name__)

    @items.get("/items/<int:item_id>")
    async def item(item_id: int) -> dict[str, Any]:
        return {
            "endpoint": request.endpoint,
            "blueprints": request.blueprints,
            "here": url_for(".item", item_id=item_id),
            "up": url_for("api.v1.status"),
        }

    @v1.get("/status")
    async def status() -> str:
        return "ok"

    v1.register_blueprint(items)
    api.register_blueprint(v1)
    app.register_blueprint(api)
    assert await (await client.get("/api/v1/items/3")).get_json() == {
        "endpoint": "api.v1.items.item",
        "blueprints": ["api.v1.items", "api.v1", "api"],
        "here": "/api/v1/items/3",
        "up": "/api/v1/status",
    }
    assert set(app.blueprints) == {"api", "api.v1", "api.v1.items"}


async def test_hooks_apply_to_the_blueprint_and_run_in_order(
    app: Trioframe, client: TestClient
) -> None:
    events: list[str] = []
    outer = Blueprint("outer", __name__, url_prefix="/outer")
    inner = Blueprint("inner", __name__, url_prefix="/inner")

    def hooks(owner: Trioframe | Blueprint, label: str) -> None:
        @owner.before_request
        async def before() -> None:
            events.append(f"before {label}")

        @owner.after_request
        async def after(response: Response) -> Response:
            events.append(f"after {label}")
            return response

        @owner.teardown_request
        async def teardown(error: BaseException | None) -> None:
            events.append(f"teardown {label}")

    hooks(app, "app")
    hooks(outer, "outer")
    hooks(inner, "inner")

    @inner.get("/")
    async def view() -> str:
        events.append("view")
        return "inner"

    @app.get("/plain")
    async def plain() -> str:
        return "plain"

    outer.register_blueprint(inner)
    app.register_blueprint(outer)
    assert (await client.get("/outer/inner/")).status_code == 200
    assert events == [
        "before app",
        "before outer",
        "before inner",
        "view",
        "after inner",
        "after outer",
        "after app",
        "teardown inner",
        "teardown outer",
        "teardown app",
    ]
    events.clear()
    assert (await client.get("/plain")).status_code == 200
    assert events == ["before app", "after app", "teardown app"]


async def test_error_handlers_nearest_first(app: Trioframe, client: TestClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets
    shop = Blueprint("shop", __name__, url_prefix="/shop")

    @shop.errorhandler(404)
    async def shop_not_found(error: HTTPException) -> tuple[str, int]:
        return "no such product", 404

    @shop.errorhandler(KeyError)
    async def missing_key(error: KeyError) -> tuple[str, int]:
        return f"missing {error}", 400

    @app.errorhandler(404)
    async def not_found(error: HTTPException) -> tuple[str, int]:
        return "no such page", 404

    @shop.get("/<name>")
    async def product(name: str) -> str:
        if name == "broken":
            raise KeyError("price")
        abort(404)

    @app.get("/lookup")
    async def lookup() -> str:
        raise KeyError("app keys are not the shop's business")

    app.register_blueprint(shop)
    assert await (await client.get("/shop/anything")).get_data(as_text=True) == "no such product"
    assert await (await client.get("/shop/broken")).get_data(as_text=True) == "missing 'price'"
    # No endpoint matched, so the request is not the blueprint's: the app's handler answers.
    assert await (await client.get("/shop/a/b")).get_data(as_text=True) == "no such page"
    app.testing = False
    assert (await client.get("/lookup")).status_code == 500


async def test_blueprint_websockets_and_their_hooks(app: Trioframe, client: TestClient) -> None:
    chat = Blueprint("chat", __name__, url_prefix="/chat")

    @chat.before_websocket
    async def members_only() -> tuple[str, int] | None:
        if websocket.args.get("member") != "yes":
            return "members only", 403
        return None

    @chat.websocket("/<room>")
    async def room(room: str) -> None:
        await websocket.send(f"{room} via {url_for('.room', room=room)}")

    app.register_blueprint(chat)
    async with client.websocket("/chat/lobby", query_string={"member": "yes"}) as ws:
        assert await ws.receive() == "lobby via ws://localhost/chat/lobby"
    with pytest.raises(WebsocketResponse) as refused:
        async with client.websocket("/chat/lobby"):
            pass
    assert refused.value.response.status_code == 403


async def test_app_wide_registration_from_a_blueprint(app: Trioframe, client: TestClient) -> None:
    events: list[str] = []
    extension = Blueprint("extension", __name__)

    @extension.before_app_request
    async def before() -> None:
        events.append("before")

    @extension.after_app_request
    async def after(response: Response) -> Response:
        response.headers["X-Extension"] = "yes"
        return response

    @extension.teardown_app_request
    async def teardown(error: BaseException | None) -> None:
        events.append("teardown")

    @extension.before_app_websocket
    async def before_ws() -> None:
        events.append("before websocket")

    @extension.after_app_websocket
    async def after_ws(response: Response | None) -> Response | None:
        events.append("after websocket")
        return response

    @extension.teardown_app_websocket
    async def teardown_ws(error: BaseException | None) -> None:
        events.append("teardown websocket")

    @extension.app_errorhandler(404)
    async def not_found(error: HTTPException) -> tuple[str, int]:
        return "the extension says: not found", 404

    @extension.before_app_serving
    async def startup() -> None:
        events.append("startup")

    @extension.while_app_serving
    async def lifetime() -> AsyncIterator[None]:
        events.append("up")
        yield
        events.append("down")

    @extension.after_app_serving
    async def shutdown() -> None:
        events.append("shutdown")

    @app.get("/")
    async def index() -> str:
        return "app"

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()

    app.register_blueprint(extension)
    app.register_blueprint(extension, name="again")  # app-wide hooks are added only once
    async with app.test_app():
        response = await client.get("/")
        assert response.headers["X-Extension"] == "yes"
        missing = await client.get("/nowhere")
        assert await missing.get_data(as_text=True) == "the extension says: not found"
        async with client.websocket("/ws"):
            pass
    assert events == [
        "startup",
        "up",
        "before",
        "teardown",
        "before",
        "teardown",
        "before websocket",
        "after websocket",
        "teardown websocket",
        "down",
        "shutdown",
    ]


def test_registration_mistakes_are_setup_errors(app: Trioframe) -> None:
    bp = Blueprint("bp", __name__)

    @bp.get("/")
    async def index() -> str:
        return "bp"

    app.register_blueprint(bp)
    with pytest.raises(SetupError, match="already registered on the app by this blueprint"):
        app.register_blueprint(bp)
    with pytest.raises(SetupError, match="another blueprint"):
        app.register_blueprint(Blueprint("bp", __name__))
    with pytest.raises(SetupError, match="after it was registered"):
        bp.get("/late")(index)
    with pytest.raises(SetupError, match="after it was registered"):
        bp.before_app_request(index)
    with pytest.raises(ValueError, match="contains a dot"):
        Blueprint("a.b", __name__)
    with pytest.raises(ValueError, match="needs a name"):
        Blueprint("", __name__)
    other = Blueprint("other", __name__)
    with pytest.raises(ValueError, match="contains a dot"):
        other.add_url_rule("/x", "x.y", index)
    with pytest.raises(TypeError, match="endpoint name or a view function"):
        other.add_url_rule("/x")
    with pytest.raises(ValueError, match="registered on itself"):
        other.register_blueprint(other)
    with pytest.raises(SetupError, match="async generator function"):
        other.while_app_serving(index)  # type: ignore[type-var]  # the mistake under test
    with pytest.raises(SetupError, match="status code or an Exception subclass"):
        other.app_errorhandler("404")  # type: ignore[arg-type]  # the mistake under test


async def test_registering_after_serving_began_is_an_error(
    app: Trioframe, client: TestClient
) -> None:
    @app.get("/")
    async def index() -> str:
        return "served"

    await client.get("/")
    with pytest.raises(SetupError, match="after it handled its first request"):
        app.register_blueprint(Blueprint("late", __name__))


def test_blueprint_repr() -> None:
    assert repr(Blueprint("admin", __name__)) == "<Blueprint 'admin'>"


async def test_url_values_move_between_the_url_and_g(app: Trioframe, client: TestClient) -> None:
    # Flask's example: a language code in every URL of a blueprint, kept on g.
    frontend = Blueprint("frontend", __name__, url_prefix="/<lang_code>")
    order: list[str] = []

    @frontend.url_defaults
    def add_language_code(endpoint: str | None, values: dict[str, Any] | None) -> None:
        assert values is not None
        values.setdefault("lang_code", g.lang_code)

    @frontend.url_value_preprocessor
    def pull_lang_code(endpoint: str | None, values: dict[str, Any] | None) -> None:
        assert values is not None
        order.append(f"blueprint {endpoint}")
        g.lang_code = values.pop("lang_code")

    @app.url_value_preprocessor
    def app_first(endpoint: str | None, values: dict[str, Any] | None) -> None:
        order.append(f"app {endpoint}")

    @frontend.get("/about")
    async def about() -> dict[str, str]:
        return {"lang": g.lang_code, "here": url_for(".about"), "other": url_for(".contact")}

    @frontend.get("/contact")
    async def contact() -> str:
        return "contact"

    @frontend.websocket("/live")
    async def live() -> None:
        await websocket.send(f"{g.lang_code} {url_for('frontend.about')}")

    app.register_blueprint(frontend)
    assert await (await client.get("/de/about")).get_json() == {
        "lang": "de",
        "here": "/de/about",
        "other": "/de/contact",
    }
    assert order == ["app frontend.about", "blueprint frontend.about"]
    async with client.websocket("/fr/live") as ws:
        assert await ws.receive() == "fr /fr/about"


async def test_app_wide_url_functions_from_a_blueprint(app: Trioframe, client: TestClient) -> None:
    tools = Blueprint("tools", __name__)

    @tools.app_url_defaults
    def version(endpoint: str | None, values: dict[str, Any] | None) -> None:
        assert values is not None
        values.setdefault("v", "2")

    @tools.app_url_value_preprocessor
    def drop_version(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.seen = dict(values or {})

    @app.get("/page/<int:number>")
    async def page(number: int) -> dict[str, Any]:
        return {"seen": g.seen, "next": url_for("page", number=number + 1)}

    app.register_blueprint(tools)
    assert await (await client.get("/page/1")).get_json() == {
        "seen": {"number": 1},
        "next": "/page/2?v=2",
    }


def test_url_functions_must_be_plain(app: Trioframe) -> None:
    async def asynchronous(endpoint: str | None, values: dict[str, Any] | None) -> None:
        pass

    for register in (app.url_defaults, app.url_value_preprocessor):
        with pytest.raises(SetupError, match="make it a plain def"):
            register(asynchronous)  # type: ignore[type-var]  # the mistake under test
