"""The in-memory test client: requests go straight into the app's ASGI callable.

The app runs in the calling task of the test's own Trio run, so there are no sockets and no
threads, trio's ``MockClock`` works, and an exception the app lets through (with
``TESTING`` on) is raised in the test exactly as the app raised it.
"""

from __future__ import annotations

import contextlib
import email.message
import http.client
import http.cookiejar
import urllib.request
from contextlib import asynccontextmanager
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, Self, TypedDict, Unpack, cast
from urllib.parse import urljoin, urlsplit

import trio
from werkzeug.datastructures import Headers
from werkzeug.http import dump_cookie

from trioframe._context import activated
from trioframe._types import PRESERVE_CONTEXT_EXTENSION

from ._builder import FileValue, QueryValue, TestRequest, make_test_request
from ._call import call_app
from ._response import TestResponse
from ._timeouts import DEFAULT, Timeout, given_or, waiting_for
from ._websocket import TestWebsocketConnection

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping
    from types import TracebackType

    from werkzeug.datastructures import MultiDict

    from trioframe._app import Trioframe
    from trioframe._context import RequestContext
    from trioframe._sessions import Session
    from trioframe._types import HeadersValue

#: Redirect statuses ``follow_redirects`` follows.
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
#: The most redirects followed for one request before giving up.
MAX_REDIRECTS = 30


class RequestOptions(TypedDict, total=False):
    """The keyword arguments every test-client request method takes."""

    query_string: QueryValue | None
    headers: HeadersValue | None
    json: Any
    form: Mapping[str, Any] | MultiDict[str, Any] | None
    files: Mapping[str, FileValue | list[FileValue]] | None
    data: str | bytes | None
    auth: tuple[str, str] | None
    scheme: str
    root_path: str
    http_version: str
    scope_base: Mapping[str, Any] | None
    subdomain: str | None


class TestClient:
    """Calls the app in the test's own Trio run, as ``await client.get("/")``.

    Each method takes the path (or a full URL) and the `RequestOptions`: ``query_string``,
    ``headers``, one body argument (``json``, ``form`` with optional ``files``, or ``data``),
    ``auth=(user, password)`` for Basic auth, ``scope_base`` (ASGI scope entries that
    replace the ones the request would have), ``subdomain`` (of ``SERVER_NAME``, for apps
    that route by subdomain), and ``follow_redirects``. Requests go to ``SERVER_NAME``
    when it is set, as in Flask, else to ``localhost``. Cookies the app sets
    are kept and sent back, as a browser would.

    Inside ``async with app.test_client() as client:``, the context of the last request
    stays active in the test until the next request or the end of the block, so the test
    can look at ``request``, ``session`` and ``g`` as the view left them (Quart's
    ``preserve_context``); its teardown functions have run already.

    A request, a websocket handshake, and each websocket ``send`` and ``receive`` fail with
    `trio.TooSlowError`, naming what they waited for, if the app takes longer than
    ``timeout`` seconds, so a test never hangs; under the ``autojump_clock`` a stuck test
    fails at once. A test that waits longer on purpose passes a longer ``timeout`` (to
    the client, to ``websocket()``, or to the call), or ``None`` for no limit.

    Args:
        app: The application under test.
        use_cookies: Keep and send cookies.
        timeout: Seconds to wait for the app, on Trio's clock; by default
            `TestClient.default_timeout`.
    """

    __test__ = False  # not a pytest test class, despite the name

    #: The ``timeout`` of clients created without one: 5 seconds. The pytest plugin's
    #: ``trioframe_timeout`` marker and ini option change it for a test or a suite.
    default_timeout: float | None = 5.0

    def __init__(
        self, app: Trioframe, *, use_cookies: bool = True, timeout: Timeout = DEFAULT
    ) -> None:
        self.app = app
        #: Seconds to wait for the app (``None``: no limit); see the class docs.
        self.timeout = given_or(timeout, self.default_timeout)
        #: The cookies kept between requests (a standard library ``CookieJar``).
        self.cookie_jar = http.cookiejar.CookieJar() if use_cookies else None
        self._preserving = False
        self._kept: RequestContext | None = None
        self._active = contextlib.ExitStack()

    async def __aenter__(self) -> Self:
        """Keep each request's context active in the test until the next one."""
        await trio.lowlevel.checkpoint()
        if self._preserving:
            raise RuntimeError(
                "This test client is already in an 'async with' block; a client can be "
                "entered once at a time"
            )
        self._preserving = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._preserving = False
        self._active.close()
        await trio.lowlevel.cancel_shielded_checkpoint()

    def _keep(self, context: RequestContext) -> None:
        self._kept = context

    async def open(
        self,
        path: str = "/",
        *,
        method: str = "GET",
        follow_redirects: bool = False,
        timeout: Timeout = DEFAULT,
        **options: Unpack[RequestOptions],
    ) -> TestResponse:
        """Send a request with any method and return the whole response.

        ``timeout`` is the seconds the app has to complete each response (``None``: no
        limit); by default the client's.

        Raises:
            Exception: whatever the app raised and did not handle (see
                ``PROPAGATE_EXCEPTIONS``).
            trio.TooSlowError: the app did not complete a response within ``timeout``.
            RuntimeError: redirects went on for more than ``MAX_REDIRECTS`` hops.
        """
        limit = given_or(timeout, self.timeout)
        request = make_test_request(self.app, path, method=method, **options)
        response = await self._send_within(limit, request)
        history: list[TestResponse] = []
        while (
            follow_redirects
            and response.status_code in REDIRECT_CODES
            and "Location" in response.headers
        ):
            if len(history) == MAX_REDIRECTS:
                raise RuntimeError(
                    f"Followed {MAX_REDIRECTS} redirects from {path!r} without reaching a "
                    f"final response; the last one went to {response.headers['Location']!r}"
                )
            history.append(response)
            request = _redirected(request, response)
            response = await self._send_within(limit, request)
        response.history = tuple(history)
        return response

    async def get(
        self,
        path: str = "/",
        *,
        follow_redirects: bool = False,
        timeout: Timeout = DEFAULT,
        **options: Unpack[RequestOptions],
    ) -> TestResponse:
        """Send a ``GET`` request; see `open`."""
        return await self.open(
            path, method="GET", follow_redirects=follow_redirects, timeout=timeout, **options
        )

    async def post(
        self,
        path: str = "/",
        *,
        follow_redirects: bool = False,
        timeout: Timeout = DEFAULT,
        **options: Unpack[RequestOptions],
    ) -> TestResponse:
        """Send a ``POST`` request; see `open`."""
        return await self.open(
            path, method="POST", follow_redirects=follow_redirects, timeout=timeout, **options
        )

    async def put(
        self,
        path: str = "/",
        *,
        follow_redirects: bool = False,
        timeout: Timeout = DEFAULT,
        **options: Unpack[RequestOptions],
    ) -> TestResponse:
        """Send a ``PUT`` request; see `open`."""
        return await self.open(
            path, method="PUT", follow_redirects=follow_redirects, timeout=timeout, **options
        )

    async def patch(
        self,
        path: str = "/",
        *,
        follow_redirects: bool = False,
        timeout: Timeout = DEFAULT,
        **options: Unpack[RequestOptions],
    ) -> TestResponse:
        """Send a ``PATCH`` request; see `open`."""
        return await self.open(
            path, method="PATCH", follow_redirects=follow_redirects, timeout=timeout, **options
        )

    async def delete(
        self,
        path: str = "/",
        *,
        follow_redirects: bool = False,
        timeout: Timeout = DEFAULT,
        **options: Unpack[RequestOptions],
    ) -> TestResponse:
        """Send a ``DELETE`` request; see `open`."""
        return await self.open(
            path, method="DELETE", follow_redirects=follow_redirects, timeout=timeout, **options
        )

    async def head(
        self,
        path: str = "/",
        *,
        follow_redirects: bool = False,
        timeout: Timeout = DEFAULT,
        **options: Unpack[RequestOptions],
    ) -> TestResponse:
        """Send a ``HEAD`` request; see `open`."""
        return await self.open(
            path, method="HEAD", follow_redirects=follow_redirects, timeout=timeout, **options
        )

    async def trace(
        self,
        path: str = "/",
        *,
        follow_redirects: bool = False,
        timeout: Timeout = DEFAULT,
        **options: Unpack[RequestOptions],
    ) -> TestResponse:
        """Send a ``TRACE`` request; see `open`."""
        return await self.open(
            path, method="TRACE", follow_redirects=follow_redirects, timeout=timeout, **options
        )

    async def options(
        self,
        path: str = "/",
        *,
        follow_redirects: bool = False,
        timeout: Timeout = DEFAULT,
        **options: Unpack[RequestOptions],
    ) -> TestResponse:
        """Send an ``OPTIONS`` request; see `open`."""
        return await self.open(
            path, method="OPTIONS", follow_redirects=follow_redirects, timeout=timeout, **options
        )

    def websocket(
        self,
        path: str = "/",
        *,
        headers: HeadersValue | None = None,
        query_string: QueryValue | None = None,
        subprotocols: list[str] | None = None,
        auth: tuple[str, str] | None = None,
        root_path: str = "",
        subdomain: str | None = None,
        timeout: Timeout = DEFAULT,
    ) -> TestWebsocketConnection:
        """Open a websocket to the app: ``async with client.websocket("/ws") as ws:``.

        The handshake carries the client's cookies, ``auth`` as Basic credentials and the
        ``subprotocols`` offered. If the app refuses the connection, the first ``send`` or
        ``receive`` raises `WebsocketResponse`, or leaving the block does if neither ran.

        Args:
            path: The path, or a full ``ws://`` or ``wss://`` URL.
            headers: Extra handshake headers.
            query_string: The query, as for HTTP requests.
            subprotocols: The subprotocols to offer, most preferred first.
            auth: ``(user, password)`` for Basic authentication.
            root_path: The path the app is mounted at.
            subdomain: The subdomain of ``SERVER_NAME`` to connect to.
            timeout: Seconds to wait for the app in the handshake, ``send`` and
                ``receive`` (``None``: no limit); by default the client's.
        """
        offered = list(subprotocols or [])
        handshake = Headers(headers) if headers is not None else Headers()
        handshake.setdefault("Upgrade", "websocket")
        handshake.setdefault("Connection", "Upgrade")
        handshake.setdefault("Sec-WebSocket-Version", "13")
        handshake.setdefault("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        if offered:
            handshake.setdefault("Sec-WebSocket-Protocol", ", ".join(offered))
        request = make_test_request(
            self.app,
            path,
            headers=handshake,
            query_string=query_string,
            auth=auth,
            scheme="ws",
            root_path=root_path,
            subdomain=subdomain,
        )
        request = replace(request, headers=self._with_cookies(request))
        return TestWebsocketConnection(
            self.app,
            request.websocket_scope(offered),
            on_handshake=partial(self._store_cookies, request),
            timeout=given_or(timeout, self.timeout),
        )

    @asynccontextmanager
    async def session_transaction(
        self, path: str = "/", **options: Unpack[RequestOptions]
    ) -> AsyncIterator[Session]:
        """Read or change the session the app sees, between requests.

        ``async with client.session_transaction() as session: session["user_id"] = 7``
        opens the session from the client's cookies as a request to ``path`` would; when
        the block ends, it is saved back into the cookies as the app saves it, so the next
        request sees the change.

        Raises:
            RuntimeError: the client keeps no cookies, or the app has no ``SECRET_KEY``
                (changing its session raises this too).
        """
        self._jar()
        request = make_test_request(self.app, path, **options)
        headers = self._with_cookies(request)
        options["headers"] = headers
        async with self.app.test_request_context(path, **options) as context:
            assert context.session is not None  # opened on entering
            yield context.session
            response = self.app.response_class()
            await self.app.save_session(context.session, response)
        self._store_cookies(request, response.headers)

    def set_cookie(
        self,
        key: str,
        value: str = "",
        *,
        domain: str = "localhost",
        path: str = "/",
        **attributes: Any,
    ) -> None:
        """Store a cookie as if ``domain`` had set it; ``attributes`` as for ``set_cookie``."""
        jar = self._jar()
        header = dump_cookie(key, value, path=path, **attributes)
        jar.extract_cookies(
            _set_cookies([header]), urllib.request.Request(f"http://{domain}{path}")
        )

    def get_cookie(
        self, key: str, *, domain: str = "localhost", path: str = "/"
    ) -> http.cookiejar.Cookie | None:
        """The stored cookie ``key`` for ``domain`` and ``path``, or ``None``."""
        for cookie in self._jar():
            if cookie.name == key and cookie.path == path and cookie.domain in _jar_domains(domain):
                return cookie
        return None

    def delete_cookie(self, key: str, *, domain: str = "localhost", path: str = "/") -> None:
        """Forget the cookie ``key`` for ``domain`` and ``path``, if it is stored."""
        cookie = self.get_cookie(key, domain=domain, path=path)
        if cookie is not None:
            self._jar().clear(cookie.domain, cookie.path, cookie.name)

    def _jar(self) -> http.cookiejar.CookieJar:
        if self.cookie_jar is None:
            raise RuntimeError("This client was created with use_cookies=False")
        return self.cookie_jar

    def _with_cookies(self, request: TestRequest) -> Headers:
        """The request's headers plus the stored cookies that match its URL."""
        headers = request.headers.copy()
        if self.cookie_jar is not None and "Cookie" not in headers:
            cookie_request = urllib.request.Request(request.http_url)
            self.cookie_jar.add_cookie_header(cookie_request)
            cookie_header = cookie_request.get_header("Cookie")
            if cookie_header:
                headers["Cookie"] = cookie_header
        return headers

    async def _send_within(self, limit: float | None, request: TestRequest) -> TestResponse:
        what = f"{request.method} {request.path} got no complete response"
        with waiting_for(what, limit):
            return await self._send(request)

    async def _send(self, request: TestRequest) -> TestResponse:
        sent = replace(request, headers=self._with_cookies(request))
        if self._preserving:
            self._active.close()  # the previous request's context
            extension: dict[str, dict[object, object]] = {
                PRESERVE_CONTEXT_EXTENSION: {"keep": self._keep}
            }
            sent = replace(sent, extensions={**sent.extensions, **extension})
        status, raw_headers, body = await call_app(self.app, sent.scope(), request.body)
        if self._preserving and self._kept is not None:
            kept, self._kept = self._kept, None
            self._active.enter_context(activated(kept))
        response = TestResponse.from_asgi(status, raw_headers, body)
        response.request = request
        self._store_cookies(request, response.headers)
        return response

    def _store_cookies(self, request: TestRequest, headers: Headers) -> None:
        """Keep the cookies a response to ``request`` sets, as a browser would."""
        if self.cookie_jar is not None:
            self.cookie_jar.extract_cookies(
                _set_cookies(headers.getlist("Set-Cookie")),
                urllib.request.Request(request.http_url),
            )


def _redirected(request: TestRequest, response: TestResponse) -> TestRequest:
    """The request a browser makes after ``response`` redirected ``request``."""
    target = urlsplit(urljoin(request.url, response.headers["Location"]))
    keep_body = response.status_code in (307, 308)
    headers = request.headers.copy()
    headers["Host"] = target.netloc or request.host
    if not keep_body:
        for name in ("Content-Type", "Content-Length"):
            headers.pop(name, None)
    path = target.path or "/"
    if request.root_path and path.startswith(request.root_path):
        path = path[len(request.root_path) :]
    return replace(
        request,
        method=request.method if keep_body or request.method == "HEAD" else "GET",
        scheme=target.scheme or request.scheme,
        host=target.netloc or request.host,
        path=path,
        query_string=target.query.encode("latin-1"),
        headers=headers,
        body=request.body if keep_body else b"",
    )


class _SetCookies:
    """The slice of an HTTP response that ``CookieJar.extract_cookies`` reads."""

    def __init__(self, headers: list[str]) -> None:
        self._message = email.message.Message()
        for header in headers:
            self._message["Set-Cookie"] = header

    def info(self) -> email.message.Message:
        return self._message


def _set_cookies(headers: list[str]) -> http.client.HTTPResponse:
    # CookieJar only calls info() on the response, which _SetCookies provides.
    return cast("http.client.HTTPResponse", _SetCookies(headers))


def _jar_domains(domain: str) -> tuple[str, ...]:
    # CookieJar files host-only cookies of a dotless host such as "localhost" under
    # "localhost.local" (RFC 2965's effective host name), and domain cookies with a dot.
    return (domain, f"{domain}.local", f".{domain}")
