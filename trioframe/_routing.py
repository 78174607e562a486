"""URL rules, matching and building, on werkzeug's routing; plain synchronous code.

werkzeug does the real work (rule parsing, converters, the trailing-slash redirect, URL
building); this module adds automatic ``OPTIONS`` and turns werkzeug's routing errors into
trioframe's `HTTPException` and `BuildError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import werkzeug.exceptions
import werkzeug.routing

from ._context import current_app
from ._exceptions import BadRequest, BuildError, HTTPException, UpgradeRequired, from_werkzeug

if TYPE_CHECKING:
    from collections.abc import Iterable

    from werkzeug.routing import MapAdapter
    from werkzeug.routing.exceptions import NoMatch

#: Characters left as they are in a URL fragment built by ``url_for(_anchor=...)``.
_ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"


class Rule(werkzeug.routing.Rule):
    """A werkzeug rule that also records whether trioframe answers ``OPTIONS`` for it."""

    def __init__(self, string: str, *, provide_automatic_options: bool = False, **kwargs: Any):
        super().__init__(string, **kwargs)
        self.provide_automatic_options = provide_automatic_options

    def get_empty_kwargs(self) -> dict[str, Any]:
        kwargs = dict(super().get_empty_kwargs())
        kwargs["provide_automatic_options"] = self.provide_automatic_options
        return kwargs


def make_rule(
    rule: str,
    endpoint: str,
    methods: Iterable[str] | None,
    *,
    provide_automatic_options: bool | None = None,
    required_methods: Iterable[str] = (),
    rule_class: type[Rule] = Rule,
    **options: Any,
) -> Rule:
    """Build a rule; ``GET`` when no methods are given, ``OPTIONS`` added unless handled,
    and ``required_methods`` always (as Flask reads them off a view function).

    Raises:
        TypeError: ``methods`` is a single string rather than a list of them.
    """
    if isinstance(methods, str):
        raise TypeError(
            f"methods={methods!r} is a string; pass a list of method names, for example "
            "methods=['GET', 'POST']"
        )
    method_set = {method.upper() for method in methods} if methods is not None else {"GET"}
    method_set |= {method.upper() for method in required_methods}
    if provide_automatic_options is None:
        provide_automatic_options = "OPTIONS" not in method_set
    if provide_automatic_options:
        method_set.add("OPTIONS")
    return rule_class(
        rule,
        endpoint=endpoint,
        methods=method_set,
        provide_automatic_options=provide_automatic_options,
        **options,
    )


def match(adapter: MapAdapter, method: str) -> tuple[Rule, dict[str, Any]]:
    """Find the rule for the adapter's path and ``method``.

    Raises:
        NotFound: no rule matches the path.
        MethodNotAllowed: rules match the path but not the method.
        UpgradeRequired: the URL serves websockets and this is a plain HTTP request.
        BadRequest: this is a websocket and the URL serves plain HTTP only.
        RequestRedirect: the URL should be requested elsewhere (the trailing slash).
    """
    try:
        rule, args = adapter.match(method=method, return_rule=True)
    except werkzeug.exceptions.HTTPException as error:
        raise routing_error(error, websocket=adapter.websocket) from None
    assert isinstance(rule, Rule)  # the app only ever adds trioframe rules
    return rule, dict(args)


def no_match_error(no_match: NoMatch, *, websocket: bool) -> HTTPException:
    """What `match` raises for the path no rule takes, as werkzeug's adapter decides it."""
    error: werkzeug.exceptions.HTTPException
    if no_match.have_match_for:
        error = werkzeug.exceptions.MethodNotAllowed(valid_methods=list(no_match.have_match_for))
    elif no_match.websocket_mismatch:
        error = werkzeug.routing.WebsocketMismatch()
    else:
        error = werkzeug.exceptions.NotFound()
    return routing_error(error, websocket=websocket)


def routing_error(error: werkzeug.exceptions.HTTPException, *, websocket: bool) -> HTTPException:
    """werkzeug's routing error as trioframe's, for a websocket or a plain request."""
    if isinstance(error, werkzeug.routing.WebsocketMismatch):
        if websocket:
            return BadRequest("This URL does not accept websocket connections.")
        return UpgradeRequired(
            "This URL serves websockets only; connect with a websocket client.",
            headers={"Upgrade": "websocket", "Connection": "Upgrade"},
        )
    return from_werkzeug(error)


def build(
    adapter: MapAdapter,
    endpoint: str,
    values: dict[str, Any],
    *,
    method: str | None,
    scheme: str | None,
    external: bool,
    anchor: str | None,
) -> str:
    """Build the URL for ``endpoint``; values no rule variable takes go in the query string.

    Raises:
        BuildError: no rule for the endpoint accepts these values.
    """
    try:
        url = adapter.build(
            endpoint, values, method=method, url_scheme=scheme, force_external=external
        )
    except werkzeug.routing.BuildError as error:
        # werkzeug's message names the endpoint and suggests the likely fix.
        raise BuildError(str(error), endpoint=endpoint, values=values) from None
    if anchor is not None:
        url = f"{url}#{quote(anchor, safe=_ANCHOR_SAFE)}"
    return url


def url_for(
    endpoint: str,
    *,
    _anchor: str | None = None,
    _method: str | None = None,
    _scheme: str | None = None,
    _external: bool | None = None,
    **values: Any,
) -> str:
    """Build the URL of an endpoint, as ``url_for("user", id=3)`` → ``"/user/3"``.

    Values that are not rule variables are added to the query string. Inside a request the
    URL is relative to the request's host unless ``_external=True``; outside one (in an
    ``app.app_context()``) it is absolute and needs ``SERVER_NAME`` configured. Websocket
    endpoints always give an absolute ``ws://`` or ``wss://`` URL, ready for a browser's
    ``new WebSocket(url)``.

    Args:
        endpoint: The endpoint name (by default the view function's name).
        _anchor: A fragment to append after ``#``.
        _method: Pick the rule that accepts this method.
        _scheme: The scheme of an external URL (needs ``_external=True``).
        _external: Build an absolute URL with scheme and host.
        values: The rule variables, then extra query arguments.

    Raises:
        BuildError: no rule for the endpoint accepts these values.
        OutsideContextError: there is no active application context.
    """
    return current_app.url_for(
        endpoint,
        _anchor=_anchor,
        _method=_method,
        _scheme=_scheme,
        _external=_external,
        **values,
    )
