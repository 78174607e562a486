"""The test client itself, as users drive it: requests, redirects, cookies, errors reaching the
test (against the wire harness, for what is the test client's alone)."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
import trio
import trio.testing
from werkzeug.datastructures import MultiDict

from trioframe import (
    FileStorage,
    Response,
    Trioframe,
    g,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from trioframe.testing import TestClient, WireServer


@pytest.fixture
def echo_app(app: Trioframe) -> Trioframe:
    @app.route("/echo", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def echo() -> dict[str, Any]:
        return {
            "method": request.method,
            "args": request.args.to_dict(flat=False),
            "host": request.host,
            "scheme": request.scheme,
            "content_type": request.content_type,
            "body": await request.get_data(as_text=True),
            "cookie": request.headers.get("Cookie"),
        }

    return app


@pytest.mark.parametrize(
    "query",
    [
        {"a": "1", "b": ["2", "3"]},
        MultiDict([("a", "1"), ("b", "2"), ("b", "3")]),
        [("a", "1"), ("b", "2"), ("b", "3")],
        "a=1&b=2&b=3",
        b"a=1&b=2&b=3",
    ],
)
async def test_query_string_forms(echo_app: Trioframe, client: TestClient, query: Any) -> None:
    response = await client.get("/echo", query_string=query)
    assert (await response.get_json())["args"] == {"a": ["1"], "b": ["2", "3"]}


async def test_query_in_the_path(echo_app: Trioframe, client: TestClient) -> None:
    response = await client.get("/echo?x=1")
    assert (await response.get_json())["args"] == {"x": ["1"]}
    with pytest.raises(TypeError, match="not both"):
        await client.get("/echo?x=1", query_string={"y": "2"})


async def test_full_url_sets_scheme_and_host(echo_app: Trioframe, client: TestClient) -> None:
    data = await (await client.get("https://api.example.com:8443/echo")).get_json()
    assert (data["scheme"], data["host"]) == ("https", "api.example.com:8443")


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/users/%25", "%"),
        ("/users/a%2Fb", "a/b"),
        ("/users/caf%C3%A9", "café"),
        ("/users/café", "café"),
    ],
)
async def test_the_path_reaches_the_app_decoded_as_from_a_server(
    app: Trioframe, client: TestClient, path: str, name: str
) -> None:
    @app.get("/users/<path:name>")
    async def user(name: str) -> str:
        return name

    response = await client.get(path)
    assert await response.get_data(as_text=True) == name


async def test_body_arguments(echo_app: Trioframe, client: TestClient) -> None:
    as_json = await (await client.put("/echo", json={"k": "v"})).get_json()
    assert (as_json["content_type"], as_json["body"]) == ("application/json", '{"k": "v"}')
    as_form = await (await client.patch("/echo", form={"k": "v w"})).get_json()
    assert as_form["content_type"] == "application/x-www-form-urlencoded"
    assert as_form["body"] == "k=v+w"
    as_data = await (await client.delete("/echo", data="raw")).get_json()
    assert (as_data["content_type"], as_data["body"]) == (None, "raw")
    with pytest.raises(TypeError, match="only one body argument"):
        await client.post("/echo", json={}, data=b"x")


async def test_follow_redirects(app: Trioframe, client: TestClient) -> None:
    @app.route("/start", methods=["POST"])
    async def start() -> Response:
        return redirect("/middle", 303)

    @app.route("/middle")
    async def middle() -> Response:
        return redirect("http://localhost/end?done=1", 302)

    @app.route("/end")
    async def end() -> dict[str, str]:
        return {"method": request.method, "done": request.args["done"]}

    @app.route("/keep", methods=["POST"])
    async def keep() -> Response:
        return redirect("/target", 307)

    @app.route("/target", methods=["POST"])
    async def target() -> str:
        return await request.get_data(as_text=True)

    response = await client.post("/start", data="payload", follow_redirects=True)
    assert await response.get_json() == {"method": "GET", "done": "1"}
    assert [step.status_code for step in response.history] == [303, 302]
    assert response.request is not None
    assert response.request.path == "/end"
    kept = await client.post("/keep", data="payload", follow_redirects=True)
    assert await kept.get_data(as_text=True) == "payload"
    unfollowed = await client.post("/start")
    assert unfollowed.status_code == 303
    assert unfollowed.history == ()


async def test_redirect_loops_stop(app: Trioframe, client: TestClient) -> None:
    @app.route("/loop")
    async def loop() -> Response:
        return redirect("/loop")

    with pytest.raises(RuntimeError, match="Followed 30 redirects"):
        await client.get("/loop", follow_redirects=True)


async def test_cookies_persist_between_requests(echo_app: Trioframe, client: TestClient) -> None:
    @echo_app.get("/set")
    async def set_cookies() -> Response:
        response = Response("set")
        response.set_cookie("session", "abc")
        response.set_cookie("scoped", "only-here", path="/set")
        response.set_cookie("secure_one", "tls", secure=True)
        return response

    await client.get("/set")
    data = await (await client.get("/echo")).get_json()
    assert data["cookie"] == "session=abc"
    secure = await (await client.get("https://localhost/echo")).get_json()
    assert "secure_one=tls" in secure["cookie"]
    session = client.get_cookie("session")
    assert session is not None
    assert session.value == "abc"
    assert client.get_cookie("scoped", path="/set") is not None
    client.delete_cookie("session")
    client.delete_cookie("never-set")
    assert client.get_cookie("session") is None
    client.set_cookie("manual", "m1")
    assert (await (await client.get("/echo")).get_json())["cookie"] == "manual=m1"
    explicit = await client.get("/echo", headers={"Cookie": "mine=1"})
    assert (await explicit.get_json())["cookie"] == "mine=1"


async def test_client_without_cookies(echo_app: Trioframe) -> None:
    client = TestClient(echo_app, use_cookies=False)
    assert (await (await client.get("/echo")).get_json())["cookie"] is None
    with pytest.raises(RuntimeError, match="use_cookies=False"):
        client.set_cookie("a", "b")


async def test_works_under_the_mock_clock(
    app: Trioframe, client: TestClient, autojump_clock: trio.testing.MockClock
) -> None:
    @app.get("/slow")
    async def slow() -> str:
        with trio.move_on_after(30) as scope:
            await trio.sleep(60)
        return f"timed out: {scope.cancelled_caught}"

    start = trio.current_time()
    response = await client.get("/slow", timeout=60)  # longer than the client's 5 s
    assert await response.get_data(as_text=True) == "timed out: True"
    assert trio.current_time() - start == pytest.approx(30)


async def test_an_app_that_sends_nothing_is_reported() -> None:
    class SilentApp(Trioframe):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await trio.lowlevel.checkpoint()

    client = SilentApp("silent").test_client()
    with pytest.raises(RuntimeError, match="without completing a response to GET /"):
        await client.get("/")


async def test_files_given_as_file_storage_or_file(app: Trioframe, client: TestClient) -> None:
    @app.post("/upload")
    async def upload() -> dict[str, list[str | None]]:
        files = await request.files
        return {name: [files[name].filename, files[name].stream.read().decode()] for name in files}

    named = io.BytesIO(b"from a file")
    named.name = "notes.txt"
    response = await client.post(
        "/upload",
        files={
            "storage": FileStorage(io.BytesIO(b"from storage"), "s.txt"),
            "file": named,
        },
    )
    assert await response.get_json() == {
        "storage": ["s.txt", "from storage"],
        "file": ["notes.txt", "from a file"],
    }


async def test_redirects_under_a_root_path(app: Trioframe, client: TestClient) -> None:
    @app.get("/old")
    async def old() -> Response:
        return redirect(url_for("new"))

    @app.get("/new")
    async def new() -> dict[str, str]:
        return {"path": request.path, "root": request.root_path}

    response = await client.get("/old", root_path="/app", follow_redirects=True)
    assert response.history[0].headers["Location"] == "/app/new"
    assert await response.get_json() == {"path": "/new", "root": "/app"}


async def test_extension_messages_are_ignored() -> None:
    class EarlyHints(Trioframe):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.early_hint", "links": [b"</style.css>"]})
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok", "more_body": False})

    response = await EarlyHints("hints").test_client().get("/")
    assert await response.get_data() == b"ok"


async def test_async_with_keeps_the_last_request_s_context(app: Trioframe) -> None:
    app.secret_key = "test secret"

    @app.post("/login/<name>")
    async def login(name: str) -> str:
        session["user"] = name
        g.seen = f"seen {name}"
        return "in"

    async with app.test_client() as client:
        await client.post("/login/ada", query_string={"next": "/home"})
        assert request.path == "/login/ada"  # as the view left them
        assert request.args["next"] == "/home"
        assert session["user"] == "ada"
        assert g.seen == "seen ada"
        await client.post("/login/grace")
        assert session["user"] == "grace"  # the last request's
    assert not has_request_context()  # gone with the block
    plain = app.test_client()
    await plain.post("/login/bob")
    assert not has_request_context()  # only kept inside the block
    with pytest.raises(RuntimeError, match="entered once at a time"):
        async with plain, plain:
            pass  # pragma: no cover


async def test_trace_and_scope_base(app: Trioframe, client: TestClient) -> None:
    @app.route("/echo", methods=["TRACE"])
    async def echo() -> dict[str, Any]:
        return {
            "method": request.method,
            "client": request.remote_addr,
            "state": request.scope["state"],
        }

    response = await client.trace(
        "/echo", scope_base={"client": ("203.0.113.5", 1234), "state": {"tenant": "acme"}}
    )
    assert await response.get_json() == {
        "method": "TRACE",
        "client": "203.0.113.5",
        "state": {"tenant": "acme"},
    }


async def test_a_view_s_exception_reaches_the_test_without_testing(
    app: Trioframe, client: TestClient
) -> None:
    @app.get("/fail")
    async def fail() -> str:
        raise LookupError("no such order")

    assert not app.testing
    with pytest.raises(LookupError, match="no such order") as raised:
        await client.get("/fail")
    assert type(raised.value) is LookupError
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert (await client.get("/fail")).status_code == 500


async def test_the_test_client_s_propagation_stays_with_its_own_calls(app: Trioframe) -> None:
    @app.get("/fail")
    async def fail() -> str:
        raise LookupError("no such order")

    with pytest.raises(LookupError):
        await app.test_client().get("/fail")
    # A call into the app from anywhere else answers as to a client.
    async with WireServer(app) as server:
        assert (await server.request("GET", "/fail")).status_code == 500


async def test_a_stuck_view_fails_the_request_at_once_under_the_autojump_clock(
    app: Trioframe, client: TestClient, autojump_clock: trio.testing.MockClock
) -> None:
    @app.get("/stuck")
    async def stuck() -> str:
        await trio.Event().wait()  # waits for something no one will send
        return "never"

    start = trio.current_time()
    with pytest.raises(trio.TooSlowError, match=r"GET /stuck got no complete response within 5 s"):
        await client.get("/stuck")
    assert trio.current_time() - start == pytest.approx(5)


async def test_the_client_s_timeout_and_the_call_s(
    app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    @app.get("/slow/<int:seconds>")
    async def slow(seconds: int) -> str:
        await trio.sleep(seconds)
        return "done"

    patient = app.test_client(timeout=60)
    assert (await patient.get("/slow/30")).status_code == 200
    with pytest.raises(trio.TooSlowError, match="within 60 s"):
        await patient.get("/slow/90")
    assert (await patient.get("/slow/90", timeout=None)).status_code == 200
    assert app.test_client().timeout == TestClient.default_timeout == 5


async def test_worker_threads_do_not_make_the_autojump_clock_fire_the_timeout(
    app: Trioframe, client: TestClient, autojump_clock: trio.testing.MockClock
) -> None:
    # A thread's work takes no time on the mock clock; the clock must not jump meanwhile.
    @app.get("/digest")
    def digest() -> str:
        return hashlib.sha256(bytes(1_000_000)).hexdigest()[:8]

    statuses: list[int] = []

    async def fetch() -> None:
        statuses.append((await client.get("/digest")).status_code)

    start = trio.current_time()
    async with trio.open_nursery() as nursery:  # threads at work at once, and one by one
        for _ in range(10):
            nursery.start_soon(fetch)
    await fetch()
    assert statuses == [200] * 11
    assert trio.current_time() == start
