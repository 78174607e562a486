"""The context globals ``current_app``, ``g``, ``request``, ``websocket`` and ``session``.

Each request is handled in its own Trio task, and each task has its own copy of the context,
so the globals are per request without any locking. ``nursery.start_soon`` copies the
spawner's context, which is why tasks a view starts see the same ``request`` and ``g``.
Worker threads started with ``trio.to_thread`` see them too.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

import trio
from werkzeug.local import LocalProxy

from ._concurrency import bounded_cleanup
from ._exceptions import HTTPException, OutsideContextError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType

    from werkzeug.routing import MapAdapter

    from ._app import Trioframe
    from ._request import BaseRequestWebsocket, Request
    from ._sessions import Session
    from ._types import AfterRequestCallable
    from ._websocket import Websocket

_T = TypeVar("_T")
#: The blueprint chain of a connection no blueprint handles.
_APP_ONLY: tuple[str | None, ...] = (None,)

_cv_app: ContextVar[AppContext | None] = ContextVar("trioframe.app_context")
# ``None`` marks a task that must not see the request or websocket it was started from.
_cv_request: ContextVar[RequestContext | None] = ContextVar("trioframe.request_context")
_cv_websocket: ContextVar[WebsocketContext | None] = ContextVar("trioframe.websocket_context")
#: Whether the app is being called by the test client, which wants exceptions raised.
_cv_test_call: ContextVar[bool] = ContextVar("trioframe.test_call", default=False)


class AppGlobals:
    """``g``: a namespace for data that lives as long as one application context.

    Every request gets a fresh one. Besides attributes it offers ``get``, ``pop``,
    ``setdefault``, ``in`` and iteration over the names set.
    """

    # Declared so type checkers accept any attribute on g, as they do on Flask's.
    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"g has no attribute {name!r} in this context; set it first, or use g.get({name!r})"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        """The attribute ``name``, or ``default`` if it is not set."""
        return self.__dict__.get(name, default)

    def pop(self, name: str, *default: Any) -> Any:
        """Remove and return the attribute ``name`` (or ``default``; else ``KeyError``)."""
        return self.__dict__.pop(name, *default)

    def setdefault(self, name: str, default: Any = None) -> Any:
        """The attribute ``name``, first setting it to ``default`` if it is not set."""
        return self.__dict__.setdefault(name, default)

    def __contains__(self, name: str) -> bool:
        return name in self.__dict__

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def __repr__(self) -> str:
        context = _cv_app.get(None)
        return f"<trioframe.g of {context.app.name!r}>" if context is not None else "<g>"


class AppContext:
    """Makes ``current_app`` and ``g`` available; ``with`` and ``async with`` both work.

    Each request pushes its own; push one yourself (``with app.app_context():``) to use the
    app's globals from a script, a shell or a background task. Leaving it runs the
    ``teardown_appcontext`` functions: all of them after ``async with``, shielded and
    bounded as request teardown is; after a plain ``with``, which cannot await, only plain
    functions (an ``async def`` one is an error that says to use ``async with``).
    """

    def __init__(self, app: Trioframe) -> None:
        self.app = app
        self.g = AppGlobals()
        self._tokens: list[Token[AppContext | None]] = []

    def push(self) -> None:
        """Make this the current application context."""
        self._tokens.append(_cv_app.set(self))

    def pop(self) -> None:
        """Restore the application context that was current before ``push``."""
        _cv_app.reset(self._tokens.pop())

    def __enter__(self) -> AppContext:
        self.push()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.app.do_teardown_appcontext_now(exc)
        finally:
            self.pop()

    async def __aenter__(self) -> AppContext:
        await trio.lowlevel.checkpoint()
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.app.teardown_appcontext_funcs:
                with bounded_cleanup(
                    "teardown",
                    self.app.logger,
                    "teardown_appcontext functions were cancelled after %s seconds",
                ):
                    await self.app.do_teardown_appcontext(exc)
        finally:
            self.pop()
        await trio.lowlevel.cancel_shielded_checkpoint()


class ConnectionContext:
    """What request and websocket contexts share: app context, routing and teardown."""

    _var: ClassVar[ContextVar[Any]]
    _teardown_name: ClassVar[str]

    def __init__(self, app: Trioframe, connection: BaseRequestWebsocket) -> None:
        self.app = app
        self.app_context = AppContext(app)
        #: The server name and subdomain the connection is routed under (see
        #: ``url_binding``); ``None`` when its host is not one the app serves.
        self.url_binding: tuple[str, str | None] | None
        try:
            self.url_binding = app.url_binding(connection)
        except HTTPException as untrusted_host:
            self.url_binding = None
            connection.routing_exception = untrusted_host
        self._url_adapter: MapAdapter | None = None
        #: The request or websocket.
        self.connection = connection
        #: The client's session, opened when the request or websocket is dispatched.
        self.session: Session | None = None
        #: The flashed messages `get_flashed_messages` took from the session, once it has.
        self.flashes: list[tuple[str, str]] | None = None
        #: Whose hooks and error handlers apply: the blueprints the connection was routed
        #: into, innermost first, then the app's own (``None``). ``before_*`` hooks run in
        #: the reverse order. Set when routing runs, as the context is pushed.
        self.blueprint_chain: tuple[str | None, ...] = _APP_ONLY
        self._tokens: list[Token[Any]] = []

    @property
    def url_adapter(self) -> MapAdapter | None:
        """The URL map bound to the connection, made on first use (URL building, ``OPTIONS``
        and routing's answers other than plain hits need it); ``None`` when the host is not
        one the app serves."""
        if self._url_adapter is None and self.url_binding is not None:
            self._url_adapter = self.app.bind_url_map(self.connection, self.url_binding)
        return self._url_adapter

    def push(self) -> None:
        """Make this the current context (with its application context) and route the URL."""
        self.app_context.push()
        self._tokens.append(self._var.set(self))
        # Routing may have been settled already: a path outside the app's mount point.
        if self.url_binding is not None and self.connection.routing_exception is None:
            self.app.match_request(self)
            rule = self.connection.url_rule
            if rule is not None and "." in rule.endpoint:  # an endpoint in a blueprint
                self.blueprint_chain = (*self.connection.blueprints, None)

    async def pop(self, error: BaseException | None = None) -> None:
        """Run teardown functions with ``error``, then restore the previous contexts.

        Teardown is shielded from cancellation, so it runs even for a connection that is
        being cancelled, but it may take at most ten seconds (``CLEANUP_TIMEOUTS_S``).
        """
        await self.end(error)
        # A scheduling point that cannot raise Cancelled over an exception already in flight.
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def end(self, error: BaseException | None = None) -> None:
        """`pop` without its closing checkpoint, for the connection handlers, whose sends
        are their checkpoints."""
        try:
            connection_teardown = self._has_teardown()
            if connection_teardown or self.app.teardown_appcontext_funcs:
                with bounded_cleanup(
                    "teardown",
                    self.app.logger,
                    "%s functions for %s were cancelled after %s seconds",
                    self._teardown_name,
                    self.connection.path,
                ):
                    try:
                        if connection_teardown:
                            await self._teardown(error)
                    finally:
                        # The application context ends with the request, as in Flask.
                        await self.app.do_teardown_appcontext(error)
        finally:
            routing_exception = self.connection.routing_exception
            if routing_exception is not None:
                # Dispatch raised it from frames that hold the connection, which holds it:
                # without dropping them, every 404 would leave a reference cycle behind.
                routing_exception.__traceback__ = None
            self._var.reset(self._tokens.pop())
            self.app_context.pop()

    async def _teardown(self, error: BaseException | None) -> None:
        raise NotImplementedError

    def _has_teardown(self) -> bool:
        """Whether there is teardown work; without any, the shielded scope is skipped."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await trio.lowlevel.checkpoint()
        self.push()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.pop(exc)


class RequestContext(ConnectionContext):
    """Makes ``request`` available (and ``current_app`` and ``g``) while a request is handled.

    Entering matches the URL against the app's rules; leaving runs the ``teardown_request``
    functions and closes uploaded files, even when the request was cancelled.
    """

    _var = _cv_request
    _teardown_name = "teardown_request"

    def __init__(self, app: Trioframe, request: Request) -> None:
        super().__init__(app, request)
        self.request = request
        #: Functions `after_this_request` registered, run before the ``after_request`` ones.
        self.after_request_functions: list[AfterRequestCallable] = []

    async def __aenter__(self) -> Self:
        """Push the context and open the session, as dispatching a request does."""
        await super().__aenter__()
        try:
            self.session = await self.app.open_session(self.request)
        except BaseException as error:
            await self.pop(error)
            raise
        return self

    async def _teardown(self, error: BaseException | None) -> None:
        try:
            await self.app.do_teardown_request(self, error)
        finally:
            self.request.close()

    def _has_teardown(self) -> bool:
        return self.request.has_files or self.app.has_teardown(
            self.app.teardown_request_funcs, self
        )


class WebsocketContext(ConnectionContext):
    """Makes ``websocket`` available (and ``current_app`` and ``g``) while a handler runs.

    Entering matches the URL against the app's websocket rules; leaving runs the
    ``teardown_websocket`` functions, however the connection ended.
    """

    _var = _cv_websocket
    _teardown_name = "teardown_websocket"

    def __init__(self, app: Trioframe, websocket: Websocket) -> None:
        super().__init__(app, websocket)
        self.websocket = websocket

    async def _teardown(self, error: BaseException | None) -> None:
        await self.app.do_teardown_websocket(self, error)

    def _has_teardown(self) -> bool:
        return self.app.has_teardown(self.app.teardown_websocket_funcs, self)


def has_app_context() -> bool:
    """Whether an application context is active, so ``current_app`` and ``g`` work."""
    return _cv_app.get(None) is not None


def has_request_context() -> bool:
    """Whether a request context is active, so ``request`` works."""
    return _cv_request.get(None) is not None


def has_websocket_context() -> bool:
    """Whether a websocket context is active, so ``websocket`` works."""
    return _cv_websocket.get(None) is not None


def current_app_context() -> AppContext:
    """The active application context.

    Raises:
        OutsideContextError: there is none.
    """
    return _active(
        _cv_app,
        "trioframe.current_app (or g) used outside an application context; views and "
        "hooks have one, elsewhere enter 'with app.app_context():' first",
    )


def current_request_context() -> RequestContext:
    """The active request context.

    Raises:
        OutsideContextError: there is none.
    """
    return _active(
        _cv_request,
        "trioframe.request used outside a request handler; in tests, enter "
        "'async with app.test_request_context(path):' first",
    )


def current_websocket_context() -> WebsocketContext:
    """The active websocket context.

    Raises:
        OutsideContextError: there is none.
    """
    return _active(
        _cv_websocket,
        "trioframe.websocket used outside a websocket handler; in tests, connect with "
        "'async with app.test_client().websocket(path):'",
    )


def _active(var: ContextVar[_T | None], message: str) -> _T:
    value = var.get(None)
    if value is None:
        raise OutsideContextError(message)
    return value


@contextmanager
def activated(context: AppContext | ConnectionContext) -> Iterator[None]:
    """Make ``context`` (and a connection's application context) current for the block,
    without routing or teardown: the context still belongs to the request that made it."""
    app_token = _cv_app.set(context if isinstance(context, AppContext) else context.app_context)
    token = None if isinstance(context, AppContext) else context._var.set(context)
    try:
        yield
    finally:
        if token is not None and not isinstance(context, AppContext):
            context._var.reset(token)
        _cv_app.reset(app_token)


def hide_connection_contexts() -> None:
    """Make ``request`` and ``websocket`` unavailable in the calling task.

    Background tasks copy the context of the task that started them; the request or
    websocket they were started from may be long gone, so they must not see it.
    """
    _cv_request.set(None)
    _cv_websocket.set(None)


def _get_app() -> Trioframe:
    return current_app_context().app


def _get_g() -> AppGlobals:
    return current_app_context().g


def _get_request() -> Request:
    return current_request_context().request


def _get_websocket() -> Websocket:
    return current_websocket_context().websocket


def current_connection_context(what: str) -> ConnectionContext:
    """The active request or websocket context.

    Raises:
        OutsideContextError: there is none; ``what`` names what needed it.
    """
    context: ConnectionContext | None = _cv_request.get(None) or _cv_websocket.get(None)
    if context is None:
        raise OutsideContextError(
            f"{what} used outside a request or websocket handler; in tests, enter "
            "'async with app.test_request_context(path):' or use "
            "'async with client.session_transaction():'"
        )
    return context


def current_session(what: str) -> Session:
    """The session of the active request or websocket, marked as accessed.

    Raises:
        OutsideContextError: there is no context, or it was pushed without dispatching;
            ``what`` names what needed the session.
    """
    context = current_connection_context(what)
    if context.session is None:
        raise OutsideContextError(
            "The session is opened when the request is dispatched, and this context was "
            f"pushed without dispatching; enter it with 'async with' before using {what}"
        )
    context.session.accessed = True
    return context.session


def _get_session() -> Session:
    return current_session("trioframe.session")


# The proxies resolve on every use, so one module-level object serves every task.
current_app: Trioframe = LocalProxy(_get_app)  # type: ignore[assignment]
g: AppGlobals = LocalProxy(_get_g)  # type: ignore[assignment]
request: Request = LocalProxy(_get_request)  # type: ignore[assignment]
websocket: Websocket = LocalProxy(_get_websocket)  # type: ignore[assignment]
session: Session = LocalProxy(_get_session)  # type: ignore[assignment]


def called_by_test_client() -> bool:
    """Whether the current call into the app came from the test client."""
    return _cv_test_call.get()


@contextmanager
def calls_from_test_client() -> Iterator[None]:
    """Mark calls into the app made in this block (and tasks it starts) as the test
    client's."""
    token = _cv_test_call.set(True)
    try:
        yield
    finally:
        _cv_test_call.reset(token)
