"""Signed cookie sessions through the test client: reading, writing, key rotation, websockets."""

from __future__ import annotations

import time
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

import pytest

from trioframe import (
    OutsideContextError,
    Response,
    SecureCookieSessionInterface,
    Session,
    SessionInterface,
    Trioframe,
    flash,
    get_flashed_messages,
    redirect,
    render_template_string,
    session,
    websocket,
)
from trioframe.testing import TestClient, WebsocketResponse

if TYPE_CHECKING:
    from collections.abc import Callable

    from trioframe._request import BaseRequestWebsocket


@pytest.fixture
def app() -> Trioframe:
    app = Trioframe("tests")
    app.config.update(SECRET_KEY="test secret", TESTING=True)

    @app.post("/visit")
    async def visit() -> dict[str, Any]:
        session["visits"] = session.get("visits", 0) + 1
        return dict(session)

    @app.get("/show")
    async def show() -> dict[str, Any]:
        return dict(session)

    @app.post("/logout")
    async def logout() -> str:
        session.clear()
        return "bye"

    return app


def set_cookie_of(response: Response | Any, name: str = "session") -> SimpleCookie:
    cookies: SimpleCookie = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        cookies.load(header)
    assert name in cookies, f"no {name} cookie in {response.headers}"
    return cookies


async def test_the_session_lives_in_the_cookie_jar(client: TestClient) -> None:
    first = await client.post("/visit")
    assert await first.get_json() == {"visits": 1}
    cookie = set_cookie_of(first)["session"]
    assert cookie["httponly"] is True
    assert cookie["path"] == "/"
    assert not cookie["expires"]  # a browser-session cookie unless made permanent
    assert first.headers["Vary"] == "Cookie"
    assert await (await client.post("/visit")).get_json() == {"visits": 2}
    shown = await client.get("/show")
    assert await shown.get_json() == {"visits": 2}
    assert "Set-Cookie" not in shown.headers  # unchanged: not sent again
    assert shown.headers["Vary"] == "Cookie"  # but the response depends on it


async def test_clearing_the_session_deletes_the_cookie(client: TestClient) -> None:
    await client.post("/visit")
    response = await client.post("/logout")
    assert set_cookie_of(response)["session"]["expires"].startswith("Thu, 01 Jan 1970")
    assert await (await client.get("/show")).get_json() == {}


async def test_a_tampered_or_expired_cookie_is_an_empty_session(
    app: Trioframe, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.post("/visit")
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.value is not None
    payload, _, signature = cookie.value.rpartition(".")
    client.set_cookie("session", f"{payload}.{signature[::-1]}")
    assert await (await client.get("/show")).get_json() == {}
    client.set_cookie("session", "not even close")
    assert await (await client.get("/show")).get_json() == {}

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    client.set_cookie("session", serializer.dumps(["not", "a", "dict"]))
    assert await (await client.get("/show")).get_json() == {}
    # Signed 32 days ago, past the default lifetime of 31 days.
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 32 * 86400)  # itsdangerous reads time.time
    old = serializer.dumps({"visits": 99})
    monkeypatch.undo()
    client.set_cookie("session", old)
    assert await (await client.get("/show")).get_json() == {}


async def test_cookie_options_come_from_the_config(app: Trioframe, client: TestClient) -> None:
    app.config.update(
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_DOMAIN="example.com",
        SESSION_COOKIE_PATH="/app",
        PERMANENT_SESSION_LIFETIME=3600,
    )

    @app.post("/remember")
    async def remember() -> str:
        session.permanent = True
        session["user"] = "ada"
        return "ok"

    response = await client.post("/remember")
    cookie = set_cookie_of(response, "sid")["sid"]
    assert cookie["secure"] is True
    assert not cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["domain"] == "example.com"
    assert cookie["path"] == "/app"
    assert cookie["max-age"] == ""  # Expires is set instead, an hour ahead
    assert cookie["expires"]


async def test_a_permanent_session_is_refreshed_on_each_request(
    app: Trioframe, client: TestClient
) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=7)
    async with client.session_transaction() as sess:
        sess.permanent = True
    assert "Set-Cookie" in (await client.get("/show")).headers  # expiry moved forward
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    assert "Set-Cookie" not in (await client.get("/show")).headers


async def test_keys_can_be_rotated(app: Trioframe, client: TestClient) -> None:
    await client.post("/visit")
    app.config.update(SECRET_KEY="new secret", SECRET_KEY_FALLBACKS=["test secret"])
    assert await (await client.post("/visit")).get_json() == {"visits": 2}  # old cookie read
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert await (await client.get("/show")).get_json() == {"visits": 2}  # re-signed with new


def test_the_secret_key_property(app: Trioframe) -> None:
    app.secret_key = "rotated"  # as in Flask: the same as config["SECRET_KEY"]
    assert app.config["SECRET_KEY"] == "rotated"
    assert app.secret_key == "rotated"


async def test_without_a_secret_key_the_session_is_read_only(
    app: Trioframe, client: TestClient
) -> None:
    app.config["SECRET_KEY"] = None
    assert await (await client.get("/show")).get_json() == {}
    with pytest.raises(RuntimeError, match=r"SECRET_KEY is not set.*secrets\.token_hex"):
        await client.post("/visit")
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        async with client.session_transaction() as sess:
            sess["user"] = "ada"


async def test_session_transaction_edits_what_the_app_sees(client: TestClient) -> None:
    async with client.session_transaction() as sess:
        assert dict(sess) == {}
        sess["visits"] = 41
    assert await (await client.post("/visit")).get_json() == {"visits": 42}
    async with client.session_transaction() as sess:
        assert sess["visits"] == 42
        del sess["visits"]
    assert await (await client.get("/show")).get_json() == {}


async def test_session_transaction_needs_cookies(app: Trioframe) -> None:
    client = TestClient(app, use_cookies=False)
    with pytest.raises(RuntimeError, match="use_cookies=False"):
        async with client.session_transaction():
            pass


async def test_websocket_sessions(app: Trioframe, client: TestClient) -> None:
    @app.websocket("/ws")
    async def handler() -> tuple[str, int] | None:
        if websocket.args.get("refuse"):
            session["refused"] = True
            return "not now", 429
        session["connected"] = True  # before accepting: sent with the handshake
        await websocket.accept()
        await websocket.send_json(dict(session))
        try:
            session["later"] = True
        except RuntimeError as error:
            await websocket.send(str(error))
        return None

    await client.post("/visit")
    async with client.websocket("/ws") as ws:
        assert await ws.receive_json() == {"visits": 1, "connected": True}
        assert "read-only once the websocket is accepted" in str(await ws.receive())
        assert "session=" in ws.headers["Set-Cookie"]
    assert await (await client.get("/show")).get_json() == {"visits": 1, "connected": True}
    with pytest.raises(WebsocketResponse) as refused:
        async with client.websocket("/ws", query_string={"refuse": "1"}):
            pass
    assert refused.value.response.status_code == 429
    shown = await (await client.get("/show")).get_json()
    assert shown == {"visits": 1, "connected": True, "refused": True}


async def test_the_session_dict_tracks_changes() -> None:
    sess = Session({"a": 1})
    assert not sess.modified
    assert sess.setdefault("a", 5) == 1
    assert not sess.modified  # nothing changed
    changes: list[Callable[[Session], object]] = [
        lambda s: s.setdefault("b", 2),
        lambda s: s.pop("a"),
        lambda s: s.popitem(),
        lambda s: s.update(c=3),
        lambda s: s.__ior__({"d": 4}),
    ]
    for change in changes:
        sess.modified = False
        change(sess)
        assert sess.modified
    assert dict(sess) == {"c": 3, "d": 4}
    sess.make_read_only("frozen for the test")
    with pytest.raises(RuntimeError, match="frozen for the test"):
        sess["e"] = 5


async def test_the_session_global_outside_a_request(app: Trioframe) -> None:
    with pytest.raises(OutsideContextError, match="outside a request or websocket handler"):
        session.get("user")
    async with app.test_request_context("/"):
        assert session.get("user") is None
    context = app.test_request_context("/")
    context.push()
    try:
        with pytest.raises(OutsideContextError, match="enter it with 'async with'"):
            session.get("user")
    finally:
        await context.pop()


async def test_a_failing_session_store_fails_the_context(app: Trioframe) -> None:
    class Down(SecureCookieSessionInterface):
        async def open_session(
            self, app: Trioframe, request: BaseRequestWebsocket
        ) -> Session | None:
            raise ConnectionError("session store down")

    app.session_interface = Down()
    with pytest.raises(ConnectionError, match="session store down"):
        async with app.test_request_context("/"):
            raise AssertionError("not entered")


async def test_a_server_side_session_interface(app: Trioframe, client: TestClient) -> None:
    class MemoryStore(SessionInterface):
        """Sessions kept on the server, the cookie holding only an id."""

        def __init__(self) -> None:
            self.store: dict[str, dict[str, Any]] = {}

        async def open_session(
            self, app: Trioframe, request: BaseRequestWebsocket
        ) -> Session | None:
            sid = request.cookies.get("sid")
            return Session(self.store.get(sid, {})) if sid else Session()

        async def save_session(self, app: Trioframe, session: Session, response: Response) -> None:
            if session.modified:
                sid = f"id{len(self.store)}"
                self.store[sid] = dict(session)
                response.set_cookie("sid", sid)

    store = MemoryStore()
    app.session_interface = store
    await client.post("/visit")
    assert await (await client.post("/visit")).get_json() == {"visits": 2}
    assert store.store == {"id0": {"visits": 1}, "id1": {"visits": 2}}
    with pytest.raises(NotImplementedError):
        await SessionInterface().open_session(app, None)  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError):
        await SessionInterface().save_session(app, Session(), Response())


async def test_flashed_messages_wait_for_the_next_request(app: Trioframe) -> None:
    @app.post("/save")
    async def save() -> Response:
        await flash("Saved.")
        await flash("Disk almost full.", "warning")
        return redirect("/")

    @app.get("/")
    async def index() -> dict[str, Any]:
        return {
            "all": get_flashed_messages(with_categories=True),
            "warnings": get_flashed_messages(category_filter=["warning"]),
            "again": get_flashed_messages(),  # the same request sees them again
        }

    @app.get("/page")
    async def page() -> str:
        return await render_template_string(
            "{% for message in get_flashed_messages() %}[{{ message }}]{% endfor %}"
        )

    client = app.test_client()
    assert (await client.post("/save")).status_code == 302
    assert await (await client.get("/")).get_json() == {
        "all": [["message", "Saved."], ["warning", "Disk almost full."]],
        "warnings": ["Disk almost full."],
        "again": ["Saved.", "Disk almost full."],
    }
    assert (await (await client.get("/")).get_json())["all"] == []  # taken: gone
    await client.post("/save")
    assert await (await client.get("/page")).get_data() == b"[Saved.][Disk almost full.]"


async def test_flashing_needs_a_request(app: Trioframe) -> None:
    with pytest.raises(OutsideContextError, match=r"trioframe\.flash\(\) used outside"):
        await flash("nowhere")
    with pytest.raises(OutsideContextError, match="get_flashed_messages"):
        get_flashed_messages()
    context = app.test_request_context("/")
    context.push()
    try:
        with pytest.raises(OutsideContextError, match=r"before using trioframe\.flash\(\)"):
            await flash("too early")
    finally:
        await context.pop()
