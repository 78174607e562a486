"""``Trioframe``: the application object, an ASGI 3 callable."""

from __future__ import annotations

import logging
import os
import sys
from functools import cached_property
from typing import TYPE_CHECKING, Any, overload

import trio
import werkzeug.exceptions
from werkzeug.routing import Map, MapAdapter

from ._asgi import dispatch
from ._config import DEFAULT_CONFIG, Config
from ._context import (
    AppContext,
    RequestContext,
    current_request_context,
    current_websocket_context,
    has_request_context,
    has_websocket_context,
)
from ._exceptions import (
    HTTPException,
    InternalServerError,
    OutsideContextError,
    SetupError,
    from_werkzeug,
    strip_disconnects,
    unwrap_exception_group,
)
from ._json import JSONProvider
from ._request import BaseRequestWebsocket, Request
from ._response import Response, coerce_response, http_exception_response
from ._routing import Rule, build, make_rule, match
from ._scaffold import Scaffold, call_maybe_async
from ._websocket import Websocket

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._types import (
        ASGIReceive,
        ASGIScope,
        ASGISend,
        ResponseReturnValue,
        TeardownCallable,
        ViewCallable,
    )
    from .testing import TestClient


class Trioframe(Scaffold):
    """A trioframe application: register views on it, then serve it with hypercorn's trio worker.

    ``app = Trioframe(__name__)`` is an ASGI 3 application. Each request is handled in its
    own Trio task; a view's own nurseries, cancel scopes and timeouts work as anywhere in
    Trio, and a client that disconnects cancels its request.

    Args:
        import_name: The module the app is defined in, normally ``__name__``.
        root_path: The folder that relative files (config files) are found in; by default
            the folder of ``import_name``.
    """

    request_class: type[Request] = Request
    response_class: type[Response] = Response
    json_provider_class: type[JSONProvider] = JSONProvider
    url_rule_class: type[Rule] = Rule
    config_class: type[Config] = Config
    test_client_class: type[TestClient] | None = None

    def __init__(self, import_name: str, *, root_path: str | None = None) -> None:
        super().__init__(import_name, root_path)
        #: The configuration; see `Config` and ``DEFAULT_CONFIG``.
        self.config = self.config_class(self.root_path, DEFAULT_CONFIG)
        #: werkzeug's URL map; add converters with ``url_map.converters["name"] = cls``.
        self.url_map = Map()
        #: Serialises and parses JSON for views, ``jsonify`` and requests.
        self.json = self.json_provider_class(self)
        self._got_first_request = False

    @cached_property
    def name(self) -> str:
        """The application's name: the import name, or the script's name when run directly."""
        if self.import_name == "__main__":
            filename: str | None = getattr(sys.modules["__main__"], "__file__", None)
            if filename is not None:
                return os.path.splitext(os.path.basename(filename))[0]
        return self.import_name

    @cached_property
    def logger(self) -> logging.Logger:
        """The ``logging`` logger named after the app; errors in views are logged here."""
        return logging.getLogger(self.name)

    @property
    def debug(self) -> bool:
        """``config["DEBUG"]``."""
        return bool(self.config["DEBUG"])

    @debug.setter
    def debug(self, value: bool) -> None:
        self.config["DEBUG"] = value

    @property
    def testing(self) -> bool:
        """``config["TESTING"]``: exceptions reach the test instead of becoming 500s."""
        return bool(self.config["TESTING"])

    @testing.setter
    def testing(self, value: bool) -> None:
        self.config["TESTING"] = value

    @property
    def propagate_exceptions(self) -> bool:
        """Whether unhandled exceptions propagate out of the app (``TESTING`` by default)."""
        value = self.config["PROPAGATE_EXCEPTIONS"]
        return bool(value) if value is not None else self.testing

    async def __call__(self, scope: ASGIScope, receive: ASGIReceive, send: ASGISend) -> None:
        """The ASGI 3 entry point."""
        await dispatch(self, scope, receive, send)

    # Registration ---------------------------------------------------------------------------

    def _check_setup_finished(self, method: str) -> None:
        if self._got_first_request:
            raise SetupError(
                f"{method}() was called on {self.name!r} after it handled its first request; "
                "register routes, hooks and error handlers before serving."
            )

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: ViewCallable | None = None,
        *,
        methods: Iterable[str] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        """Connect a URL rule to a view; the non-decorator form of `route`.

        Raises:
            SetupError: ``endpoint`` already belongs to another function, or serving began.
        """
        self._check_setup_finished("add_url_rule")
        if endpoint is None:
            if view_func is None:
                raise TypeError("add_url_rule() needs an endpoint name or a view function")
            endpoint = view_func.__name__
        if view_func is not None:
            existing = self.view_functions.get(endpoint)
            if existing is not None and existing is not view_func:
                raise SetupError(
                    f"The endpoint {endpoint!r} is already taken by {existing.__qualname__}; "
                    "give this view another function name or an explicit endpoint=."
                )
        self.url_map.add(
            make_rule(
                rule,
                endpoint,
                methods,
                provide_automatic_options=provide_automatic_options,
                rule_class=self.url_rule_class,
                **options,
            )
        )
        if view_func is not None:
            self.view_functions[endpoint] = view_func

    # Contexts and URLs ----------------------------------------------------------------------

    def app_context(self) -> AppContext:
        """A context in which ``current_app`` and ``g`` work: ``with app.app_context():``."""
        return AppContext(self)

    def test_request_context(self, path: str = "/", **kwargs: Any) -> RequestContext:
        """A request context for a made-up request: ``async with app.test_request_context():``.

        Takes the test client's arguments (``method``, ``headers``, ``query_string``,
        ``json``, ``form``, ``files``, ``data``, ``auth``, ...). On exit the
        ``teardown_request`` functions run.
        """
        from .testing._builder import build_test_request

        return RequestContext(self, build_test_request(self, path, **kwargs))

    def test_client(self) -> TestClient:
        """A client that calls this app in the test's own Trio run; see `TestClient`."""
        from .testing import TestClient

        client_class = self.test_client_class or TestClient
        return client_class(self)

    @overload
    def create_url_adapter(self, request: BaseRequestWebsocket) -> MapAdapter: ...
    @overload
    def create_url_adapter(self, request: None) -> MapAdapter | None: ...
    def create_url_adapter(self, request: BaseRequestWebsocket | None) -> MapAdapter | None:
        """Bind the URL map to a request or websocket, or to ``SERVER_NAME`` without one."""
        if request is not None:
            return self.url_map.bind(
                request.host,
                script_name=request.root_path or "/",
                url_scheme=request.scheme,
                default_method=request.method,
                path_info=request.path,
                query_args=request.query_string.decode("latin-1"),
            )
        server_name = self.config["SERVER_NAME"]
        if server_name is None:
            return None
        return self.url_map.bind(
            server_name,
            script_name=self.config["APPLICATION_ROOT"],
            url_scheme=self.config["PREFERRED_URL_SCHEME"],
        )

    def match_request(self, request: BaseRequestWebsocket, adapter: MapAdapter) -> None:
        """Route a request or websocket: set ``url_rule`` and ``view_args``, or
        ``routing_exception``."""
        try:
            request.url_rule, request.view_args = match(adapter, request.method)
        except HTTPException as error:
            request.routing_exception = error

    def url_for(
        self,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: Any,
    ) -> str:
        """Build a URL for ``endpoint``; see the module-level `url_for`."""
        adapter: MapAdapter | None
        if has_request_context() or has_websocket_context():
            context = (
                current_request_context() if has_request_context() else current_websocket_context()
            )
            adapter = context.url_adapter
            if _external is None:
                _external = _scheme is not None
        else:
            adapter = self.create_url_adapter(None)
            if _external is None:
                _external = True
        if adapter is None:
            raise OutsideContextError(
                "url_for() needs a request to build URLs from, or SERVER_NAME configured; "
                "call it inside a view, or set app.config['SERVER_NAME']"
            )
        if _scheme is not None and not _external:
            raise ValueError("url_for(_scheme=...) needs _external=True")
        return build(
            adapter,
            endpoint,
            values,
            method=_method,
            scheme=_scheme,
            external=_external,
            anchor=_anchor,
        )

    # Dispatch -------------------------------------------------------------------------------

    def _scopes(self, request: BaseRequestWebsocket) -> tuple[str | None, ...]:
        """Whose hooks apply to ``request``: the app's (``None``); blueprints come with #5."""
        return (None,)

    async def full_dispatch_request(self, request: Request) -> Response:
        """Run ``before_request`` hooks, the view and ``after_request`` hooks for ``request``.

        Errors raised on the way go to the registered error handlers.

        Raises:
            Exception: what no error handler took; `handle_exception` turns it into a 500.
        """
        self._got_first_request = True
        try:
            rv = await self.preprocess_request(request)
            if rv is None:
                rv = await self.dispatch_request(request)
        except Exception as error:
            rv = await self.handle_user_exception(request, error)
        response = self._make_response(rv)
        return await self.process_response(request, response)

    async def preprocess_request(self, request: Request) -> ResponseReturnValue | None:
        """Run the ``before_request`` functions; the first non-``None`` result is returned."""
        for scope in self._scopes(request):
            for func in self.before_request_funcs.get(scope, ()):
                rv = await call_maybe_async(func)
                if rv is not None:
                    return rv  # type: ignore[no-any-return]  # hooks return view values
        return None

    async def dispatch_request(self, request: Request) -> ResponseReturnValue:
        """Call the view the request was routed to, or answer ``OPTIONS`` for it.

        Raises:
            HTTPException: routing failed (404, 405, or the trailing-slash redirect).
        """
        if request.routing_exception is not None:
            raise request.routing_exception
        rule = request.url_rule
        # Routing set both, since it raised no routing_exception.
        assert isinstance(rule, Rule)
        assert request.view_args is not None
        if rule.provide_automatic_options and request.method == "OPTIONS":
            return await self.make_default_options_response()
        view = self.view_functions[rule.endpoint]
        return await call_maybe_async(view, **request.view_args)  # type: ignore[no-any-return]

    async def make_default_options_response(self) -> Response:
        """An empty response whose ``Allow`` header lists the methods the URL accepts."""
        await trio.lowlevel.checkpoint()
        adapter = current_request_context().url_adapter
        response = self.response_class()
        response.allow.update(sorted(adapter.allowed_methods()))
        return response

    async def make_response(self, rv: ResponseReturnValue) -> Response:
        """Turn anything a view may return into a `Response` (see `coerce_response`)."""
        await trio.lowlevel.checkpoint()
        return self._make_response(rv)

    def _make_response(self, rv: object) -> Response:
        return coerce_response(
            rv, response_class=self.response_class, json_response=self.json.response
        )

    async def process_response(self, request: Request, response: Response) -> Response:
        """Pass the response through the ``after_request`` functions, newest first.

        Raises:
            TypeError: an ``after_request`` function returned ``None``.
        """
        for scope in self._scopes(request):
            for func in reversed(self.after_request_funcs.get(scope, ())):
                result = await call_maybe_async(func, response)
                if not isinstance(result, Response):
                    raise TypeError(
                        f"after_request function {func.__qualname__} returned "
                        f"{type(result).__name__}; it must return the response"
                    )
                response = result
        return response

    async def handle_user_exception(
        self, request: BaseRequestWebsocket, error: Exception
    ) -> ResponseReturnValue:
        """Turn an exception from a hook or view into a response with the error handlers.

        A group holding a single exception (from the view's own nursery) is unwrapped first,
        so handlers see what the user raised. `HTTPException`s without a handler become
        their default error page.

        Raises:
            Exception: the (unwrapped) exception when nothing handles it.
        """
        error = unwrap_exception_group(error)
        if isinstance(error, werkzeug.exceptions.HTTPException):
            error = from_werkzeug(error)
        handler = self.find_error_handler(error, self._scopes(request))
        if handler is not None:
            return await call_maybe_async(handler, error)  # type: ignore[no-any-return]
        if isinstance(error, HTTPException):
            return http_exception_response(error, self.response_class)
        raise error

    async def handle_exception(self, request: Request, error: Exception) -> Response:
        """Turn an unhandled exception into a 500 response, logging its traceback.

        The client sees a generic page (or what a 500 handler returns), never the error;
        ``after_request`` functions run on it.

        Raises:
            Exception: ``error`` itself when exceptions propagate (``TESTING``).
        """
        server_error, response = await self._server_error_response(request, error)
        try:
            return await self.process_response(request, response)
        except Exception as hook_error:
            self.log_exception(request, hook_error)
            return http_exception_response(server_error, self.response_class)

    async def handle_websocket_exception(self, websocket: Websocket, error: Exception) -> Response:
        """Turn an unhandled websocket exception into a 500 response, logging its traceback.

        Before accept the response refuses the connection; after, its status makes the
        close code 1011.

        Raises:
            Exception: ``error`` itself when exceptions propagate (``TESTING``).
        """
        _, response = await self._server_error_response(websocket, error)
        return response

    async def _server_error_response(
        self, request: BaseRequestWebsocket, error: Exception
    ) -> tuple[InternalServerError, Response]:
        if self.propagate_exceptions:
            raise error
        self.log_exception(request, error)
        server_error = InternalServerError(original_exception=error)
        handler = self.find_error_handler(server_error, self._scopes(request))
        try:
            if handler is not None:
                return server_error, self._make_response(
                    await call_maybe_async(handler, server_error)
                )
        except Exception as handler_error:
            # The error page failed too: log that, and fall back to the plain 500 page.
            self.log_exception(request, handler_error)
        return server_error, http_exception_response(server_error, self.response_class)

    def log_exception(self, request: BaseRequestWebsocket, error: BaseException) -> None:
        """Log an unhandled exception with its traceback to `logger`."""
        if isinstance(request, Websocket):
            self.logger.error("Exception on websocket %s", request.path, exc_info=error)
        else:
            self.logger.error("Exception on %s [%s]", request.path, request.method, exc_info=error)

    async def do_teardown_request(self, error: BaseException | None) -> None:
        """Run the ``teardown_request`` functions, newest first; their errors are logged."""
        request = current_request_context().request
        await self._teardown(self.teardown_request_funcs, request, error, "teardown_request")

    async def do_teardown_websocket(self, error: BaseException | None) -> None:
        """Run the ``teardown_websocket`` functions, newest first; their errors are logged."""
        websocket = current_websocket_context().websocket
        await self._teardown(self.teardown_websocket_funcs, websocket, error, "teardown_websocket")

    async def _teardown(
        self,
        funcs: dict[str | None, list[TeardownCallable]],
        request: BaseRequestWebsocket,
        error: BaseException | None,
        kind: str,
    ) -> None:
        for scope in self._scopes(request):
            for func in reversed(funcs.get(scope, ())):
                try:
                    await call_maybe_async(func, error)
                except Exception as teardown_error:
                    if self.propagate_exceptions:
                        raise
                    self.logger.error(
                        "Error in %s function %s", kind, func.__qualname__, exc_info=teardown_error
                    )

    # Websocket dispatch -----------------------------------------------------------------

    async def full_dispatch_websocket(self, websocket: Websocket) -> Response | None:
        """Run ``before_websocket`` hooks, the handler and ``after_websocket`` hooks.

        Errors go to the error handlers, as for requests; a `WebsocketDisconnect` is a
        normal end.

        Returns:
            The response the handler (or an error handler) produced, or ``None``. Before
            accept, a response refuses the connection; after, its status sets the close code.

        Raises:
            Exception: what no error handler took.
        """
        self._got_first_request = True
        try:
            rv = await self.preprocess_websocket(websocket)
            if rv is None:
                rv = await self.dispatch_websocket(websocket)
                if rv is not None and websocket.accepted:
                    self.logger.error(
                        "The websocket handler for %s returned a response after accepting the "
                        "connection; a response can only refuse a websocket before it is "
                        "accepted, so the connection was closed instead",
                        websocket.path,
                    )
        except Exception as error:
            remaining = strip_disconnects(error)
            rv = (
                None
                if remaining is None
                else await self.handle_user_exception(websocket, remaining)
            )
        response = self._make_response(rv) if rv is not None else None
        return await self.postprocess_websocket(websocket, response)

    async def preprocess_websocket(self, websocket: Websocket) -> ResponseReturnValue | None:
        """Run the ``before_websocket`` functions; the first non-``None`` result is returned."""
        for scope in self._scopes(websocket):
            for func in self.before_websocket_funcs.get(scope, ()):
                rv = await call_maybe_async(func)
                if rv is not None:
                    return rv  # type: ignore[no-any-return]  # hooks return view values
        return None

    async def dispatch_websocket(self, websocket: Websocket) -> ResponseReturnValue | None:
        """Call the handler the websocket was routed to.

        Raises:
            HTTPException: routing failed (404, or the URL does not serve websockets).
        """
        if websocket.routing_exception is not None:
            raise websocket.routing_exception
        rule = websocket.url_rule
        # Routing set both, since it raised no routing_exception.
        assert rule is not None
        assert websocket.view_args is not None
        handler = self.view_functions[rule.endpoint]
        return await handler(**websocket.view_args)  # type: ignore[no-any-return]

    async def postprocess_websocket(
        self, websocket: Websocket, response: Response | None
    ) -> Response | None:
        """Pass the handler's outcome through the ``after_websocket`` functions, newest first."""
        for scope in self._scopes(websocket):
            for func in reversed(self.after_websocket_funcs.get(scope, ())):
                response = await call_maybe_async(func, response)
        return response
