"""The application object, through the test client: configuration properties, names, the logger,
trusted hosts and the response helpers."""

from __future__ import annotations

import logging
import sys
import threading
import types
from typing import TYPE_CHECKING, Any

import pytest
import trio
import werkzeug.exceptions

from trioframe import (
    HTTPException,
    InternalServerError,
    NotFound,
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
    from trioframe.testing import TestClient


async def test_hooks_run_in_order(app: Trioframe, client: TestClient) -> None:
    events: list[str] = []

    @app.before_request
    async def first() -> None:
        events.append("before 1")

    @app.before_request
    def second() -> None:
        events.append(
            "before 2 (thread)"
            if threading.current_thread() is not threading.main_thread()
            else "before 2 (loop)"
        )

    @app.after_request
    async def outer(response: Response) -> Response:
        events.append("after outer")
        return response

    @app.after_request
    async def inner(response: Response) -> Response:
        events.append("after inner")
        response.headers["X-Hooked"] = "yes"
        return response

    @app.teardown_request
    async def teardown(error: BaseException | None) -> None:
        events.append(f"teardown {error}")

    @app.get("/")
    async def index() -> str:
        events.append("view")
        return "home"

    response = await client.get("/")
    assert response.headers["X-Hooked"] == "yes"
    assert events == [
        "before 1",
        "before 2 (thread)",
        "view",
        "after inner",
        "after outer",
        "teardown None",
    ]


async def test_before_request_can_answer_instead_of_the_view(
    app: Trioframe, client: TestClient
) -> None:
    @app.before_request
    async def require_token() -> Any:
        if request.headers.get("X-Token") != "secret":
            return {"error": "token required"}, 401
        g.user = "ada"
        return None

    @app.after_request
    async def stamp(response: Response) -> Response:
        response.headers["X-Stamped"] = "1"
        return response

    @app.get("/me")
    async def me() -> dict[str, str]:
        return {"user": g.user}

    refused = await client.get("/me")
    assert refused.status_code == 401
    assert await refused.get_json() == {"error": "token required"}
    assert refused.headers["X-Stamped"] == "1"
    allowed = await client.get("/me", headers={"X-Token": "secret"})
    assert await allowed.get_json() == {"user": "ada"}


async def test_after_request_must_return_the_response(
    app: Trioframe, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets

    @app.after_request
    async def forgetful(response: Response) -> Response:
        response.headers["X-Seen"] = "1"
        return None  # type: ignore[return-value]  # the mistake under test

    @app.get("/")
    async def index() -> str:
        return "home"

    response = await client.get("/")
    assert response.status_code == 500
    assert "must return the response" in caplog.text


async def test_error_handlers_by_code_and_class(app: Trioframe, client: TestClient) -> None:
    class PaymentError(Exception):
        pass

    class CardDeclined(PaymentError):
        pass

    @app.errorhandler(404)
    async def not_found(error: HTTPException) -> Any:
        return {"error": "no such page", "description": error.description}, 404

    @app.errorhandler(PaymentError)
    def payment_failed(error: PaymentError) -> Any:
        return {"error": type(error).__name__}, 402

    @app.get("/pay")
    async def pay() -> str:
        raise CardDeclined()

    @app.get("/gone")
    async def gone() -> str:
        abort(404, "It was here yesterday.")

    missing = await client.get("/nowhere")
    assert missing.status_code == 404
    assert (await missing.get_json())["error"] == "no such page"
    gone_response = await client.get("/gone")
    assert await gone_response.get_json() == {
        "error": "no such page",
        "description": "It was here yesterday.",
    }
    payment = await client.get("/pay")
    assert payment.status_code == 402
    assert await payment.get_json() == {"error": "CardDeclined"}


async def test_most_specific_error_handler_wins(app: Trioframe, client: TestClient) -> None:
    @app.errorhandler(HTTPException)
    async def any_http_error(error: HTTPException) -> Any:
        return f"generic {error.code}", error.code

    @app.errorhandler(NotFound)
    async def not_found(error: HTTPException) -> Any:
        return "specific 404", 404

    @app.errorhandler(werkzeug.exceptions.Forbidden)  # handlers written for Flask still work
    async def forbidden(error: HTTPException) -> Any:
        return "werkzeug-style 403", 403

    @app.get("/teapot")
    async def teapot() -> str:
        abort(418)

    @app.get("/forbidden")
    async def no() -> str:
        raise werkzeug.exceptions.Forbidden()

    assert await (await client.get("/missing")).get_data(as_text=True) == "specific 404"
    assert await (await client.get("/teapot")).get_data(as_text=True) == "generic 418"
    assert await (await client.get("/forbidden")).get_data(as_text=True) == "werkzeug-style 403"


async def test_unhandled_exception_is_a_500_that_leaks_nothing(
    app: Trioframe, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets

    @app.get("/boom")
    async def boom() -> str:
        raise RuntimeError("secret connection string postgres://admin:hunter2@db")

    response = await client.get("/boom")
    assert response.status_code == 500
    body = await response.get_data(as_text=True)
    assert "Internal Server Error" in body
    assert "hunter2" not in body
    assert "Traceback" not in body
    assert "RuntimeError" not in body
    record = caplog.records[-1]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "Exception on /boom [GET]"
    assert "hunter2" in caplog.text  # the operator sees it in the log


async def test_500_handler_gets_the_original_exception(app: Trioframe, client: TestClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets

    @app.errorhandler(500)
    async def server_error(error: InternalServerError) -> Any:
        return {"failed": type(error.original_exception).__name__}, 500

    @app.get("/boom")
    async def boom() -> str:
        raise ZeroDivisionError()

    response = await client.get("/boom")
    assert response.status_code == 500
    assert await response.get_json() == {"failed": "ZeroDivisionError"}


async def test_a_failing_500_handler_falls_back_to_the_plain_page(
    app: Trioframe, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets

    @app.errorhandler(500)
    async def broken_handler(error: InternalServerError) -> Any:
        raise LookupError("handler bug")

    @app.get("/boom")
    async def boom() -> str:
        raise ValueError("view bug")

    response = await client.get("/boom")
    assert response.status_code == 500
    assert "Internal Server Error" in await response.get_data(as_text=True)
    assert "view bug" in caplog.text
    assert "handler bug" in caplog.text


async def test_testing_propagates_exceptions(app: Trioframe, client: TestClient) -> None:
    @app.get("/boom")
    async def boom() -> str:
        raise KeyError("raised in the view")

    app.testing = True
    with pytest.raises(KeyError, match="raised in the view"):
        await client.get("/boom")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert (await client.get("/boom")).status_code == 500


async def test_exception_group_from_a_view_nursery_is_unwrapped(
    app: Trioframe, client: TestClient
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets

    async def fail(message: str) -> None:
        raise ValueError(message)

    @app.errorhandler(ValueError)
    async def bad_value(error: ValueError) -> Any:
        return {"handled": str(error)}, 422

    @app.get("/one")
    async def one() -> str:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(fail, "from a child task")
        return "unreachable"

    @app.get("/abort-in-child")
    async def abort_in_child() -> str:
        async def child() -> None:
            abort(403)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(child)
        return "unreachable"

    @app.get("/two")
    async def two() -> str:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(fail, "first")
            nursery.start_soon(fail, "second")
        return "unreachable"

    @app.get("/unhandled")
    async def unhandled() -> str:
        async def child() -> None:
            raise KeyError("nobody handles this")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(child)
        return "unreachable"

    response = await client.get("/one")
    assert response.status_code == 422
    assert await response.get_json() == {"handled": "from a child task"}
    assert (await client.get("/abort-in-child")).status_code == 403
    assert (await client.get("/two")).status_code == 500  # two failures: no single cause

    app.config["PROPAGATE_EXCEPTIONS"] = None  # the test client's default: raised in the test
    with pytest.raises(KeyError, match="nobody handles this") as raised:
        await client.get("/unhandled")
    assert type(raised.value) is KeyError  # not an ExceptionGroup


async def test_errors_in_teardown_are_logged_and_do_not_stop_others(
    app: Trioframe, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets
    ran: list[str] = []

    @app.teardown_request
    async def last(error: BaseException | None) -> None:
        ran.append("last registered runs second")

    @app.teardown_request
    async def broken(error: BaseException | None) -> None:
        raise OSError("cache unreachable")

    @app.get("/")
    async def index() -> str:
        return "home"

    assert (await client.get("/")).status_code == 200
    assert ran == ["last registered runs second"]
    assert "cache unreachable" in caplog.text

    app.config["PROPAGATE_EXCEPTIONS"] = None  # the test client's default: raised in the test
    with pytest.raises(OSError, match="cache unreachable"):
        await client.get("/")


@pytest.mark.parametrize("key", [200, 600, KeyboardInterrupt, "404"])
def test_bad_error_handler_keys(app: Trioframe, key: Any) -> None:
    with pytest.raises(SetupError, match="errorhandler"):
        app.register_error_handler(key, lambda error: "never")


def test_name_debug_and_logger(app: Trioframe, monkeypatch: pytest.MonkeyPatch) -> None:
    assert app.name == "tests"
    assert app.logger.name == "tests"
    assert not app.debug
    app.debug = True
    assert app.config["DEBUG"] is True
    main = types.ModuleType("__main__")
    main.__file__ = "/srv/service/server.py"
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert Trioframe("__main__").name == "server"
    del main.__file__  # an interactive session has no script
    assert Trioframe("__main__").name == "__main__"


def test_root_path_is_the_folder_of_the_module() -> None:
    assert Trioframe(__name__).root_path == str(__import__("pathlib").Path(__file__).parent)
    assert Trioframe("no.such.module").root_path == __import__("os").getcwd()
    not_yet_imported = Trioframe("email.mime.audio")  # located without importing it
    assert not_yet_imported.root_path.endswith("email/mime")
    assert Trioframe("x", root_path="/srv").root_path == "/srv"


async def test_process_response_runs_the_after_request_functions(app: Trioframe) -> None:
    @app.after_request
    async def stamp(response: Response) -> Response:
        response.headers["X-Stamp"] = "yes"
        return response

    async with app.test_request_context("/") as ctx:
        response = await app.process_response(ctx, Response("body"))
    assert response.headers["X-Stamp"] == "yes"


async def test_trusted_hosts_refuse_other_hosts(app: Trioframe, client: TestClient) -> None:
    app.config["TRUSTED_HOSTS"] = ["example.com", ".example.org"]

    @app.get("/")
    async def index() -> str:
        return request.host

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send("hello")

    for host in ("example.com", "api.example.org", "example.org"):
        response = await client.get("/", headers={"Host": host})
        assert await response.get_data(as_text=True) == host
    refused = await client.get("/", headers={"Host": "evil.com"})
    assert refused.status_code == 400
    assert "TRUSTED_HOSTS" in await refused.get_data(as_text=True)
    with pytest.raises(WebsocketResponse) as denied:
        async with client.websocket("/ws", headers={"Host": "evil.com"}) as connection:
            await connection.receive()
    assert denied.value.response.status_code == 400


async def test_server_name_is_used_for_urls_instead_of_the_host_header(
    app: Trioframe, client: TestClient
) -> None:
    app.config["SERVER_NAME"] = "app.example"
    app.config["TRUSTED_HOSTS"] = ["app.example", "localhost"]

    @app.get("/page/")
    async def page() -> str:
        return url_for("page", _external=True)

    @app.errorhandler(400)
    async def bad_host(error: HTTPException) -> tuple[str, int]:
        return f"try {url_for('page', _external=True)}", 400

    response = await client.get("/page/", headers={"Host": "localhost"})
    assert await response.get_data(as_text=True) == "http://app.example/page/"
    redirected = await client.get("/page", headers={"Host": "localhost"})
    assert redirected.headers["Location"] == "http://app.example/page/"
    refused = await client.get("/page/", headers={"Host": "evil.com"})
    assert refused.status_code == 400
    assert await refused.get_data(as_text=True) == "try http://app.example/page/"


async def test_url_for_for_an_untrusted_host_without_server_name(
    app: Trioframe, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets
    app.config["TRUSTED_HOSTS"] = ["example.com"]

    @app.errorhandler(400)
    async def bad_host(error: HTTPException) -> str:
        return url_for("bad_host")

    response = await client.get("/", headers={"Host": "evil.com"})
    assert response.status_code == 500
    assert "trusted host" in caplog.text


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
async def test_the_traceback_page_shows_only_in_debug(
    app: Trioframe, client: TestClient, debug: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets
    app.debug = debug

    @app.get("/broken")
    async def broken() -> str:
        secret = "<tax id 1234>"
        raise ValueError(f"bad row near {secret}")

    response = await client.get("/broken")
    page = await response.get_data(as_text=True)
    assert response.status_code == 500
    assert ("Traceback (most recent call last)" in page) is debug
    assert ("in broken" in page) is debug
    assert ("ValueError: bad row near &lt;tax id 1234&gt;" in page) is debug  # escaped
    assert "<tax id 1234>" not in page
    assert "bad row" in caplog.text  # logged either way


async def test_a_500_handler_wins_over_the_traceback_page(
    app: Trioframe, client: TestClient
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets
    app.debug = True

    @app.errorhandler(500)
    async def sorry(error: Exception) -> tuple[str, int]:
        return "sorry", 500

    @app.get("/broken")
    async def broken() -> str:
        raise ValueError("bad")

    assert await (await client.get("/broken")).get_data() == b"sorry"
