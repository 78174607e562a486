"""The request wrapper through the test client and a scripted ASGI peer: URL parts, headers,
body reads and their limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing

from tests.support.asgi import Peer, http_scope
from trioframe import Trioframe, request

if TYPE_CHECKING:
    from trioframe.testing import TestClient


async def test_request_attributes(app: Trioframe, client: TestClient) -> None:
    @app.route("/inspect/<name>", methods=["POST"])
    async def inspect(name: str) -> dict[str, Any]:
        auth = request.authorization
        return {
            "name": name,
            "method": request.method,
            "path": request.path,
            "full_path": request.full_path,
            "url": request.url,
            "args": request.args.getlist("tag"),
            "header": request.headers["X-Custom"],
            "cookie": request.cookies["flavour"],
            "auth": [auth.username, auth.password] if auth else None,
            "host": request.host,
            "scheme": request.scheme,
            "remote_addr": request.remote_addr,
            "content_type": request.content_type,
            "content_length": request.content_length,
            "endpoint": request.endpoint,
            "view_args": request.view_args,
            "http_version": request.http_version,
        }

    client.set_cookie("flavour", "lemon")
    response = await client.post(
        "/inspect/ada",
        query_string={"tag": ["a", "b"]},
        headers={"X-Custom": "yes"},
        data=b"12345",
        auth=("ada", "s3cret"),
    )
    assert await response.get_json() == {
        "name": "ada",
        "method": "POST",
        "path": "/inspect/ada",
        "full_path": "/inspect/ada?tag=a&tag=b",
        "url": "http://localhost/inspect/ada?tag=a&tag=b",
        "args": ["a", "b"],
        "header": "yes",
        "cookie": "lemon",
        "auth": ["ada", "s3cret"],
        "host": "localhost",
        "scheme": "http",
        "remote_addr": "127.0.0.1",
        "content_type": None,
        "content_length": 5,
        "endpoint": "inspect",
        "view_args": {"name": "ada"},
        "http_version": "1.1",
    }


async def test_root_path_is_not_part_of_routing(app: Trioframe, client: TestClient) -> None:
    @app.get("/page")
    async def page() -> dict[str, str]:
        return {"path": request.path, "root": request.root_path, "url": request.url}

    response = await client.get("/page", root_path="/mounted")
    assert await response.get_json() == {
        "path": "/page",
        "root": "/mounted",
        "url": "http://localhost/mounted/page",
    }


async def test_get_data_reads_and_keeps_the_body(app: Trioframe, client: TestClient) -> None:
    @app.post("/data")
    async def data() -> dict[str, Any]:
        first = await request.get_data()
        again = await request.data
        text = await request.get_data(as_text=True)
        replayed = [chunk async for chunk in request.body]
        return {"same": first == again, "text": text, "replayed": [c.decode() for c in replayed]}

    response = await client.post("/data", data="héllo")
    assert await response.get_json() == {"same": True, "text": "héllo", "replayed": ["héllo"]}


async def test_empty_body(app: Trioframe, client: TestClient) -> None:
    @app.post("/empty")
    async def empty() -> dict[str, Any]:
        data = await request.get_data()
        return {"data": data.decode(), "chunks": [chunk async for chunk in request.body]}

    assert await (await client.post("/empty")).get_json() == {"data": "", "chunks": []}


async def test_body_streams_in_chunks(app: Trioframe, client: TestClient) -> None:
    @app.post("/upload")
    async def upload() -> dict[str, int]:
        sizes = [len(chunk) async for chunk in request.body]
        return {"chunks": len(sizes), "total": sum(sizes)}

    payload = b"x" * (200 * 1024)
    response = await client.post("/upload", data=payload)
    assert await response.get_json() == {"chunks": 4, "total": len(payload)}


async def test_get_json(app: Trioframe, client: TestClient) -> None:
    @app.post("/json")
    async def parse() -> dict[str, Any]:
        return {"parsed": await request.get_json(), "again": await request.json}

    response = await client.post("/json", json={"a": [1, 2]})
    assert await response.get_json() == {"parsed": {"a": [1, 2]}, "again": {"a": [1, 2]}}


async def test_malformed_json_is_400(app: Trioframe, client: TestClient) -> None:
    @app.post("/json")
    async def parse() -> Any:
        return await request.get_json()

    response = await client.post(
        "/json", data='{"a": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "Failed to decode the JSON body" in await response.get_data(as_text=True)


@pytest.mark.parametrize("silent", [False, True])
async def test_a_json_nesting_bomb_is_refused_cleanly(
    app: Trioframe, client: TestClient, caplog: pytest.LogCaptureFixture, silent: bool
) -> None:
    @app.post("/json")
    async def parse() -> dict[str, Any]:
        return {"value": await request.get_json(silent=silent)}

    bomb = b"[" * 100_000 + b"]" * 100_000
    response = await client.post("/json", data=bomb, headers={"Content-Type": "application/json"})
    if silent:
        assert await response.get_json() == {"value": None}
    else:
        assert response.status_code == 400
        assert "nested too deeply" in await response.get_data(as_text=True)
    assert not caplog.records  # the client's mistake, not an error of the app
    shallow = await client.post("/json", json=[[1]])
    assert await shallow.get_json() == {"value": [[1]]}


async def test_json_with_another_content_type_is_415(app: Trioframe, client: TestClient) -> None:
    @app.post("/json")
    async def parse() -> dict[str, Any]:
        silent = await request.get_json(silent=True)
        forced = await request.get_json(force=True)
        return {"silent": silent, "forced": forced, "strict": await request.get_json()}

    response = await client.post("/json", data='{"a": 1}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert "application/json" in await response.get_data(as_text=True)


async def test_silent_json_on_a_malformed_body_is_none(app: Trioframe, client: TestClient) -> None:
    @app.post("/json")
    async def parse() -> dict[str, Any]:
        return {"value": await request.get_json(silent=True)}

    response = await client.post("/json", data="nope", headers={"Content-Type": "application/json"})
    assert await response.get_json() == {"value": None}


async def test_body_over_the_limit_is_413(app: Trioframe, client: TestClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000

    @app.post("/upload")
    async def upload() -> str:
        return str(len(await request.get_data()))

    assert await (await client.post("/upload", data=b"x" * 1000)).get_data() == b"1000"
    response = await client.post("/upload", data=b"x" * 1001)
    assert response.status_code == 413
    assert "MAX_CONTENT_LENGTH" in await response.get_data(as_text=True)


async def test_announced_oversize_body_is_refused_before_it_arrives(app: Trioframe) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024
    chunks_seen = 0

    @app.post("/upload")
    async def upload() -> str:
        nonlocal chunks_seen
        async for _ in request.body:
            chunks_seen += 1
        return "read"

    # The client announces 10 MB, sends one chunk and then stalls: the 413 must not wait.
    peer = Peer([b"x" * 512], complete=False)
    scope = http_scope("/upload", method="POST", headers=[(b"content-length", b"10485760")])
    with trio.fail_after(5):
        await app(scope, peer.receive, peer.send)
    assert peer.status == 413
    assert chunks_seen == 0


async def test_chunked_body_growing_past_the_limit_is_413(
    app: Trioframe, client: TestClient
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 100 * 1024
    received = 0

    @app.post("/upload")
    async def upload() -> str:
        nonlocal received
        async for chunk in request.body:
            received += len(chunk)
        return "all read"

    response = await client.post(
        "/upload", data=b"x" * (300 * 1024), headers={"Transfer-Encoding": "chunked"}
    )
    assert response.status_code == 413
    assert 0 < received <= 100 * 1024  # stopped mid-stream, within the limit


async def test_a_client_slow_to_send_its_body_gets_408(
    app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    app.config["BODY_TIMEOUT"] = 10

    @app.post("/upload")
    async def upload() -> str:
        return str(len(await request.get_data()))

    peer = Peer([b"x" * 100], complete=False)  # one chunk, then nothing more
    with trio.fail_after(60):
        await app(http_scope("/upload", method="POST"), peer.receive, peer.send)
    assert peer.status == 408
    assert b"BODY_TIMEOUT" in b"".join(peer.body_chunks)
    assert trio.current_time() == pytest.approx(10)


async def test_only_time_spent_waiting_for_the_client_counts(
    app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    app.config["BODY_TIMEOUT"] = 10

    @app.post("/upload")
    async def upload() -> str:
        total = 0
        async for chunk in request.body:
            total += len(chunk)
            await trio.sleep(8)  # slow work between reads is the view's own business
        return str(total)

    peer = Peer([b"x" * 100] * 5)
    with trio.fail_after(60):
        await app(http_scope("/upload", method="POST"), peer.receive, peer.send)
    assert peer.status == 200
    assert peer.body_chunks == [b"500"]


async def test_a_chunk_arriving_as_the_body_timeout_runs_out_leaves_a_408(
    app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    app.config["BODY_TIMEOUT"] = 1

    @app.post("/upload")
    async def upload() -> str:
        return str(len(await request.get_data()))

    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            await trio.sleep(0.9)
            # The view is handed the chunk only once its time is up: it has waited 1.1 s.
            autojump_clock.jump(0.2)
            return {"type": "http.request", "body": b"late", "more_body": True}
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    answers: list[tuple[int, float]] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answers.append((message["status"], trio.current_time()))

    with trio.fail_after(60):
        await app(http_scope("/upload", method="POST"), receive, send)
    [(status, answered_at)] = answers
    assert status == 408
    assert answered_at == pytest.approx(1.1)


@pytest.mark.parametrize(("body_timeout", "status"), [(30.0, 200), (2.0, 408), (None, 200)])
async def test_body_timeout_can_be_changed_per_request(
    app: Trioframe,
    autojump_clock: trio.testing.MockClock,
    body_timeout: float | None,
    status: int,
) -> None:
    app.config["BODY_TIMEOUT"] = 10
    arrived = trio.Event()

    @app.before_request
    async def patience() -> None:
        request.body_timeout = body_timeout

    @app.post("/upload")
    async def upload() -> str:
        assert request.body_timeout == body_timeout
        return str(len(await request.get_data()))

    async def receive() -> dict[str, Any]:
        if not arrived.is_set():
            await trio.sleep(20)  # the body takes 20 seconds to come
            arrived.set()
            return {"type": "http.request", "body": b"late", "more_body": False}
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    peer = Peer()
    with trio.fail_after(60):
        await app(http_scope("/upload", method="POST"), receive, peer.send)
    assert peer.status == status


async def test_a_chunked_form_is_refused_as_it_grows_past_the_form_limit(app: Trioframe) -> None:
    app.config.update(MAX_FORM_MEMORY_SIZE=1000, MAX_CONTENT_LENGTH=None)

    @app.post("/form")
    async def form() -> str:
        return str(len(await request.form))

    # Sent chunked (no Content-Length), 100 chunks of 500 bytes: 50 times the form limit.
    peer = Peer([b"a=" + b"x" * 498] * 100)
    scope = http_scope(
        "/form",
        method="POST",
        headers=[(b"content-type", b"application/x-www-form-urlencoded")],
    )
    received_when_answered: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            received_when_answered.append(peer.received_count)
        await peer.send(message)

    await app(scope, peer.receive, send)
    assert peer.status == 413
    assert b"MAX_FORM_MEMORY_SIZE" in b"".join(peer.body_chunks)
    # Refused as it passed the limit (the rest is discarded after), not once read whole.
    assert received_when_answered[0] <= 4


async def test_a_form_already_read_whole_is_still_held_to_the_form_limit(
    app: Trioframe, client: TestClient
) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 100

    @app.post("/form")
    async def form() -> str:
        await request.get_data()
        return str(len(await request.form))

    # Sent without a length, so only the bytes themselves can tell how large it is.
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Transfer-Encoding": "chunked",
    }
    response = await client.post("/form", data="a=" + "x" * 200, headers=headers)
    assert response.status_code == 413
    assert b"MAX_FORM_MEMORY_SIZE" in await response.get_data()


async def test_limit_can_be_raised_per_request(app: Trioframe, client: TestClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10

    @app.before_request
    async def allow_big_uploads() -> None:
        if request.path == "/big":
            request.max_content_length = 1000

    @app.post("/big")
    async def big() -> str:
        assert request.max_content_length == 1000
        return str(len(await request.get_data()))

    assert await (await client.post("/big", data=b"x" * 500)).get_data() == b"500"


async def test_upload_is_pulled_only_as_fast_as_the_view_reads(app: Trioframe) -> None:
    resume = trio.Event()
    received: list[int] = []

    @app.post("/slow")
    async def slow() -> str:
        async for chunk in request.body:
            received.append(len(chunk))
            await resume.wait()
        return "done"

    peer = Peer([b"x" * 1024] * 50)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(app, http_scope("/slow", method="POST"), peer.receive, peer.send)
        await trio.testing.wait_all_tasks_blocked()
        # One chunk in the view, one queued, one held by the reader: the rest stays unread.
        assert received == [1024]
        assert peer.received_count <= 3
        resume.set()
    assert peer.status == 200
    assert sum(received) == 50 * 1024


async def test_body_is_read_one_way_only(app: Trioframe, client: TestClient) -> None:
    @app.post("/twice")
    async def twice() -> str:
        async for _ in request.body:
            break
        await request.get_data()
        return "unreachable"

    app.testing = True
    with pytest.raises(RuntimeError, match="already consumed"):
        await client.post("/twice", data=b"abc")


async def test_two_tasks_reading_the_body_is_an_error(app: Trioframe) -> None:
    @app.post("/race")
    async def race() -> str:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(request.get_data)
            nursery.start_soon(request.get_data)
        return "unreachable"

    app.testing = True
    peer = Peer([b"a"], complete=False)
    with pytest.raises(RuntimeError, match="already reading"):
        await app(http_scope("/race", method="POST"), peer.receive, peer.send)


async def test_two_readers_of_the_body_get_trio_s_busy_error(
    app: Trioframe, autojump_clock: trio.testing.MockClock
) -> None:
    raised: list[BaseException] = []

    @app.post("/race")
    async def race() -> str:
        async def read() -> None:
            try:
                await request.get_data()
            except trio.BusyResourceError as busy:
                raised.append(busy)

        with trio.move_on_after(1):  # the first reader waits for a body that never ends
            async with trio.open_nursery() as nursery:
                nursery.start_soon(read)
                nursery.start_soon(read)
        return "raced"

    peer = Peer([b"a"], complete=False)
    await app(http_scope("/race", method="POST"), peer.receive, peer.send)
    assert len(raised) == 1
    assert "read it in one task" in str(raised[0])
    assert peer.status == 200


async def test_body_is_gone_once_the_view_returned(app: Trioframe, client: TestClient) -> None:
    @app.post("/late")
    async def late() -> Any:
        async def echo() -> Any:
            yield await request.get_data()

        return echo()

    app.testing = True
    with pytest.raises(RuntimeError, match="before the view returns"):
        await client.post("/late", data=b"abc")


async def test_values_combine_args_and_form(app: Trioframe, client: TestClient) -> None:
    @app.post("/values")
    async def values() -> dict[str, list[str]]:
        combined = await request.values
        return {"a": combined.getlist("a"), "b": combined.getlist("b")}

    response = await client.post("/values?a=1", form={"a": "2", "b": "3"})
    assert await response.get_json() == {"a": ["1", "2"], "b": ["3"]}


async def test_values_on_get_are_the_query_only(app: Trioframe, client: TestClient) -> None:
    @app.get("/values")
    async def values() -> dict[str, list[str]]:
        return (await request.values).to_dict(flat=False)

    # A GET with a form body: werkzeug, Flask and Quart leave the body out of values.
    response = await client.get("/values?a=1", form={"b": "2"})
    assert await response.get_json() == {"a": ["1"]}


async def test_form_of_another_content_type_is_empty(app: Trioframe, client: TestClient) -> None:
    @app.post("/form")
    async def form() -> dict[str, int]:
        return {"fields": len(await request.form), "files": len(await request.files)}

    response = await client.post("/form", json={"a": 1})
    assert await response.get_json() == {"fields": 0, "files": 0}


async def test_quart_spellings_url_root_scope_and_awaiting_the_body(
    app: Trioframe, client: TestClient
) -> None:
    @app.post("/echo")
    async def echo() -> dict[str, object]:
        return {
            "url_root": request.url_root,
            "scope_type": request.scope["type"],
            "scope_path": request.scope["path"],
            "body": (await request.body).decode(),
            "again": (await request.body).decode(),  # kept, as get_data() keeps it
        }

    response = await client.post("/echo", data=b"payload", root_path="/app")
    assert await response.get_json() == {
        "url_root": "http://localhost/app/",
        "scope_type": "http",
        "scope_path": "/app/echo",
        "body": "payload",
        "again": "payload",
    }


async def test_a_body_timeout_of_zero_answers_408_without_waiting(app: Trioframe) -> None:
    # No time at all to send the body: the read gives up at once, before the view ever
    # waits, and the request ends without a task watching the client.
    @app.post("/upload")
    async def upload() -> str:
        request.body_timeout = 0
        return str(len(await request.get_data()))

    peer = Peer([b"x" * 100], complete=False)
    await app(http_scope("/upload", method="POST"), peer.receive, peer.send)
    assert peer.status == 408
    assert peer.received_count == 0
