"""Templates through the test client: rendering, streaming, context processors, filters, tests
and globals."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import jinja2
import pytest
import trio
import trio.testing

from trioframe import (
    Blueprint,
    OutsideContextError,
    Trioframe,
    g,
    render_template,
    render_template_string,
    session,
    stream_template,
    stream_template_string,
    websocket,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return path


@pytest.fixture
def app(tmp_path: Path) -> Trioframe:
    app = Trioframe("tests", root_path=str(tmp_path))
    app.config.update(TESTING=True, SECRET_KEY="test secret")
    return app


async def test_templates_render_with_autoescaping(app: Trioframe, tmp_path: Path) -> None:
    write(tmp_path / "templates", "hello.html", "<p>Hello, {{ name }}!</p>")
    write(tmp_path / "templates", "hello.txt", "Hello, {{ name }}!")

    @app.get("/<kind>")
    async def hello(kind: str) -> str:
        return await render_template(f"hello.{kind}", name="<b>Trio</b>")

    client = app.test_client()
    html = await (await client.get("/html")).get_data(as_text=True)
    assert html == "<p>Hello, &lt;b&gt;Trio&lt;/b&gt;!</p>"
    text = await (await client.get("/txt")).get_data(as_text=True)
    assert text == "Hello, <b>Trio</b>!"  # only HTML and XML are escaped
    async with app.app_context():
        assert await render_template_string("{{ x }}", x="<i>") == "&lt;i&gt;"
        assert await render_template(["missing.html", "hello.txt"], name="first found") == (
            "Hello, first found!"
        )


async def test_templates_see_the_request_and_friends(app: Trioframe) -> None:
    source = (
        "{{ request.path }} {{ request.args.q }} {{ url_for('search', q='x') }} "
        "{{ session.user }} {{ g.theme }} {{ config.APP_NAME }} {{ nickname }}"
    )

    @app.get("/search")
    async def search() -> str:
        session["user"] = "ada"
        g.theme = "dark"
        return await render_template_string(source, nickname="countess")

    app.config["APP_NAME"] = "demo"
    response = await app.test_client().get("/search?q=trio")
    assert await response.get_data(as_text=True) == (
        "/search trio /search?q=x ada dark demo countess"
    )


async def test_async_values_are_awaited_in_templates(
    app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    async def slow_count() -> int:
        await trio.sleep(1)  # stands in for a query
        return 42

    async with app.app_context():
        assert await render_template_string("{{ count() }} rows", count=slow_count) == "42 rows"


async def test_context_processors(app: Trioframe, tmp_path: Path) -> None:
    shop = Blueprint("shop", __name__, url_prefix="/shop")
    source = "{{ site }} {{ user }} {{ section|default('-') }} {{ everywhere }}"

    @app.context_processor
    async def site() -> dict[str, Any]:
        return {"site": "example", "user": "anonymous"}

    @app.context_processor
    def user() -> dict[str, Any]:  # plain functions run in a worker thread
        return {"user": "ada"}

    @shop.context_processor
    async def section() -> dict[str, Any]:
        return {"section": "shop"}

    @shop.app_context_processor
    async def everywhere() -> dict[str, Any]:
        return {"everywhere": "yes"}

    @shop.get("/")
    async def shop_index() -> str:
        return await render_template_string(source)

    @app.get("/")
    async def index() -> str:
        return await render_template_string(source, site="overridden by the view")

    app.register_blueprint(shop)
    client = app.test_client()
    assert await (await client.get("/shop/")).get_data(as_text=True) == "example ada shop yes"
    assert await (await client.get("/")).get_data(as_text=True) == (
        "overridden by the view ada - yes"
    )


async def test_filters_tests_and_globals(app: Trioframe) -> None:
    extras = Blueprint("extras", __name__)

    @app.template_filter()
    def shout(value: str) -> str:
        return value.upper() + "!"

    @app.template_filter("twice")
    def double(value: str) -> str:
        return value * 2

    @app.template_test()
    def short(value: str) -> bool:
        return len(value) < 4

    @app.template_global()
    def greeting() -> str:
        return "hi"

    @extras.app_template_filter("reverse_it")
    def reverse(value: str) -> str:
        return value[::-1]

    @extras.app_template_test("empty")
    def empty(value: str) -> bool:
        return not value

    @extras.app_template_global("answer")
    def answer() -> int:
        return 42

    app.register_blueprint(extras)
    source = (
        "{{ 'trio'|shout }} {{ 'ab'|twice }} {{ 'abc' is short }} {{ greeting() }} "
        "{{ 'abc'|reverse_it }} {{ '' is empty }} {{ answer() }}"
    )
    async with app.app_context():
        assert await render_template_string(source) == "TRIO! abab True hi cba True 42"


async def test_streaming_a_template(app: Trioframe, tmp_path: Path) -> None:
    write(tmp_path / "templates", "rows.html", "{% for row in rows %}<li>{{ row }}{% endfor %}")

    @app.get("/rows")
    async def rows() -> AsyncIterator[str]:
        return await stream_template("rows.html", rows=["a", "<b>"])

    @app.get("/path")
    async def path() -> AsyncIterator[str]:
        return await stream_template_string("{{ request.path }} {{ n }}", n=1)

    client = app.test_client()
    response = await client.get("/rows")
    assert response.headers.get("Content-Length") is None  # streamed
    assert await response.get_data(as_text=True) == "<li>a<li>&lt;b&gt;"
    # The request is still there while the template streams.
    assert await (await client.get("/path")).get_data(as_text=True) == "/path 1"


async def test_blueprint_template_folders(app: Trioframe, tmp_path: Path) -> None:
    write(tmp_path / "templates", "page.html", "app page")
    write(tmp_path / "admin_templates", "page.html", "admin page, shadowed by the app's")
    write(tmp_path / "admin_templates", "admin/users.html", "admin users")
    admin = Blueprint("admin", __name__, template_folder="admin_templates", root_path=str(tmp_path))
    app.register_blueprint(admin)
    async with app.app_context():
        assert await render_template("page.html") == "app page"
        assert await render_template("admin/users.html") == "admin users"
    assert app.jinja_env.list_templates() == ["admin/users.html", "page.html"]

    bare_app = Trioframe("tests", template_folder=None, root_path=str(tmp_path))
    bare_app.register_blueprint(Blueprint("bare", __name__))  # no templates of its own
    bare_app.register_blueprint(admin)
    async with bare_app.app_context():
        assert await render_template("page.html") == "admin page, shadowed by the app's"


async def test_templates_in_websocket_handlers(app: Trioframe) -> None:
    live = Blueprint("live", __name__)

    @live.context_processor
    async def channel() -> dict[str, Any]:
        return {"channel": "news"}

    @live.websocket("/live")
    async def feed() -> None:
        await websocket.send(await render_template_string("{{ websocket.path }} {{ channel }}"))

    app.register_blueprint(live)
    async with app.test_client().websocket("/live") as ws:
        assert await ws.receive() == "/live news"


async def test_template_errors(
    app: Trioframe, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path / "templates", "broken.html", "{{ 1 / 0 }}")

    @app.get("/missing")
    async def missing() -> str:
        return await render_template("missing.html")

    @app.get("/broken")
    async def broken() -> str:
        return await render_template("broken.html")

    client = app.test_client()
    with pytest.raises(jinja2.TemplateNotFound, match=r"missing\.html"):
        await client.get("/missing")
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets
    response = await client.get("/broken")
    assert response.status_code == 500
    assert "ZeroDivisionError" not in await response.get_data(as_text=True)
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert errors[-1].exc_info is not None
    assert errors[-1].exc_info[0] is ZeroDivisionError


async def test_templates_reload_when_they_change(app: Trioframe, tmp_path: Path) -> None:
    path = write(tmp_path / "templates", "page.html", "first")
    app.debug = True  # TEMPLATES_AUTO_RELOAD follows DEBUG unless set
    async with app.app_context():
        assert await render_template("page.html") == "first"
        path.write_text("second")
        stat = path.stat()
        os.utime(path, (stat.st_atime, stat.st_mtime + 10))
        assert await render_template("page.html") == "second"
    other = Trioframe("tests", root_path=str(tmp_path))
    other.config["TEMPLATES_AUTO_RELOAD"] = False
    assert other.jinja_env.auto_reload is False


async def test_rendering_needs_an_app_context() -> None:
    with pytest.raises(OutsideContextError):
        await render_template_string("nothing")


def test_jinja_options_configure_the_environment(app: Trioframe) -> None:
    class Configured(Trioframe):
        jinja_options = {"trim_blocks": True}  # noqa: RUF012  # the documented way

    configured = Configured("tests")
    assert configured.jinja_env.trim_blocks is True
    assert app.jinja_env.is_async
