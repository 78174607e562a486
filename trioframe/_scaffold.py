"""Registration shared by the application and blueprints: routes, hooks, error handlers.

Hooks and error handlers are stored per owner: ``None`` holds the application's own, and
each blueprint's are kept beside them under its full name, as Flask does.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
from collections import defaultdict
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import jinja2

from ._context import current_app
from ._exceptions import HTTPException, SetupError
from ._files import send_from_directory
from ._setup import check_plain, error_handler_key, setupmethod
from ._types import (
    AfterRequestCallable,
    AfterWebsocketCallable,
    BeforeRequestCallable,
    ErrorHandlerCallable,
    ServingCallable,
    TeardownCallable,
    TemplateContextProcessor,
    URLValuesCallable,
    ViewCallable,
    WebsocketHandlerCallable,
    WhileServingCallable,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ._response import Response

T_route = TypeVar("T_route", bound=ViewCallable)
T_websocket = TypeVar("T_websocket", bound=WebsocketHandlerCallable)
T_after_websocket = TypeVar("T_after_websocket", bound=AfterWebsocketCallable)
T_before = TypeVar("T_before", bound=BeforeRequestCallable)
T_after = TypeVar("T_after", bound=AfterRequestCallable)
T_teardown = TypeVar("T_teardown", bound=TeardownCallable)
T_error = TypeVar("T_error", bound=ErrorHandlerCallable)
T_serving = TypeVar("T_serving", bound=ServingCallable)
T_while_serving = TypeVar("T_while_serving", bound=WhileServingCallable)
T_context_processor = TypeVar("T_context_processor", bound=TemplateContextProcessor)
T_url_values = TypeVar("T_url_values", bound=URLValuesCallable)
T_template_callable = TypeVar("T_template_callable", bound="Callable[..., Any]")

#: ``{owner (a blueprint's name, or None for the app): {code or None: {exception class: handler}}}``
ErrorHandlerSpec = dict[str | None, dict[int | None, dict[type[Exception], ErrorHandlerCallable]]]


def get_root_path(import_name: str) -> str:
    """The folder of the module or package ``import_name``, or the working directory."""
    module = sys.modules.get(import_name)
    filename: str | None = getattr(module, "__file__", None)
    if filename is None and import_name != "__main__":
        try:
            spec = importlib.util.find_spec(import_name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.has_location:
            filename = spec.origin
    if filename is None:
        return os.getcwd()
    return os.path.dirname(os.path.abspath(filename))


class Scaffold:
    """What the application and blueprints have in common: registering views and hooks.

    Args:
        import_name: The name of the module the app or blueprint is defined in
            (``__name__``); it locates ``root_path``.
        root_path: The folder relative files are found in; derived from ``import_name``.
        static_folder: The folder of static files, relative to ``root_path``; ``None``
            serves none.
        static_url_path: The URL path static files are served under; by default ``/``
            and the folder's name.
        template_folder: The folder of templates, relative to ``root_path``.
    """

    def __init__(
        self,
        import_name: str,
        root_path: str | None = None,
        *,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
    ) -> None:
        self.import_name = import_name
        self.root_path = root_path if root_path is not None else get_root_path(import_name)
        self._static_folder = os.fspath(static_folder) if static_folder is not None else None
        self._static_url_path = static_url_path
        #: The template folder, relative to ``root_path``; ``None`` for none.
        self.template_folder = os.fspath(template_folder) if template_folder is not None else None
        #: Endpoint name -> view function.
        self.view_functions: dict[str, ViewCallable] = {}
        self.before_request_funcs: dict[str | None, list[BeforeRequestCallable]] = defaultdict(list)
        self.after_request_funcs: dict[str | None, list[AfterRequestCallable]] = defaultdict(list)
        self.teardown_request_funcs: dict[str | None, list[TeardownCallable]] = defaultdict(list)
        self.before_websocket_funcs: dict[str | None, list[BeforeRequestCallable]] = defaultdict(
            list
        )
        self.after_websocket_funcs: dict[str | None, list[AfterWebsocketCallable]] = defaultdict(
            list
        )
        self.teardown_websocket_funcs: dict[str | None, list[TeardownCallable]] = defaultdict(list)
        self.error_handler_spec: ErrorHandlerSpec = defaultdict(lambda: defaultdict(dict))
        #: ``url_value_preprocessor`` functions, per owner.
        self.url_value_preprocessors: dict[str | None, list[URLValuesCallable]] = defaultdict(list)
        #: ``url_defaults`` functions, per owner.
        self.url_default_functions: dict[str | None, list[URLValuesCallable]] = defaultdict(list)
        self.template_context_processors: dict[str | None, list[TemplateContextProcessor]] = (
            defaultdict(list)
        )

    @property
    def static_folder(self) -> str | None:
        """The absolute path of the static folder, or ``None``."""
        if self._static_folder is None:
            return None
        return os.path.join(self.root_path, self._static_folder)

    @property
    def has_static_folder(self) -> bool:
        """Whether static files are served."""
        return self._static_folder is not None

    @property
    def static_url_path(self) -> str | None:
        """The URL path static files are served under, such as ``"/static"``."""
        if self._static_url_path is not None:
            return self._static_url_path.rstrip("/")
        if self._static_folder is None:
            return None
        return f"/{os.path.basename(os.path.normpath(self._static_folder))}"

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """How long clients may cache a static file without asking: by default
        ``SEND_FILE_MAX_AGE_DEFAULT``. Override it to vary by file."""
        value = current_app.config["SEND_FILE_MAX_AGE_DEFAULT"]
        if value is None:
            return None
        return int(value.total_seconds()) if isinstance(value, timedelta) else int(value)

    async def send_static_file(self, filename: str) -> Response:
        """The view of the ``static`` endpoint: send ``filename`` from the static folder.

        Raises:
            NotFound: there is no such file in the folder.
            RuntimeError: there is no static folder.
        """
        if self.static_folder is None:
            raise RuntimeError(f"{self.import_name!r} has no static folder to send files from")
        return await send_from_directory(
            self.static_folder, filename, max_age=self.get_send_file_max_age(filename)
        )

    @cached_property
    def jinja_loader(self) -> jinja2.BaseLoader | None:
        """A loader for the template folder, or ``None`` without one."""
        if self.template_folder is None:
            return None
        return jinja2.FileSystemLoader(os.path.join(self.root_path, self.template_folder))

    @setupmethod
    def context_processor(self, func: T_context_processor) -> T_context_processor:
        """Register a function whose returned ``dict`` is added to every template's context.

        On a blueprint it applies to templates rendered for the blueprint's requests.
        """
        self.template_context_processors[None].append(func)
        return func

    @setupmethod
    def url_value_preprocessor(self, func: T_url_values) -> T_url_values:
        """Register ``func(endpoint, values)``, called after routing and before the
        ``before_request`` (and ``before_websocket``) functions with the request's endpoint
        and URL values, which it may change: pop a value every view of a blueprint shares
        and put it on ``g``, say. The app's run first, then each blueprint's, outermost
        first. On a blueprint it applies to the blueprint's requests.

        Raises:
            SetupError: ``func`` is an ``async def`` function; it runs as part of routing,
                so it must be a plain function.
        """
        check_plain(func, "url_value_preprocessor")
        self.url_value_preprocessors[None].append(func)
        return func

    @setupmethod
    def url_defaults(self, func: T_url_values) -> T_url_values:
        """Register ``func(endpoint, values)``, called by ``url_for`` before it builds a URL,
        to fill in ``values`` (the twin of `url_value_preprocessor`). On a blueprint it
        applies to the blueprint's endpoints.

        Raises:
            SetupError: ``func`` is an ``async def`` function; ``url_for`` is synchronous.
        """
        check_plain(func, "url_defaults")
        self.url_default_functions[None].append(func)
        return func

    def _check_setup_finished(self, method: str) -> None:
        """Raise `SetupError` if it is too late to call ``method``; subclasses decide."""

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
        """Connect a URL rule to a view function; see `route`."""
        raise NotImplementedError

    def route(
        self,
        rule: str,
        *,
        methods: Iterable[str] | None = None,
        endpoint: str | None = None,
        **options: Any,
    ) -> Callable[[T_route], T_route]:
        """Register the decorated function as the view for a URL rule.

        ``async def`` views run in the request's task; plain ``def`` views run in a worker
        thread. URL variables (``/user/<int:id>``) become keyword arguments.

        Args:
            rule: The URL rule, with werkzeug's converters (``int``, ``float``, ``path``,
                ``uuid``, ``any``, ``string`` and those in ``url_map.converters``).
            methods: The HTTP methods served; ``["GET"]`` by default. ``HEAD`` follows
                ``GET`` and ``OPTIONS`` is answered automatically.
            endpoint: The name for ``url_for``; the function's name by default.
            options: Passed to werkzeug's ``Rule`` (``defaults``, ``strict_slashes``, ...).

        Raises:
            SetupError: the endpoint is taken by another function, or the app is serving.
        """

        def decorator(func: T_route) -> T_route:
            self.add_url_rule(rule, endpoint, func, methods=methods, **options)
            return func

        return decorator

    def _method_route(
        self, method: str, rule: str, options: dict[str, Any]
    ) -> Callable[[T_route], T_route]:
        if "methods" in options:
            raise TypeError(f"@{method.lower()}() takes no 'methods'; use @route() for that")
        return self.route(rule, methods=[method], **options)

    def get(self, rule: str, **options: Any) -> Callable[[T_route], T_route]:
        """``route(rule, methods=["GET"], ...)``."""
        return self._method_route("GET", rule, options)

    def post(self, rule: str, **options: Any) -> Callable[[T_route], T_route]:
        """``route(rule, methods=["POST"], ...)``."""
        return self._method_route("POST", rule, options)

    def put(self, rule: str, **options: Any) -> Callable[[T_route], T_route]:
        """``route(rule, methods=["PUT"], ...)``."""
        return self._method_route("PUT", rule, options)

    def patch(self, rule: str, **options: Any) -> Callable[[T_route], T_route]:
        """``route(rule, methods=["PATCH"], ...)``."""
        return self._method_route("PATCH", rule, options)

    def delete(self, rule: str, **options: Any) -> Callable[[T_route], T_route]:
        """``route(rule, methods=["DELETE"], ...)``."""
        return self._method_route("DELETE", rule, options)

    def websocket(
        self, rule: str, *, endpoint: str | None = None, **options: Any
    ) -> Callable[[T_websocket], T_websocket]:
        """Register the decorated ``async def`` function as the handler for a websocket URL.

        The handler runs in a nursery trioframe owns for the connection: when the client
        leaves, it and every task it started are cancelled. Returning (or raising
        ``abort``) before accepting refuses the connection with that HTTP response;
        returning after accepting closes it with 1000. URL variables become keyword
        arguments, as for `route`.

        Raises:
            SetupError: the handler is not a coroutine function, or the endpoint is taken.
        """

        def decorator(func: T_websocket) -> T_websocket:
            self.add_websocket(rule, endpoint, func, **options)
            return func

        return decorator

    def add_websocket(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: WebsocketHandlerCallable | None = None,
        **options: Any,
    ) -> None:
        """Connect a websocket URL rule to a handler; the non-decorator form of `websocket`.

        Raises:
            SetupError: the handler is not a coroutine function, or the endpoint is taken.
        """
        if view_func is not None and not inspect.iscoroutinefunction(view_func):
            raise SetupError(
                f"The websocket handler {view_func.__qualname__} must be an 'async def' "
                "function: the websocket is used with await"
            )
        self.add_url_rule(
            rule,
            endpoint,
            view_func,
            methods=["GET"],
            provide_automatic_options=False,
            websocket=True,
            **options,
        )

    @setupmethod
    def before_websocket(self, func: T_before) -> T_before:
        """Run ``func()`` before each websocket handler, in registration order.

        If it returns anything but ``None``, the connection is refused with that response
        and the handler is skipped.
        """
        self.before_websocket_funcs[None].append(func)
        return func

    @setupmethod
    def after_websocket(self, func: T_after_websocket) -> T_after_websocket:
        """Run ``func(response)`` when a websocket handler returns; it returns the response.

        ``response`` is the refusal the handler returned, or ``None`` for a connection that
        was accepted. Runs in reverse registration order, only when the handler returned:
        use `teardown_websocket` for work that must happen however the connection ended.
        """
        self.after_websocket_funcs[None].append(func)
        return func

    @setupmethod
    def teardown_websocket(self, func: T_teardown) -> T_teardown:
        """Run ``func(error)`` when a websocket connection ends, however it ended.

        ``error`` is the handler's unhandled exception, or ``None`` (a disconnect or a
        cancellation is not an error). Runs shielded from cancellation for up to ten seconds;
        its own exceptions are logged and ignored.
        """
        self.teardown_websocket_funcs[None].append(func)
        return func

    @setupmethod
    def before_request(self, func: T_before) -> T_before:
        """Run ``func()`` before each view, in registration order.

        If it returns anything but ``None``, that value is the response and the view is
        skipped (``after_request`` functions still run).
        """
        self.before_request_funcs[None].append(func)
        return func

    @setupmethod
    def after_request(self, func: T_after) -> T_after:
        """Run ``func(response)`` after each view; it returns the response to send.

        Runs in reverse registration order for every response, error pages included (an
        error raised while producing the 500 page is logged and the plain page sent).
        """
        self.after_request_funcs[None].append(func)
        return func

    @setupmethod
    def teardown_request(self, func: T_teardown) -> T_teardown:
        """Run ``func(error)`` when the request ends, whatever happened.

        ``error`` is the unhandled exception, or ``None``. It runs after the response was
        sent, also when the client disconnected, shielded from cancellation for up to
        ten seconds. Its own exceptions are logged and ignored.
        """
        self.teardown_request_funcs[None].append(func)
        return func

    @setupmethod
    def errorhandler(
        self, code_or_exception: type[BaseException] | int
    ) -> Callable[[T_error], T_error]:
        """Register the decorated function to turn an error into a response.

        ``@app.errorhandler(404)`` handles that status; ``@app.errorhandler(ValueError)``
        handles that class and its subclasses; the most specific registration wins. The
        function receives the exception (`HTTPException` for status codes) and returns
        anything a view may return.

        Raises:
            SetupError: the key is not an error code or an ``Exception`` subclass.
        """

        def decorator(func: T_error) -> T_error:
            self.register_error_handler(code_or_exception, func)
            return func

        return decorator

    @setupmethod
    def register_error_handler(
        self, code_or_exception: type[BaseException] | int, func: ErrorHandlerCallable
    ) -> None:
        """The non-decorator form of `errorhandler`."""
        exception_class, code = error_handler_key(code_or_exception)
        self.error_handler_spec[None][code][exception_class] = func

    def find_error_handler(
        self, error: Exception, blueprint_chain: Iterable[str | None]
    ) -> ErrorHandlerCallable | None:
        """The handler registered for ``error`` by the owners in ``blueprint_chain``
        (innermost blueprint first, ``None`` for the app), or ``None``.

        Handlers for the error's status code come before handlers for HTTP errors in
        general; within each, the nearest class in the error's MRO wins.
        """
        code = error.code if isinstance(error, HTTPException) else None
        codes = (code, None) if code is not None else (None,)
        for wanted in codes:
            for owner in blueprint_chain:
                handlers = self.error_handler_spec.get(owner, {}).get(wanted)
                if not handlers:
                    continue
                for cls in type(error).__mro__:
                    handler = handlers.get(cls)
                    if handler is not None:
                        return handler
        return None
