"""What happens to a request or websocket inside the app: hooks, the view, errors, teardown.

``Dispatcher`` is the base of `Trioframe`: the connection handlers call these methods once
they have built the `Request` or `Websocket` and pushed its context. Errors go to the error
handlers registered on the scaffold; what none of them takes becomes a logged 500.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

import trio
import werkzeug.exceptions

from ._concurrency import call_maybe_async, unwrap_exception_group
from ._context import current_request_context, current_websocket_context
from ._exceptions import (
    HTTPException,
    InternalServerError,
    from_werkzeug,
    strip_disconnects,
)
from ._response import Response, coerce_response, http_exception_response
from ._routing import Rule
from ._scaffold import Scaffold
from ._websocket import Websocket

if TYPE_CHECKING:
    import logging

    from werkzeug.datastructures import Headers

    from ._app import Trioframe
    from ._config import Config
    from ._json import JSONProvider
    from ._request import BaseRequestWebsocket, Request
    from ._sessions import Session, SessionInterface
    from ._types import ResponseReturnValue, TeardownCallable


#: The hook scopes of a request no blueprint handles.
_APP_ONLY: tuple[str | None, ...] = (None,)


class Dispatcher(Scaffold):
    """Runs hooks, views and error handlers for requests and websockets."""

    # Provided by Trioframe.
    config: Config
    session_interface: SessionInterface
    response_class: type[Response]
    json: JSONProvider
    _got_first_request: bool

    @property
    def logger(self) -> logging.Logger:
        """Where errors are logged."""
        raise NotImplementedError

    @property
    def propagate_exceptions(self) -> bool:
        """Whether unhandled exceptions propagate instead of becoming 500s."""
        raise NotImplementedError

    def _scopes(self, request: BaseRequestWebsocket) -> tuple[str | None, ...]:
        """Whose hooks and error handlers apply to ``request``: its blueprints, innermost
        first, then the app's own (``None``). ``before_*`` hooks run in the reverse order."""
        if request.url_rule is None or "." not in request.url_rule.endpoint:
            return _APP_ONLY  # the common case, asked several times per request
        return (*request.blueprints, None)

    async def full_dispatch_request(self, request: Request) -> Response:
        """Run ``before_request`` hooks, the view and ``after_request`` hooks for ``request``.

        Errors raised on the way go to the registered error handlers.

        Raises:
            Exception: what no error handler took; `handle_exception` turns it into a 500.
        """
        self._got_first_request = True
        context = current_request_context()
        try:
            context.session = await self.open_session(request)
            rv = await self.preprocess_request(request)
            if rv is None:
                rv = await self.dispatch_request(request)
        except Exception as error:
            rv = await self.handle_user_exception(request, error)
        response = self._make_response(rv)
        return await self._process_response(request, response)

    async def open_session(self, request: BaseRequestWebsocket) -> Session:
        """Open the session of a request or websocket with ``session_interface``."""
        app = cast("Trioframe", self)
        session = await self.session_interface.open_session(app, request)
        if session is None:
            return self.session_interface.make_null_session(app)
        return session

    async def save_session(self, session: Session | None, response: Response) -> None:
        """Save ``session`` onto ``response``, unless there is no session or a null one."""
        if session is None or self.session_interface.is_null_session(session):
            await trio.lowlevel.checkpoint()
            return
        await self.session_interface.save_session(cast("Trioframe", self), session, response)

    async def preprocess_request(self, request: Request) -> ResponseReturnValue | None:
        """Run the ``before_request`` functions; the first non-``None`` result is returned."""
        for scope in reversed(self._scopes(request)):
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
        # Only a request whose host passed TRUSTED_HOSTS gets this far, and it has one.
        assert adapter is not None
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
        """Pass the response through the ``after_request`` functions, newest first, then
        save the session onto it.

        Raises:
            TypeError: an ``after_request`` function returned ``None``.
        """
        await trio.lowlevel.checkpoint()
        return await self._process_response(request, response)

    async def _process_response(self, request: Request, response: Response) -> Response:
        # process_response without its own checkpoint: on the request path, sending the
        # response is the checkpoint, and every trip through the scheduler costs each request.
        for scope in self._scopes(request):
            for func in reversed(self.after_request_funcs.get(scope, ())):
                result = await call_maybe_async(func, response)
                if not isinstance(result, Response):
                    raise TypeError(
                        f"after_request function {func.__qualname__} returned "
                        f"{type(result).__name__}; it must return the response"
                    )
                response = result
        session = current_request_context().session
        if session is not None and not self.session_interface.is_null_session(session):
            await self.session_interface.save_session(cast("Trioframe", self), session, response)
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
            return await self._process_response(request, response)
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

    def has_teardown(
        self, funcs: dict[str | None, list[TeardownCallable]], request: BaseRequestWebsocket
    ) -> bool:
        """Whether any of ``funcs`` apply to ``request``."""
        return any(funcs.get(scope) for scope in self._scopes(request))

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
        context = current_websocket_context()
        try:
            context.session = await self.open_session(websocket)
            websocket._on_accept = partial(self._session_to_handshake, context.session)
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
        response = await self.postprocess_websocket(websocket, response)
        if response is not None and not websocket.accepted:
            # The refusal is the handshake response, so it carries the session's cookie.
            await self.save_session(context.session, response)
        return response

    async def _session_to_handshake(self, session: Session, headers: Headers) -> None:
        """Put the session's cookie in the accept headers; then the session is read-only."""
        carrier = self.response_class()
        await self.save_session(session, carrier)
        for cookie in carrier.headers.getlist("Set-Cookie"):
            headers.add("Set-Cookie", cookie)
        session.make_read_only(
            "The session is read-only once the websocket is accepted: its cookie travels "
            "with the handshake response, which has been sent. Change the session before "
            "accepting, or in an HTTP request."
        )

    async def preprocess_websocket(self, websocket: Websocket) -> ResponseReturnValue | None:
        """Run the ``before_websocket`` functions; the first non-``None`` result is returned."""
        for scope in reversed(self._scopes(websocket)):
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
