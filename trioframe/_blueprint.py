"""``Blueprint``: a group of routes, websockets, hooks and error handlers to register on an app.

A blueprint records what is registered on it; ``app.register_blueprint(bp)`` replays that
onto the app. Its endpoints are named ``"<blueprint>.<function>"`` (``"parent.child.view"``
when nested), and its hooks and error handlers are stored on the app under the blueprint's
name, so they apply only to its own requests: the dispatcher looks them up by the
blueprints named in the matched endpoint, innermost first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._commands import AppGroup
from ._exceptions import SetupError
from ._scaffold import (
    Scaffold,
    T_after,
    T_after_websocket,
    T_before,
    T_context_processor,
    T_error,
    T_serving,
    T_teardown,
    T_template_callable,
    T_url_values,
    T_while_serving,
)
from ._setup import check_plain, check_while_serving, error_handler_key, setupmethod

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable

    from ._app import Trioframe
    from ._types import ViewCallable


def join_prefixes(outer: str | None, inner: str | None) -> str | None:
    """Join two URL prefixes with exactly one slash between them."""
    if outer is None or inner is None:
        return inner if outer is None else outer
    return f"{outer.rstrip('/')}/{inner.lstrip('/')}"


class BlueprintSetupState:
    """One registration of a blueprint on an app: its name, prefix and options."""

    def __init__(
        self,
        blueprint: Blueprint,
        app: Trioframe,
        options: dict[str, Any],
        first_registration: bool,
    ) -> None:
        self.blueprint = blueprint
        self.app = app
        self.options = options
        #: Whether this is the blueprint's first registration on any app.
        self.first_registration = first_registration
        #: The full, dotted name: ``"parent.child"`` for a nested blueprint.
        self.name = join_names(options.get("name_prefix", ""), options.get("name", blueprint.name))
        #: The prefix given at registration; ``None`` (or none given) means the blueprint's
        #: own, as in Flask.
        self.url_prefix: str | None = _given_or_own(options, "url_prefix", blueprint.url_prefix)
        #: The subdomain its rules answer on (with ``subdomain_matching``); ``None`` for the
        #: app's default.
        self.subdomain: str | None = _given_or_own(options, "subdomain", blueprint.subdomain)
        self.url_defaults = {**blueprint.url_values_defaults, **options.get("url_defaults", {})}

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: ViewCallable | None = None,
        **options: Any,
    ) -> None:
        """Add a rule to the app under this registration's prefix and name."""
        if self.url_prefix is not None:
            rule = f"{self.url_prefix.rstrip('/')}/{rule.lstrip('/')}" if rule else self.url_prefix
        if endpoint is None:
            assert view_func is not None  # Blueprint.add_url_rule checked
            endpoint = view_func.__name__
        defaults = self.url_defaults
        if "defaults" in options:
            defaults = {**defaults, **options.pop("defaults")}
        if self.subdomain is not None:
            options.setdefault("subdomain", self.subdomain)
        self.app.add_url_rule(
            rule,
            f"{self.name}.{endpoint}",
            view_func,
            defaults=defaults or None,
            **options,
        )


def _given_or_own(options: dict[str, Any], key: str, own: str | None) -> str | None:
    """A registration option, falling back to the blueprint's own value when not given or
    given as ``None`` (Flask and Quart read ``None`` so)."""
    given: str | None = options.get(key)
    return own if given is None else given


def join_names(prefix: str, name: str) -> str:
    """The dotted name of a blueprint registered inside ``prefix``."""
    return f"{prefix}.{name}" if prefix else name


#: ``cli_group`` not given: the blueprint's own name.
_OWN_NAME: Any = object()


class Blueprint(Scaffold):
    """A group of views, websockets, hooks and error handlers, registered on an app later.

    Everything the app offers for registration works on a blueprint too (``route``,
    ``websocket``, ``before_request``, ``errorhandler``, ...) and applies to the blueprint's
    own endpoints only; the ``*_app_*`` forms (``before_app_request``, ``app_errorhandler``,
    ...) register on the whole app. Register with ``app.register_blueprint(bp)``; blueprints
    nest with ``bp.register_blueprint(child)``.

    Args:
        name: The blueprint's name, the prefix of its endpoints (``url_for("bp.view")``).
        import_name: The module it is defined in, normally ``__name__``.
        static_folder: A folder of static files, served under the blueprint's URL prefix
            at ``static_url_path`` (endpoint ``"<blueprint>.static"``).
        static_url_path: The URL path of those files; by default the folder's name.
        template_folder: A folder of templates, searched after the app's own.
        url_prefix: A path put before every rule of the blueprint.
        url_defaults: Default values for the view arguments of every rule.
        cli_group: The command group ``bp.cli``'s commands join the app's under; the
            blueprint's name by default, ``None`` for among the app's own.
        subdomain: The subdomain of ``SERVER_NAME`` the blueprint's rules answer on (the
            app needs ``subdomain_matching=True``); nested blueprints' subdomains stack:
            ``"v1"`` inside ``"api"`` is ``"v1.api"``.
        root_path: The folder the other folders are relative to; by default the module's.

    Raises:
        ValueError: ``name`` is empty or contains a dot.
    """

    def __init__(
        self,
        name: str,
        import_name: str,
        *,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        url_prefix: str | None = None,
        url_defaults: dict[str, Any] | None = None,
        root_path: str | None = None,
        cli_group: str | None = _OWN_NAME,
        subdomain: str | None = None,
    ) -> None:
        super().__init__(
            import_name,
            root_path,
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
        )
        if not name:
            raise ValueError("A blueprint needs a name: Blueprint('admin', __name__)")
        if "." in name:
            raise ValueError(
                f"The blueprint name {name!r} contains a dot; dots separate nested blueprint "
                "names in endpoints, so use another character"
            )
        self.name = name
        self.url_prefix = url_prefix
        self.subdomain = subdomain
        self.url_values_defaults: dict[str, Any] = dict(url_defaults or {})
        self.deferred_functions: list[Callable[[BlueprintSetupState], None]] = []
        self._blueprints: list[tuple[Blueprint, dict[str, Any]]] = []
        self._registered = False
        #: Custom commands: ``@bp.cli.command()``. They join the app's under ``cli_group``
        #: (the blueprint's name by default; ``None`` puts them among the app's own).
        self.cli = AppGroup(name if cli_group is _OWN_NAME else cli_group)
        self.cli_group = name if cli_group is _OWN_NAME else cli_group

    def __repr__(self) -> str:
        return f"<Blueprint {self.name!r}>"

    def _check_setup_finished(self, method: str) -> None:
        if self._registered:
            raise SetupError(
                f"{method}() was called on the blueprint {self.name!r} after it was "
                "registered on an app; finish setting up a blueprint before registering it"
            )

    @setupmethod
    def record(self, func: Callable[[BlueprintSetupState], None]) -> None:
        """Call ``func(state)`` each time the blueprint is registered on an app."""
        self.deferred_functions.append(func)

    def record_once(self, func: Callable[[BlueprintSetupState], None]) -> None:
        """Call ``func(state)`` at the blueprint's first registration only."""

        def once(state: BlueprintSetupState) -> None:
            if state.first_registration:
                func(state)

        self.record(once)

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
        """Record a URL rule; it is added to the app, prefixed, when the blueprint is
        registered.

        Raises:
            ValueError: the endpoint (or the view's name) contains a dot.
            TypeError: neither an endpoint nor a view function is given.
            SetupError: the blueprint is already registered.
        """
        if endpoint is None and view_func is None:
            raise TypeError("add_url_rule() needs an endpoint name or a view function")
        name = endpoint if endpoint is not None else getattr(view_func, "__name__", "")
        if "." in name:
            raise ValueError(
                f"The endpoint {name!r} contains a dot; within a blueprint, dots are reserved "
                "for the blueprint's name"
            )
        self.record(
            lambda state: state.add_url_rule(
                rule,
                endpoint,
                view_func,
                methods=methods,
                provide_automatic_options=provide_automatic_options,
                **options,
            )
        )

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: Any) -> None:
        """Nest ``blueprint`` in this one; it is registered on the app along with this one.

        Its endpoints become ``"<this>.<nested>.<view>"`` and its URL prefix follows this
        one's. Takes the options of `Trioframe.register_blueprint`.

        Raises:
            ValueError: ``blueprint`` is this blueprint.
        """
        if blueprint is self:
            raise ValueError("A blueprint cannot be registered on itself")
        self._blueprints.append((blueprint, options))

    def register(self, app: Trioframe, options: dict[str, Any]) -> None:
        """Add everything recorded on the blueprint to ``app``; called by
        ``app.register_blueprint``.

        Raises:
            SetupError: the name is already taken on the app.
        """
        first_registration = not self._registered
        state = BlueprintSetupState(self, app, options, first_registration)
        existing = app.blueprints.get(state.name)
        if existing is not None:
            again = "this blueprint" if existing is self else f"another blueprint, {existing!r}"
            raise SetupError(
                f"The blueprint name {state.name!r} is already registered on the app by "
                f"{again}; to register a blueprint twice, give it another name with "
                "register_blueprint(bp, name='...')"
            )
        app.blueprints[state.name] = self
        self._registered = True
        self._merge_into(app, state.name)
        self._add_commands(app, options.get("cli_group", self.cli_group))
        if self.has_static_folder:
            state.add_url_rule(
                f"{self.static_url_path}/<path:filename>", "static", self.send_static_file
            )
        for deferred in self.deferred_functions:
            deferred(state)
        for child, child_options in self._blueprints:
            nested = dict(child_options)
            nested["url_prefix"] = join_prefixes(
                state.url_prefix, _given_or_own(child_options, "url_prefix", child.url_prefix)
            )
            nested["name_prefix"] = state.name
            inner = _given_or_own(child_options, "subdomain", child.subdomain)
            if inner is not None and state.subdomain is not None:
                nested["subdomain"] = f"{inner}.{state.subdomain}"  # nested: "api.v1" ...
            else:
                nested["subdomain"] = inner if inner is not None else state.subdomain
            child.register(app, nested)

    def _add_commands(self, app: Trioframe, cli_group: str | None) -> None:
        """Add the blueprint's commands to ``app.cli``, in their group or among its own."""
        if not self.cli.commands:
            return
        if cli_group is None:
            app.cli.commands.update(self.cli.commands)
        else:
            group = AppGroup(cli_group, commands=self.cli.commands)
            app.cli.add_command(group)

    def _merge_into(self, app: Trioframe, name: str) -> None:
        """Put this blueprint's hooks and error handlers on the app under ``name``."""
        hook_registries = (
            (self.before_request_funcs, app.before_request_funcs),
            (self.after_request_funcs, app.after_request_funcs),
            (self.teardown_request_funcs, app.teardown_request_funcs),
            (self.before_websocket_funcs, app.before_websocket_funcs),
            (self.after_websocket_funcs, app.after_websocket_funcs),
            (self.teardown_websocket_funcs, app.teardown_websocket_funcs),
            (self.template_context_processors, app.template_context_processors),
            (self.url_value_preprocessors, app.url_value_preprocessors),
            (self.url_default_functions, app.url_default_functions),
        )
        for own, target in hook_registries:
            funcs: list[Any] = own.get(None, [])
            if funcs:
                target[name].extend(funcs)
        for code, handlers in self.error_handler_spec.get(None, {}).items():
            app.error_handler_spec[name][code].update(handlers)

    # What a blueprint registers on the whole app ----------------------------------------

    def _on_app(self, register: Callable[[Trioframe], object]) -> None:
        def setup(state: BlueprintSetupState) -> None:
            register(state.app)

        self.record_once(setup)

    @setupmethod
    def before_app_request(self, func: T_before) -> T_before:
        """``app.before_request(func)``, for every request of the app."""
        self._on_app(lambda app: app.before_request_funcs[None].append(func))
        return func

    @setupmethod
    def after_app_request(self, func: T_after) -> T_after:
        """``app.after_request(func)``, for every response of the app."""
        self._on_app(lambda app: app.after_request_funcs[None].append(func))
        return func

    @setupmethod
    def teardown_app_request(self, func: T_teardown) -> T_teardown:
        """``app.teardown_request(func)``, for every request of the app."""
        self._on_app(lambda app: app.teardown_request_funcs[None].append(func))
        return func

    @setupmethod
    def before_app_websocket(self, func: T_before) -> T_before:
        """``app.before_websocket(func)``, for every websocket of the app."""
        self._on_app(lambda app: app.before_websocket_funcs[None].append(func))
        return func

    @setupmethod
    def after_app_websocket(self, func: T_after_websocket) -> T_after_websocket:
        """``app.after_websocket(func)``, for every websocket of the app."""
        self._on_app(lambda app: app.after_websocket_funcs[None].append(func))
        return func

    @setupmethod
    def teardown_app_websocket(self, func: T_teardown) -> T_teardown:
        """``app.teardown_websocket(func)``, for every websocket of the app."""
        self._on_app(lambda app: app.teardown_websocket_funcs[None].append(func))
        return func

    @setupmethod
    def app_context_processor(self, func: T_context_processor) -> T_context_processor:
        """``app.context_processor(func)``, for every template the app renders."""
        self._on_app(
            lambda app: app.template_context_processors[None].append(func),
        )
        return func

    @setupmethod
    def app_url_value_preprocessor(self, func: T_url_values) -> T_url_values:
        """``app.url_value_preprocessor(func)``, for every request of the app."""
        check_plain(func, "url_value_preprocessor")
        self._on_app(lambda app: app.url_value_preprocessors[None].append(func))
        return func

    @setupmethod
    def app_url_defaults(self, func: T_url_values) -> T_url_values:
        """``app.url_defaults(func)``, for every URL the app builds."""
        check_plain(func, "url_defaults")
        self._on_app(lambda app: app.url_default_functions[None].append(func))
        return func

    @setupmethod
    def app_template_filter(
        self, name: str | None = None
    ) -> Callable[[T_template_callable], T_template_callable]:
        """``app.template_filter(name)``: a Jinja filter for every template of the app."""
        return self._on_app_decorator(lambda app, func: app.add_template_filter(func, name))

    @setupmethod
    def app_template_test(
        self, name: str | None = None
    ) -> Callable[[T_template_callable], T_template_callable]:
        """``app.template_test(name)``: a Jinja test for every template of the app."""
        return self._on_app_decorator(lambda app, func: app.add_template_test(func, name))

    @setupmethod
    def app_template_global(
        self, name: str | None = None
    ) -> Callable[[T_template_callable], T_template_callable]:
        """``app.template_global(name)``: a Jinja global for every template of the app."""
        return self._on_app_decorator(lambda app, func: app.add_template_global(func, name))

    def _on_app_decorator(
        self, register: Callable[[Trioframe, Callable[..., Any]], object]
    ) -> Callable[[T_template_callable], T_template_callable]:
        def decorator(func: T_template_callable) -> T_template_callable:
            self._on_app(lambda app: register(app, func))
            return func

        return decorator

    @setupmethod
    def before_app_serving(self, func: T_serving) -> T_serving:
        """``app.before_serving(func)``: run at the app's startup."""
        self._on_app(lambda app: app.before_serving(func))
        return func

    @setupmethod
    def after_app_serving(self, func: T_serving) -> T_serving:
        """``app.after_serving(func)``: run at the app's shutdown."""
        self._on_app(lambda app: app.after_serving(func))
        return func

    @setupmethod
    def while_app_serving(self, func: T_while_serving) -> T_while_serving:
        """``app.while_serving(func)``: an async generator around the app's serving life.

        Raises:
            SetupError: ``func`` is not an async generator function.
        """
        check_while_serving(func)
        self._on_app(lambda app: app.while_serving(func))
        return func

    @setupmethod
    def app_errorhandler(
        self, code_or_exception: type[BaseException] | int
    ) -> Callable[[T_error], T_error]:
        """``app.errorhandler(code_or_exception)``, for errors anywhere in the app.

        Raises:
            SetupError: the key is not an error code or an ``Exception`` subclass.
        """
        error_handler_key(code_or_exception)  # refuse a bad key now, not at registration

        def decorator(func: T_error) -> T_error:
            self._on_app(
                lambda app: app.register_error_handler(code_or_exception, func),
            )
            return func

        return decorator
