"""Hostile HTTP clients, through the test client, the wire harness and a real server.

Every attack states what the attacker gets. The ``target`` fixture serves one app per test
over one of three transports; when the test ends it checks that the same server still
answers a well-behaved request and that no temporary file was left open.
"""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import h11
import pytest
import trio
import trio.testing
from werkzeug.datastructures import Headers

from tests.support.leaks import open_temporary_files
from tests.support.loopback import serving
from trioframe import Response, Trioframe, request
from trioframe.testing import WireServer
from trioframe.testing._wire import WireResponse, http_exchange, read_until_closed

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

#: A bound on every wait; far above what the tests need, far below a hang.
WAIT_S = 20
MULTIPART = "multipart/form-data; boundary=x"


def attack_app() -> Trioframe:
    """The app under attack, with small limits so that attacks stay small."""
    app = Trioframe("tests")
    app.config.update(
        PROPAGATE_EXCEPTIONS=False,  # every transport gets what a client gets
        MAX_CONTENT_LENGTH=1024,
        MAX_FORM_MEMORY_SIZE=512,
        MAX_FORM_PARTS=3,
        BODY_TIMEOUT=10,
        GRACEFUL_SHUTDOWN_TIMEOUT=0.5,
    )

    @app.get("/")
    async def index() -> str:
        return "ok"

    @app.post("/echo")
    async def echo() -> str:
        return str(len(await request.get_data()))

    @app.post("/json")
    async def parse_json() -> dict[str, str]:
        request.max_content_length = 1024 * 1024  # room for a nesting bomb
        return {"type": type(await request.get_json()).__name__}

    @app.post("/form")
    async def form() -> dict[str, int]:
        return {"fields": len(await request.form), "files": len(await request.files)}

    @app.get("/greet")
    async def greet() -> Response:
        response = Response("hello")
        response.headers["X-Name"] = request.args.get("name", "")
        return response

    @app.get("/dir/")
    async def directory() -> str:
        return "dir"

    @app.get("/files/<path:name>")
    async def files(name: str) -> str:
        return name

    return app


@dataclass
class Target:
    """One way of reaching the app under attack."""

    name: str
    #: Send one request, ``(method, target, headers, body)``, and return the response.
    request: Callable[[str, str, list[tuple[str, str]], bytes], Awaitable[WireResponse]]
    #: Send raw bytes on a new connection, return all the server sent until it closed;
    #: ``None`` for the test client, which has no wire.
    raw: Callable[[bytes], Awaitable[bytes]] | None

    async def get(self, path: str, headers: list[tuple[str, str]] | None = None) -> WireResponse:
        return await self.request("GET", path, headers or [], b"")

    async def post(
        self, path: str, body: bytes, headers: list[tuple[str, str]] | None = None
    ) -> WireResponse:
        return await self.request("POST", path, headers or [], body)

    async def send_raw(self, data: bytes) -> bytes:
        assert self.raw is not None, "raw bytes need a wire: use the wire_target fixture"
        return await self.raw(data)


@asynccontextmanager
async def _through_test_client(app: Trioframe) -> AsyncIterator[Target]:
    client = app.test_client()

    async def send(
        method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> WireResponse:
        response = await client.open(target, method=method, headers=Headers(headers), data=body)
        return WireResponse(response.status_code, response.headers, await response.get_data())

    yield Target("client", send, None)


@asynccontextmanager
async def _through_the_wire(app: Trioframe) -> AsyncIterator[Target]:
    async with WireServer(app) as server:

        async def send(
            method: str, target: str, headers: list[tuple[str, str]], body: bytes
        ) -> WireResponse:
            return await server.request(method, target, headers=headers, body=body)

        yield Target("wire", send, server.send_raw)


@asynccontextmanager
async def _over_loopback(app: Trioframe) -> AsyncIterator[Target]:
    async with serving(app) as port:

        async def send(
            method: str, target: str, headers: list[tuple[str, str]], body: bytes
        ) -> WireResponse:
            async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
                return await http_exchange(stream, method, target, headers=headers, body=body)

        async def raw(data: bytes) -> bytes:
            async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
                await stream.send_all(data)
                return await read_until_closed(stream)

        yield Target("loopback", send, raw)


TRANSPORTS = {
    "client": _through_test_client,
    "wire": _through_the_wire,
    "loopback": _over_loopback,
}


@asynccontextmanager
async def _attacked(transport: str) -> AsyncIterator[Target]:
    """The attack app reached through ``transport``; afterwards, it must still serve."""
    app = attack_app()
    files_before = open_temporary_files()
    with trio.fail_after(WAIT_S):
        async with TRANSPORTS[transport](app) as target:
            yield target
            response = await target.get("/")
            assert (response.status_code, response.body) == (200, b"ok")
    assert open_temporary_files() == files_before


@pytest.fixture(params=list(TRANSPORTS))
async def target(request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    """The attack app through each transport in turn."""
    async with _attacked(request.param) as target:
        yield target


@pytest.fixture(params=["wire", "loopback"])
async def wire_target(request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    """The attack app through the transports that carry raw bytes or any request target
    (the test client builds its requests from URLs)."""
    async with _attacked(request.param) as target:
        yield target


def status_of(raw: bytes) -> int:
    match = re.match(rb"HTTP/1\.1 (\d{3})", raw)
    assert match is not None, f"not an HTTP response: {raw[:80]!r}"
    return int(match.group(1))


# Request bodies --------------------------------------------------------------------------


async def test_a_body_announced_too_large_gets_413_before_it_is_sent(wire_target: Target) -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10485760\r\n\r\n"
    # Only a sliver of the announced 10 MB is sent; the 413 does not wait for the rest.
    raw = await wire_target.send_raw(head + b"x" * 100)
    assert status_of(raw) == 413
    assert b"MAX_CONTENT_LENGTH" in raw


async def test_a_body_refused_is_never_asked_for(wire_target: Target) -> None:
    head = (
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10485760\r\n"
        b"Expect: 100-continue\r\n\r\n"
    )
    # hypercorn alone answers "100 Continue" at once, inviting the 10 MB before the 413.
    raw = await wire_target.send_raw(head)
    assert status_of(raw) == 413
    assert b" 100 " not in raw


async def test_a_client_that_expects_100_continue_is_asked_for_its_body() -> None:
    head = (
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
        b"Expect: 100-continue\r\n\r\n"
    )
    async with WireServer(attack_app()) as server:
        stream = await server.connect()
        await stream.send_all(head)
        interim = await stream.receive_some(4096)
        assert interim.startswith(b"HTTP/1.1 100 ")
        await stream.send_all(b"hello")
        response = await http_response(stream)
        assert (response.status_code, response.body) == (200, b"5")
        await stream.aclose()


async def http_response(stream: trio.abc.ReceiveStream) -> WireResponse:
    """Read one HTTP/1.1 response from ``stream``."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    client.send(h11.EndOfMessage())
    status, headers, body = 0, Headers(), b""
    while True:
        event = client.next_event()
        if event is h11.NEED_DATA:
            client.receive_data(bytes(await stream.receive_some(4096)))
        elif isinstance(event, h11.Response):
            status = event.status_code
            headers = Headers([(n.decode(), v.decode()) for n, v in event.headers])
        elif isinstance(event, h11.Data):
            body += bytes(event.data)
        elif isinstance(event, h11.EndOfMessage):
            return WireResponse(status, headers, body)


async def test_a_chunked_body_growing_past_the_limit_gets_413(target: Target) -> None:
    response = await target.post("/echo", b"x" * 8192, headers=[("Transfer-Encoding", "chunked")])
    assert response.status_code == 413
    assert b"MAX_CONTENT_LENGTH" in response.body


async def test_a_body_within_the_limit_is_read_whole(target: Target) -> None:
    response = await target.post("/echo", b"x" * 1024)
    assert (response.status_code, response.body) == (200, b"1024")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"a": ', b"Failed to decode the JSON body"),
        (b"[" * 100_000 + b"]" * 100_000, b"nested too deeply"),
        (b"\xff\xfe\x00garbage", b"Failed to decode the JSON body"),
    ],
)
async def test_bad_json_gets_400(target: Target, body: bytes, message: bytes) -> None:
    response = await target.post("/json", body, headers=[("Content-Type", "application/json")])
    assert response.status_code == 400
    assert message in response.body


def _part(name: str, content: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    return f"--x\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"


@pytest.mark.parametrize(
    ("content_type", "body", "status", "message"),
    [
        pytest.param(
            MULTIPART,
            b"".join(_part(f"f{n}", b"v") for n in range(4)) + b"--x--\r\n",
            413,
            b"MAX_FORM_PARTS",
            id="too-many-parts",
        ),
        pytest.param(
            MULTIPART,
            _part("field", b"v" * 600) + b"--x--\r\n",
            413,
            b"MAX_FORM_MEMORY_SIZE",
            id="field-too-large",
        ),
        pytest.param(
            "multipart/form-data",
            _part("field", b"v") + b"--x--\r\n",
            400,
            b"no boundary",
            id="no-boundary",
        ),
        pytest.param(
            MULTIPART,
            _part("file", b"d" * 900, filename="f.bin")[:-40],
            400,
            b"malformed",
            id="truncated",
        ),
    ],
)
async def test_bad_multipart_bodies(
    target: Target, content_type: str, body: bytes, status: int, message: bytes
) -> None:
    # The target fixture checks afterwards that no spooled file is left open.
    response = await target.post("/form", body, headers=[("Content-Type", content_type)])
    assert response.status_code == status
    assert message in response.body


async def test_a_spooled_upload_is_removed_after_the_request(target: Target) -> None:
    body = _part("name", b"report") + _part("file", b"d" * 600, filename="f.bin") + b"--x--\r\n"
    response = await target.post("/form", body, headers=[("Content-Type", MULTIPART)])
    assert response.status_code == 200
    assert response.body == b'{"fields":1,"files":1}\n'


async def test_a_slow_body_gets_408_and_others_are_served_meanwhile(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Virtual time needs the in-memory wire: real sockets would let the clock jump ahead.
    app = attack_app()
    async with WireServer(app) as server:
        slow = await server.connect()
        head = b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n"
        await slow.send_all(head + b"x" * 10)  # and then nothing more
        await trio.sleep(5)
        response = await server.request("GET", "/")
        assert (response.status_code, trio.current_time()) == (200, 5)  # served at once
        with trio.fail_after(WAIT_S):
            raw = await read_until_closed(slow)
        assert status_of(raw) == 408
        assert b"BODY_TIMEOUT" in raw
        assert trio.current_time() == pytest.approx(10)


async def test_a_request_head_sent_slowly_is_cut_off_by_the_server(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Before the head is complete there is no request for the app to time: hypercorn's
    # keep-alive timeout closes the connection, and serves others meanwhile.
    async with WireServer(attack_app()) as server:
        slow = await server.connect()
        await slow.send_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        response = await server.request("GET", "/")
        assert response.status_code == 200
        with trio.fail_after(WAIT_S):
            assert await read_until_closed(slow) == b""  # closed, no response
        assert trio.current_time() == pytest.approx(server.config.keep_alive_timeout)


# Request heads ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n", id="line"),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: localhost\r\n" + b"X-A: b\r\n" * 4000 + b"\r\n",
            id="header-lines",
        ),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: localhost\r\n" + b"X-A: b\r\n" * 101 + b"\r\n",
            id="just-too-many-lines",
        ),
    ],
)
async def test_an_oversized_head_gets_431_even_in_one_read(
    wire_target: Target, head: bytes
) -> None:
    # h11 limits a head that is still arriving; one that arrives whole used to pass.
    assert status_of(await wire_target.send_raw(head)) == 431


async def test_content_length_with_transfer_encoding_closes_after_the_answer(
    wire_target: Target,
) -> None:
    smuggled = (
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    # RFC 9112 6.1: such a request is answered, and the connection closed after it, so a
    # proxy that framed it by Content-Length cannot have a request smuggled through.
    raw = await wire_target.send_raw(smuggled)
    assert status_of(raw) == 200
    assert raw.count(b"HTTP/1.1 ") == 1
    assert b"connection: close" in raw.lower()


async def test_http2_in_clear_text_is_not_spoken(wire_target: Target) -> None:
    prior_knowledge = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    assert status_of(await wire_target.send_raw(prior_knowledge)) == 505
    response = await wire_target.request(
        "GET",
        "/",
        [
            ("Connection", "Upgrade, HTTP2-Settings"),
            ("Upgrade", "h2c"),
            ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"),
        ],
        b"",
    )
    assert (response.status_code, response.body) == (200, b"ok")  # answered in HTTP/1.1


# Headers and URLs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
            431,
            id="oversized-header",
        ),
        pytest.param(
            b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431, id="overlong-path"
        ),
        pytest.param(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            400,
            id="conflicting-content-length",
        ),
        pytest.param(b"GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n", 400, id="nul-in-request-line"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: b\x00c\r\n\r\n", 400, id="nul-in-header"),
        pytest.param(b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400, id="malformed-header"),
        pytest.param(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            400,
            id="invalid-chunked-encoding",
        ),
    ],
)
async def test_malformed_requests_are_refused_by_the_server(
    wire_target: Target, request_bytes: bytes, status: int
) -> None:
    raw = await wire_target.send_raw(request_bytes)
    assert status_of(raw) == status


@pytest.mark.parametrize(
    ("path", "served_as"),
    [
        ("/files/%zz", "%zz"),  # not an escape: kept as it is
        ("/files/%ff", "\ufffd"),  # not UTF-8: replaced
        ("/files/a%00b", "a\x00b"),  # a NUL reaches the view, which must treat it as data
    ],
)
async def test_odd_percent_encodings_reach_the_view_as_text(
    wire_target: Target, path: str, served_as: str
) -> None:
    response = await wire_target.get(path)
    assert response.status_code == 200
    assert response.body.decode() == served_as


async def test_header_injection_through_a_response_header_is_refused(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    response = await target.get("/greet?name=a%0d%0aSet-Cookie:%20evil=1")
    assert response.status_code == 500
    assert "Set-Cookie" not in response.headers
    assert b"evil" not in response.body
    assert "newline" in caplog.text  # the programmer's mistake is logged


@pytest.mark.parametrize(
    "path", ["//evil.example/dir", "///evil.example/dir", "/\\evil.example/dir", "/%2F%2Fevil"]
)
async def test_no_redirect_leaves_the_site(wire_target: Target, path: str) -> None:
    response = await wire_target.get(path)
    location = response.headers.get("Location")
    assert location is None or location.startswith("http://localhost/")


async def test_the_trailing_slash_redirect_stays_on_the_host(target: Target) -> None:
    response = await target.get("/dir")
    assert response.status_code == 308
    assert response.headers["Location"] == "http://localhost/dir/"


async def test_without_trusted_hosts_any_host_is_served(target: Target) -> None:
    response = await target.get("/dir", headers=[("Host", "evil.example")])
    assert response.status_code == 308  # no TRUSTED_HOSTS: any host is served
    assert response.headers["Location"] == "http://evil.example/dir/"


async def test_host_names_are_case_insensitive(target: Target) -> None:
    response = await target.get("/dir", headers=[("Host", "LocalHost")])
    assert response.status_code == 308
    assert response.headers["Location"] == "http://localhost/dir/"


@pytest.mark.parametrize("host", ["bad host", "evil.example:99999", '"quoted"', "a_b.example"])
async def test_a_malformed_host_is_400(target: Target, host: str) -> None:
    # RFC 9112 3.2: a Host header with an invalid value gets 400, not a redirect to nowhere.
    response = await target.get("/dir", headers=[("Host", host)])
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert b"Host header" in response.body


async def test_trusted_hosts_refuse_forged_hosts() -> None:
    app = attack_app()
    app.config["TRUSTED_HOSTS"] = ["LocalHost"]
    async with _through_the_wire(app) as target:
        forged = await target.get("/dir", headers=[("Host", "evil.example")])
        assert forged.status_code == 400
        assert "Location" not in forged.headers
        assert b"TRUSTED_HOSTS" in forged.body
        assert (await target.get("/")).status_code == 200
        assert (await target.get("/", headers=[("Host", "LOCALHOST")])).status_code == 200


def half_close_app(outcome: list[str]) -> Trioframe:
    app = attack_app()

    @app.get("/wait")
    async def wait() -> str:
        try:
            await trio.sleep(1)
        except trio.Cancelled:
            outcome.append("cancelled")
            raise
        outcome.append("answered")
        return "answered"

    return app


@pytest.mark.parametrize(
    "request_line",
    [
        pytest.param(b"GET /wait HTTP/1.1\r\nHost: localhost\r\nConnection: close", id="close"),
        pytest.param(b"GET /wait HTTP/1.0\r\nHost: localhost", id="http-1.0"),
    ],
)
async def test_a_client_that_says_it_is_done_and_half_closes_is_answered(
    autojump_clock: trio.testing.MockClock, request_line: bytes
) -> None:
    # It said this request is its last, so shutting its sending side is how it says it has
    # nothing more to send, not that it left (as fortio's -halfclose, or nc, do).
    outcome: list[str] = []
    async with WireServer(half_close_app(outcome)) as server:
        stream = await server.connect()
        await stream.send_all(request_line + b"\r\n\r\n")
        await stream.send_eof()
        response = await read_until_closed(stream)
        await stream.aclose()
    assert status_of(response) == 200
    assert response.endswith(b"answered")
    assert outcome == ["answered"]


async def test_a_keep_alive_client_that_half_closes_is_a_client_that_left(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A client that meant to send more requests and shuts its side cannot be told from one
    # that is gone, and a view that goes on for a client that left is what trioframe must
    # not allow; nginx judges it the same way.
    outcome: list[str] = []
    async with WireServer(half_close_app(outcome)) as server:
        stream = await server.connect()
        await stream.send_all(b"GET /wait HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await stream.send_eof()
        assert await read_until_closed(stream) == b""
        await stream.aclose()
    assert outcome == ["cancelled"]
