"""What happens to a request or websocket inside the app: hooks, the view, errors, teardown.

``Dispatcher`` is the base of `Trioframe`: the connection handlers call these methods once
they have built the `Request` or `Websocket` and pushed its context, and pass that context
to each, as Flask 3 does. The context's ``blueprint_chain`` says whose hooks and error
handlers apply. Errors go to the error handlers registered on the scaffold; what none of
them takes becomes a logged 500.
"""

from __future__ import annotations

import inspect
from functools import partial
from typing import TYPE_CHECKING, cast

import trio
import werkzeug.exceptions

from ._concurrency import call_maybe_async, unwrap_exception_group
from ._exceptions import (
    HTTPException,
    InternalServerError,
    from_werkzeug,
    strip_disconnects,
)
from ._response import Response, coerce_response, debug_response, http_exception_response
from ._routing import Rule
from ._scaffold import Scaffold
from ._websocket import Websocket

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from werkzeug.datastructures import Headers

    from ._app import Trioframe
    from ._config import Config
    from ._context import ConnectionContext, RequestContext, WebsocketContext
    from ._json import JSONProvider
    from ._request import BaseRequestWebsocket
    from ._sessions import Session, SessionInterface
    from ._types import ResponseReturnValue, TeardownCallable


class Dispatcher(Scaffold):
    """Runs hooks, views and error handlers for requests and websockets."""

    # Provided by Trioframe.
    config: Config
    session_interface: SessionInterface
    response_class: type[Response]
    json: JSONProvider
    _got_first_request: bool
    teardown_appcontext_funcs: list[TeardownCallable]

    @property
    def logger(self) -> logging.Logger:
        """Where errors are logged."""
        raise NotImplementedError

    @property
    def propagate_exceptions(self) -> bool:
        """Whether unhandled exceptions propagate instead of becoming 500s."""
        raise NotImplementedError

    async def full_dispatch_request(self, ctx: RequestContext) -> Response:
        """Run ``before_request`` hooks, the view and ``after_request`` hooks for the
        request of ``ctx``.

        Errors raised on the way go to the registered error handlers.

        Raises:
            Exception: what no error handler took; `handle_exception` turns it into a 500.
        """
        self._got_first_request = True
        try:
            ctx.session = await self.open_session(ctx.request)
            rv = await self.preprocess_request(ctx)
            if rv is None:
                rv = await self.dispatch_request(ctx)
        except Exception as error:
            rv = await self.handle_user_exception(ctx, error)
        response = self._make_response(rv)
        return await self._process_response(ctx, response)

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

    def preprocess_url_values(self, ctx: ConnectionContext) -> None:
        """Run the ``url_value_preprocessor`` functions on the routed endpoint and values:
        the app's, then each blueprint's, outermost first."""
        connection = ctx.connection
        for owner in reversed(ctx.blueprint_chain):
            for func in self.url_value_preprocessors.get(owner, ()):
                func(connection.endpoint, connection.view_args)

    async def preprocess_request(self, ctx: RequestContext) -> ResponseReturnValue | None:
        """Run the ``url_value_preprocessor`` functions, then the ``before_request``
        functions; the first non-``None`` result of those is returned."""
        if self.url_value_preprocessors:
            self.preprocess_url_values(ctx)
        for owner in reversed(ctx.blueprint_chain):
            for func in self.before_request_funcs.get(owner, ()):
                rv = await call_maybe_async(func)
                if rv is not None:
                    return rv  # type: ignore[no-any-return]  # hooks return view values
        return None

    async def dispatch_request(self, ctx: RequestContext) -> ResponseReturnValue:
        """Call the view the request was routed to, or answer ``OPTIONS`` for it.

        Raises:
            HTTPException: routing failed (404, 405, or the trailing-slash redirect).
        """
        request = ctx.request
        if request.routing_exception is not None:
            raise request.routing_exception
        rule = request.url_rule
        # Routing set both, since it raised no routing_exception.
        assert isinstance(rule, Rule)
        assert request.view_args is not None
        if rule.provide_automatic_options and request.method == "OPTIONS":
            return await self.make_default_options_response(ctx)
        view = self.view_functions[rule.endpoint]
        return await call_maybe_async(view, **request.view_args)  # type: ignore[no-any-return]

    async def make_default_options_response(self, ctx: RequestContext) -> Response:
        """An empty response whose ``Allow`` header lists the methods the URL accepts."""
        await trio.lowlevel.checkpoint()
        adapter = ctx.url_adapter
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

    async def process_response(self, ctx: RequestContext, response: Response) -> Response:
        """Pass the response through the ``after_request`` functions, newest first, then
        save the session onto it.

        Raises:
            TypeError: an ``after_request`` function returned ``None``.
        """
        await trio.lowlevel.checkpoint()
        return await self._process_response(ctx, response)

    async def _process_response(self, ctx: RequestContext, response: Response) -> Response:
        # process_response without its own checkpoint: on the request path, sending the
        # response is the checkpoint, and every trip through the scheduler costs each request.
        for func in ctx.after_request_functions:
            response = _checked_response(func, await call_maybe_async(func, response))
        for owner in ctx.blueprint_chain:
            for func in reversed(self.after_request_funcs.get(owner, ())):
                response = _checked_response(func, await call_maybe_async(func, response))
        session = ctx.session
        if session is not None and not self.session_interface.is_null_session(session):
            await self.session_interface.save_session(cast("Trioframe", self), session, response)
        return response

    async def handle_user_exception(
        self, ctx: ConnectionContext, error: Exception
    ) -> ResponseReturnValue:
        """Turn an exception from a hook or view into a response with the error handlers.

        A group holding a single exception (from the view's own nursery) is unwrapped first,
        so handlers see what the user raised. An `HTTPException` without a handler becomes
        its default error page.

        Raises:
            Exception: the (unwrapped) exception when nothing handles it.
        """
        error = unwrap_exception_group(error)
        if isinstance(error, werkzeug.exceptions.HTTPException) and not isinstance(
            error, HTTPException
        ):
            error = from_werkzeug(error)
        handler = self.find_error_handler(error, ctx.blueprint_chain)
        if handler is not None:
            return await call_maybe_async(handler, error)  # type: ignore[no-any-return]
        if isinstance(error, HTTPException):
            return http_exception_response(error, self.response_class)
        raise error

    async def handle_exception(self, ctx: RequestContext, error: Exception) -> Response:
        """Turn an unhandled exception into a 500 response, logging its traceback.

        The client sees a generic page (or what a 500 handler returns), never the error;
        ``after_request`` functions run on it.

        Raises:
            Exception: ``error`` itself when exceptions propagate (``TESTING``).
        """
        server_error, response = await self._server_error_response(ctx, error)
        try:
            return await self._process_response(ctx, response)
        except Exception as hook_error:
            self.log_exception(ctx, hook_error)
            return http_exception_response(server_error, self.response_class)

    async def handle_websocket_exception(self, ctx: WebsocketContext, error: Exception) -> Response:
        """Turn an unhandled websocket exception into a 500 response, logging its traceback.

        Before accept the response refuses the connection; after, its status makes the
        close code 1011.

        Raises:
            Exception: ``error`` itself when exceptions propagate (``TESTING``).
        """
        _, response = await self._server_error_response(ctx, error)
        return response

    async def _server_error_response(
        self, ctx: ConnectionContext, error: Exception
    ) -> tuple[InternalServerError, Response]:
        if self.propagate_exceptions:
            raise error
        self.log_exception(ctx, error)
        server_error = InternalServerError(original_exception=error)
        handler = self.find_error_handler(server_error, ctx.blueprint_chain)
        try:
            if handler is not None:
                return server_error, self._make_response(
                    await call_maybe_async(handler, server_error)
                )
        except Exception as handler_error:
            # The error page failed too: log that, and fall back to the plain 500 page.
            self.log_exception(ctx, handler_error)
        if self.config["DEBUG"]:
            return server_error, debug_response(error, self.response_class)
        return server_error, http_exception_response(server_error, self.response_class)

    def log_exception(self, ctx: ConnectionContext, error: BaseException) -> None:
        """Log an unhandled exception with its traceback to `logger`."""
        connection = ctx.connection
        if isinstance(connection, Websocket):
            self.logger.error("Exception on websocket %s", connection.path, exc_info=error)
        else:
            self.logger.error(
                "Exception on %s [%s]", connection.path, connection.method, exc_info=error
            )

    async def do_teardown_request(self, ctx: RequestContext, error: BaseException | None) -> None:
        """Run the ``teardown_request`` functions, newest first; their errors are logged."""
        await self._teardown(self.teardown_request_funcs, ctx, error, "teardown_request")

    async def do_teardown_appcontext(self, error: BaseException | None) -> None:
        """Run the ``teardown_appcontext`` functions, newest first; their errors are logged."""
        await self._teardown(
            {None: self.teardown_appcontext_funcs}, None, error, "teardown_appcontext"
        )

    def do_teardown_appcontext_now(self, error: BaseException | None) -> None:
        """`do_teardown_appcontext` for a plain ``with app.app_context():``, which cannot
        await: plain functions run here and now.

        Raises:
            RuntimeError: a ``teardown_appcontext`` function is ``async def``; leave the
                context with ``async with`` to run it.
        """
        for func in reversed(self.teardown_appcontext_funcs):
            if inspect.iscoroutinefunction(func):
                raise RuntimeError(
                    f"The teardown_appcontext function {func.__qualname__} is async, and a "
                    "plain 'with app.app_context():' cannot await it; use 'async with "
                    "app.app_context():'"
                )
            try:
                func(error)
            except Exception as teardown_error:
                if self.propagate_exceptions:
                    raise
                self.logger.error(
                    "Error in teardown_appcontext function %s",
                    func.__qualname__,
                    exc_info=teardown_error,
                )

    async def do_teardown_websocket(
        self, ctx: WebsocketContext, error: BaseException | None
    ) -> None:
        """Run the ``teardown_websocket`` functions, newest first; their errors are logged."""
        await self._teardown(self.teardown_websocket_funcs, ctx, error, "teardown_websocket")

    def has_teardown(
        self, funcs: dict[str | None, list[TeardownCallable]], ctx: ConnectionContext
    ) -> bool:
        """Whether any of ``funcs`` apply to the connection of ``ctx``."""
        return any(funcs.get(owner) for owner in ctx.blueprint_chain)

    async def _teardown(
        self,
        funcs: dict[str | None, list[TeardownCallable]],
        ctx: ConnectionContext | None,
        error: BaseException | None,
        kind: str,
    ) -> None:
        for owner in ctx.blueprint_chain if ctx is not None else (None,):
            for func in reversed(funcs.get(owner, ())):
                try:
                    await call_maybe_async(func, error)
                except Exception as teardown_error:
                    if self.propagate_exceptions:
                        raise
                    self.logger.error(
                        "Error in %s function %s", kind, func.__qualname__, exc_info=teardown_error
                    )

    # Websocket dispatch -----------------------------------------------------------------

    async def full_dispatch_websocket(self, ctx: WebsocketContext) -> Response | None:
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
        websocket = ctx.websocket
        try:
            ctx.session = await self.open_session(websocket)
            websocket._on_accept = partial(self._session_to_handshake, ctx.session)
            rv = await self.preprocess_websocket(ctx)
            if rv is None:
                rv = await self.dispatch_websocket(ctx)
                if rv is not None and websocket.accepted:
                    self.logger.error(
                        "The websocket handler for %s returned a response after accepting the "
                        "connection; a response can only refuse a websocket before it is "
                        "accepted, so the connection was closed instead",
                        websocket.path,
                    )
        except Exception as error:
            remaining = strip_disconnects(error)
            rv = None if remaining is None else await self.handle_user_exception(ctx, remaining)
        response = self._make_response(rv) if rv is not None else None
        response = await self.postprocess_websocket(ctx, response)
        if response is not None and not websocket.accepted:
            # The refusal is the handshake response, so it carries the session's cookie.
            await self.save_session(ctx.session, response)
        return response

    async def _session_to_handshake(self, session: Session, headers: Headers) -> None:
        """Put the session's cookie in the accept headers; then the session is read-only."""
        carrier = self.response_class()
        await self.save_session(session, carrier)
        for cookie in carrier.headers.getlist("Set-Cookie"):
            headers.add("Set-Cookie", cookie)
        session.make_read_only(
            "The session is read-only once the websocket is accepted: its cookie travels "
            "with the handshake response, which has been sent; change the session before "
            "accepting, or in an HTTP request"
        )

    async def preprocess_websocket(self, ctx: WebsocketContext) -> ResponseReturnValue | None:
        """Run the ``url_value_preprocessor`` functions, then the ``before_websocket``
        functions; the first non-``None`` result of those is returned."""
        if self.url_value_preprocessors:
            self.preprocess_url_values(ctx)
        for owner in reversed(ctx.blueprint_chain):
            for func in self.before_websocket_funcs.get(owner, ()):
                rv = await call_maybe_async(func)
                if rv is not None:
                    return rv  # type: ignore[no-any-return]  # hooks return view values
        return None

    async def dispatch_websocket(self, ctx: WebsocketContext) -> ResponseReturnValue | None:
        """Call the handler the websocket was routed to.

        Raises:
            HTTPException: routing failed (404, or the URL does not serve websockets).
        """
        websocket = ctx.websocket
        if websocket.routing_exception is not None:
            raise websocket.routing_exception
        rule = websocket.url_rule
        # Routing set both, since it raised no routing_exception.
        assert rule is not None
        assert websocket.view_args is not None
        handler = self.view_functions[rule.endpoint]
        return await handler(**websocket.view_args)  # type: ignore[no-any-return]

    async def postprocess_websocket(
        self, ctx: WebsocketContext, response: Response | None
    ) -> Response | None:
        """Pass the handler's outcome through the ``after_websocket`` functions, newest first."""
        for owner in ctx.blueprint_chain:
            for func in reversed(self.after_websocket_funcs.get(owner, ())):
                response = await call_maybe_async(func, response)
        return response


def _checked_response(func: Callable[..., object], result: object) -> Response:
    """What an ``after_request`` function returned, which must be the response.

    Raises:
        TypeError: it returned something else (``None``, most likely).
    """
    if not isinstance(result, Response):
        raise TypeError(
            f"after_request function {func.__qualname__} returned {type(result).__name__}; "
            "it must return the response"
        )
    return result
