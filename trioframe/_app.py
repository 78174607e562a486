"""``Trioframe``: the application object, an ASGI 3 callable."""

from __future__ import annotations

import os
import sys
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

import trio

from ._asgi import handle_connection
from ._commands import AppGroup
from ._concurrency import call_maybe_async
from ._config import DEFAULT_CONFIG, Config
from ._context import (
    AppContext,
    RequestContext,
    called_by_test_client,
)
from ._dispatch import Dispatcher
from ._exceptions import (
    SetupError,
)
from ._json import JSONProvider
from ._logging import app_logger
from ._matcher import matching_map
from ._request import Request
from ._response import Response
from ._routing import Rule, make_rule
from ._serving import app_path_of, hypercorn_config, serve_forever
from ._serving_state import ServingState
from ._sessions import SecureCookieSessionInterface, SessionInterface
from ._setup import check_while_serving, setupmethod
from ._templating import Templating
from ._urls import URLs

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Iterator

    from ._background import AppNursery
    from ._blueprint import Blueprint
    from ._scaffold import T_serving, T_teardown, T_while_serving
    from ._types import (
        ASGIApp,
        ASGIReceive,
        ASGIScope,
        ASGISend,
        ServingCallable,
        TeardownCallable,
        ViewCallable,
        WhileServingCallable,
    )
    from .testing import TestApp, TestClient, TestCliRunner


class Trioframe(Dispatcher, Templating, URLs):
    """A trioframe application: register views on it, then serve it with hypercorn's trio worker.

    ``app = Trioframe(__name__)`` is an ASGI 3 application. Each request is handled in its
    own Trio task; a view's own nurseries, cancel scopes and timeouts work as anywhere in
    Trio, and a client that disconnects cancels its request.

    Args:
        import_name: The module the app is defined in, normally ``__name__``.
        static_folder: The folder of static files, served at ``/static/<path:filename>``
            (endpoint ``"static"``); ``None`` serves none.
        static_url_path: The URL path of the static files, instead of ``/static``.
        template_folder: The folder `render_template` looks in first.
        root_path: The folder that relative paths (folders, config files) start from; by
            default the folder of ``import_name``.
        host_matching: Route by the whole host: each rule names its ``host`` (which may
            hold variables, ``<user>.example.com``).
        static_host: With ``host_matching``, the host static files are served from.
        subdomain_matching: Route by the subdomain of ``SERVER_NAME`` the request was
            made to: rules and blueprints name their ``subdomain``.

    Raises:
        SetupError: ``host_matching`` and ``static_host`` do not go together.
    """

    request_class: type[Request] = Request
    response_class: type[Response] = Response
    json_provider_class: type[JSONProvider] = JSONProvider
    url_rule_class: type[Rule] = Rule
    config_class: type[Config] = Config
    #: Where sessions are kept: by default, in a cookie signed with ``SECRET_KEY``.
    session_interface: SessionInterface = SecureCookieSessionInterface()
    test_client_class: type[TestClient] | None = None

    def __init__(
        self,
        import_name: str,
        *,
        static_folder: str | os.PathLike[str] | None = "static",
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = "templates",
        root_path: str | None = None,
        host_matching: bool = False,
        static_host: str | None = None,
        subdomain_matching: bool = False,
    ) -> None:
        super().__init__(
            import_name,
            root_path,
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
        )
        #: The configuration; see `Config` and ``DEFAULT_CONFIG``.
        self.config = self.config_class(self.root_path, DEFAULT_CONFIG)
        #: werkzeug's URL map; add converters with ``url_map.converters["name"] = cls``.
        self.url_map = matching_map(host_matching=host_matching)
        #: Whether routes match the subdomain of ``SERVER_NAME`` a request was made to.
        self.subdomain_matching = subdomain_matching
        #: Serialises and parses JSON for views, ``jsonify`` and requests.
        self.json = self.json_provider_class(self)
        #: ``before_serving`` functions, run at startup in registration order.
        self.before_serving_funcs: list[ServingCallable] = []
        #: ``after_serving`` functions, run at shutdown in registration order.
        self.after_serving_funcs: list[ServingCallable] = []
        #: ``teardown_appcontext`` functions, run newest first as an app context ends.
        self.teardown_appcontext_funcs: list[TeardownCallable] = []
        #: ``while_serving`` generator functions: started in order, finished in reverse.
        self.while_serving_funcs: list[WhileServingCallable] = []
        #: Custom commands: ``@app.cli.command()``, run with ``trioframe --app module:app
        #: <command>`` in an application context (see `AppGroup`).
        self.cli = AppGroup(self.name)
        #: The ASGI app the server calls, through ``app(scope, receive, send)``. Wrap it to
        #: add ASGI middleware that every way of serving (the test client, ``app.run()``,
        #: ``trioframe run``) goes through: ``app.asgi_app = Middleware(app.asgi_app)``.
        self.asgi_app: ASGIApp = partial(handle_connection, self)
        #: Registered blueprints by their full (dotted) name.
        self.blueprints: dict[str, Blueprint] = {}
        self._got_first_request = False
        #: Whether the app serves, its nursery, its open websockets: what the lifespan
        #: handler, the websocket handler and servers share. Not for views.
        self.serving_state = ServingState(self.name)
        if self.has_static_folder:
            if bool(static_host) != host_matching:
                raise SetupError(
                    "static_host goes with host_matching=True, and host_matching needs it: "
                    "name the host static files are served from, or pass "
                    "static_folder=None"
                )
            self.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                "static",
                self.send_static_file,
                host=static_host,
            )

    @cached_property
    def name(self) -> str:
        """The application's name: the import name, or the script's name when run directly."""
        if self.import_name == "__main__":
            filename: str | None = getattr(sys.modules["__main__"], "__file__", None)
            if filename is not None:
                return os.path.splitext(os.path.basename(filename))[0]
        return self.import_name

    @property
    def logger(self) -> logging.Logger:
        """The ``logging`` logger named after the app; errors in views are logged here.

        It writes to standard error through `trioframe.logging.default_handler`, which
        steps aside once logging is configured, and shows DEBUG records when ``debug`` is
        on, INFO and above when it is off, until its level is set by hand.
        """
        return app_logger(self)

    @property
    def debug(self) -> bool:
        """``config["DEBUG"]``."""
        return bool(self.config["DEBUG"])

    @debug.setter
    def debug(self, value: bool) -> None:
        self.config["DEBUG"] = value

    @property
    def secret_key(self) -> str | bytes | None:
        """``config["SECRET_KEY"]``, which signs the session cookie."""
        value: str | bytes | None = self.config["SECRET_KEY"]
        return value

    @secret_key.setter
    def secret_key(self, value: str | bytes | None) -> None:
        self.config["SECRET_KEY"] = value

    @property
    def testing(self) -> bool:
        """``config["TESTING"]``: exceptions reach the test instead of becoming 500s."""
        return bool(self.config["TESTING"])

    @testing.setter
    def testing(self, value: bool) -> None:
        self.config["TESTING"] = value

    @property
    def propagate_exceptions(self) -> bool:
        """Whether unhandled exceptions propagate out of the app: ``PROPAGATE_EXCEPTIONS``
        when set, else with ``TESTING`` on and for the test client's calls."""
        value = self.config["PROPAGATE_EXCEPTIONS"]
        if value is not None:
            return bool(value)
        return self.testing or called_by_test_client()

    # Ctrl-C while trioframe code runs goes to the server's main task, which shuts down
    # gracefully, instead of tearing through one request (Trio's KI protection).
    @trio.lowlevel.enable_ki_protection
    async def __call__(self, scope: ASGIScope, receive: ASGIReceive, send: ASGISend) -> None:
        """The ASGI 3 entry point: calls `asgi_app`, where middleware goes."""
        await self.asgi_app(scope, receive, send)

    # Registration ---------------------------------------------------------------------------

    def _check_setup_finished(self, method: str) -> None:
        if self._got_first_request:
            raise SetupError(
                f"{method}() was called on {self.name!r} after it handled its first request; "
                "register routes, hooks and error handlers before serving"
            )

    @setupmethod
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

        As in Flask, a view function may carry ``methods`` (used when none are given),
        ``required_methods`` (always added) and ``provide_automatic_options`` attributes;
        `trioframe.views.View.as_view` sets them.

        Raises:
            SetupError: ``endpoint`` already belongs to another function, or serving began.
        """
        if methods is None:
            methods = getattr(view_func, "methods", None)
        if provide_automatic_options is None:
            provide_automatic_options = getattr(view_func, "provide_automatic_options", None)
        if endpoint is None:
            if view_func is None:
                raise TypeError("add_url_rule() needs an endpoint name or a view function")
            endpoint = view_func.__name__
        if view_func is not None:
            existing = self.view_functions.get(endpoint)
            if existing is not None and existing is not view_func:
                raise SetupError(
                    f"The endpoint {endpoint!r} is already taken by {existing.__qualname__}; "
                    "give this view another function name or an explicit endpoint="
                )
        self.url_map.add(
            make_rule(
                rule,
                endpoint,
                methods,
                provide_automatic_options=provide_automatic_options,
                required_methods=getattr(view_func, "required_methods", ()),
                rule_class=self.url_rule_class,
                **options,
            )
        )
        if view_func is not None:
            self.view_functions[endpoint] = view_func

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: Any) -> None:
        """Add a blueprint's routes, websockets, hooks and error handlers to the app.

        Args:
            blueprint: The blueprint.
            options: ``url_prefix`` and ``subdomain`` (instead of the blueprint's own; ``None``
                keeps its own), ``name`` (to register one blueprint twice under two names),
                ``url_defaults`` (default view arguments for its rules), ``cli_group``.

        Raises:
            SetupError: the name is taken, or the app has begun serving.
        """
        blueprint.register(self, options)

    def iter_blueprints(self) -> Iterator[Blueprint]:
        """The registered blueprints, in the order they were registered."""
        return iter(self.blueprints.values())

    # Serving ----------------------------------------------------------------------------------

    @setupmethod
    def before_serving(self, func: T_serving) -> T_serving:
        """Run ``func()`` once at startup, before the server accepts connections.

        It may start background tasks with ``app.nursery``. If it raises, the app does not
        start: the server reports the error and exits.
        """
        self.before_serving_funcs.append(func)
        return func

    @setupmethod
    def after_serving(self, func: T_serving) -> T_serving:
        """Run ``func()`` once at shutdown, after connections have ended and background tasks
        were cancelled."""
        self.after_serving_funcs.append(func)
        return func

    @setupmethod
    def teardown_appcontext(self, func: T_teardown) -> T_teardown:
        """Run ``func(error)`` whenever an application context ends: after every request
        and websocket (after their own teardown functions), background task, and
        ``async with app.app_context():`` block, as Flask does.

        ``error`` is the unhandled exception, or ``None``. A plain function runs in a
        worker thread; errors are logged and ignored (or propagate, with ``TESTING``).
        Release what a context opened here, such as a database connection kept on ``g``.
        """
        self.teardown_appcontext_funcs.append(func)
        return func

    @setupmethod
    def while_serving(self, func: T_while_serving) -> T_while_serving:
        """Run an async generator around the app's serving life: setup before its ``yield``
        at startup, cleanup after it at shutdown (newest first).

        Raises:
            SetupError: ``func`` is not an async generator function.
        """
        check_while_serving(func)
        self.while_serving_funcs.append(func)
        return func

    @property
    def nursery(self) -> AppNursery:
        """The app nursery, for background tasks: ``app.nursery.start_soon(fn, *args)``.

        Open while the app is serving, from the first ``before_serving`` function until
        shutdown begins, when its tasks are cancelled. See `AppNursery`.

        Raises:
            OutsideContextError: the app is not serving.
        """
        return self.serving_state.nursery

    def add_background_task(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``func(*args, **kwargs)`` in the app nursery, as Quart's method of this name.

        An ``async def`` function runs in a task; a plain function runs in a worker thread,
        so it may block. Either way it runs in an application context and is cancelled at
        shutdown (a thread is waited for); a failure is handled as for any task in
        `nursery`.

        Raises:
            OutsideContextError: the app is not serving, or is shutting down.
        """
        self.nursery.start_soon(
            partial(call_maybe_async, func, *args, **kwargs),
            name=getattr(func, "__qualname__", func),
        )

    def test_app(self) -> TestApp:
        """Run the app's lifespan in a test: ``async with app.test_app():``.

        Entering runs the startup hooks and opens ``app.nursery``; leaving shuts down. The
        test client works inside the block. See `TestApp`.
        """
        from .testing import TestApp

        return TestApp(self)

    def run(
        self,
        host: str = "127.0.0.1",
        port: int = 5000,
        debug: bool = False,
        *,
        use_reloader: bool | None = None,
        access_log: bool = True,
    ) -> None:
        """Serve the app with hypercorn's trio worker until Ctrl-C (for development).

        For production and for several workers, use ``trioframe run`` (or hypercorn itself
        with ``--worker-class trio``).

        Args:
            host: The address to listen on.
            port: The port to listen on.
            debug: Turn on ``DEBUG`` and debug logging.
            use_reloader: Serve from a worker process that restarts when a source file
                changes; on by default with ``debug``. The worker imports the app afresh
                from its module, so the app must be a module-level name in a file.
            access_log: Log each request to standard output.

        Raises:
            RuntimeError: ``use_reloader`` for an app that is not a name in a module file.
        """
        if debug:
            self.debug = True
        reload = debug if use_reloader is None else use_reloader
        config = hypercorn_config(self, host=host, port=port, reload=reload, access_log=access_log)
        if not reload:
            serve_forever(self, config)
            return
        from ._workers import run_workers

        status = run_workers(
            config, app_path_of(self), workers=1, reload=True, settings={"DEBUG": self.debug}
        )
        if status:
            sys.exit(status)

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

    def test_cli_runner(self, **kwargs: Any) -> TestCliRunner:
        """A click test runner for the app's custom commands:
        ``app.test_cli_runner().invoke(args=["create-user", "ada"])``. See
        `trioframe.testing.TestCliRunner`."""
        from .testing import TestCliRunner

        return TestCliRunner(self, **kwargs)

    def test_client(self, **kwargs: Any) -> TestClient:
        """A client that calls this app in the test's own Trio run; see `TestClient`,
        which takes ``kwargs`` (``use_cookies``, ``timeout``)."""
        from .testing import TestClient

        client_class = self.test_client_class or TestClient
        return client_class(self, **kwargs)
