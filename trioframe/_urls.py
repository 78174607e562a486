"""The app's URLs: binding the URL map to a request, matching it, building URLs.

`URLs` is a base of `Trioframe`, as `Templating` is: the routing half of what an app does,
on werkzeug's map and adapters (see ``_routing`` for the rules themselves).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

from werkzeug.sansio.utils import host_is_trusted

from ._context import (
    current_request_context,
    current_websocket_context,
    has_request_context,
    has_websocket_context,
)
from ._exceptions import BadRequest, HTTPException, NotFound, OutsideContextError
from ._matcher import Matcher
from ._routing import build, match

if TYPE_CHECKING:
    from werkzeug.routing import Map, MapAdapter

    from ._config import Config
    from ._context import ConnectionContext
    from ._request import BaseRequestWebsocket
    from ._types import URLValuesCallable

#: The URL schemes werkzeug routes to websocket rules.
_WEBSOCKET_SCHEMES = frozenset({"ws", "wss"})


def _host_domain(host: str) -> str | None:
    """The host as werkzeug matches host rules (lower case, IDNA-encoded, with the port),
    or ``None`` for a name IDNA cannot encode (werkzeug's own binding answers that)."""
    name, separator, port = host.lower().partition(":")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return f"{name}{separator}{port}"


class URLs:
    """Routing and URL building for `Trioframe`."""

    # Provided by Trioframe.
    config: Config
    url_map: Map
    subdomain_matching: bool
    url_default_functions: dict[str | None, list[URLValuesCallable]]

    @overload
    def create_url_adapter(self, request: BaseRequestWebsocket) -> MapAdapter: ...
    @overload
    def create_url_adapter(self, request: None) -> MapAdapter | None: ...
    def create_url_adapter(self, request: BaseRequestWebsocket | None) -> MapAdapter | None:
        """Bind the URL map to a request or websocket, or to ``SERVER_NAME`` without one.

        URLs built for a request use ``SERVER_NAME`` when it is set, and the request's
        ``Host`` header only otherwise.

        Raises:
            BadRequest: ``TRUSTED_HOSTS`` is set and the request's host is not among them.
            NotFound: subdomains are matched and the host is outside ``SERVER_NAME``.
        """
        if request is not None:
            return self.bind_url_map(request, self.url_binding(request))
        server_name = self.config["SERVER_NAME"]
        if server_name is None:
            return None
        return self.url_map.bind(
            server_name,
            script_name=self.config["APPLICATION_ROOT"],
            url_scheme=self.config["PREFERRED_URL_SCHEME"],
        )

    def url_binding(self, request: BaseRequestWebsocket) -> tuple[str, str | None]:
        """The server name and subdomain to route a request or websocket under, once its
        host is checked: the host itself when the map matches hosts; else ``SERVER_NAME``
        and, when matching subdomains, the part of the host before it (as Flask binds).

        Raises:
            BadRequest: the ``Host`` header is invalid, or ``TRUSTED_HOSTS`` is set and the
                request's host is not among them.
            NotFound: subdomains are matched and the host is outside ``SERVER_NAME`` (where
                werkzeug would let a ``<variable>`` subdomain match anything).
        """
        host = request.host
        if not host and request.headers.get("host"):
            # RFC 9112 3.2: an invalid Host header gets 400.
            raise BadRequest(
                f"The Host header {request.headers['host']!r} is not a valid host name "
                "with an optional port."
            )
        trusted_hosts = self.config["TRUSTED_HOSTS"]
        if trusted_hosts is not None and not host_is_trusted(
            host, [trusted.lower() for trusted in trusted_hosts]
        ):
            raise BadRequest(
                f"The host {host!r} is not one this app serves; "
                "TRUSTED_HOSTS lists the ones it does."
            )
        server_name: str | None = self.config["SERVER_NAME"]
        if self.url_map.host_matching:
            return host, None
        if not (self.subdomain_matching and server_name):
            return server_name or host, self.url_map.default_subdomain or ""
        server_name = server_name.lower()
        if host == server_name:
            return server_name, ""
        if host.endswith(f".{server_name}"):
            return server_name, host[: -len(server_name) - 1]
        raise NotFound(f"This app serves {server_name} and its subdomains, not {host}.")

    def bind_url_map(
        self, request: BaseRequestWebsocket, binding: tuple[str, str | None]
    ) -> MapAdapter:
        """The URL map bound to a request or websocket under ``binding`` (`url_binding`)."""
        server_name, subdomain = binding
        return self.url_map.bind(
            server_name,
            subdomain=subdomain,
            script_name=request.root_path or "/",
            url_scheme=request.scheme,
            default_method=request.method,
            path_info=request.path,
            query_args=request.query_string.decode("latin-1"),
        )

    def match_request(self, ctx: ConnectionContext) -> None:
        """Route the request or websocket of ``ctx``: set its ``url_rule`` and
        ``view_args``, or its ``routing_exception``.

        A plain hit is found by trioframe's `Matcher` on werkzeug's rules; anything else
        (404, 405, redirects) is werkzeug's answer, from ``ctx.url_adapter``.
        """
        connection = ctx.connection
        matcher = self.url_map._matcher
        binding = ctx.url_binding
        if isinstance(matcher, Matcher) and binding is not None:
            server_name, subdomain = binding
            domain = subdomain if subdomain is not None else _host_domain(server_name)
            hit = None
            if domain is not None:
                hit = matcher.match_hit(
                    domain,
                    connection.path,
                    connection.method,
                    connection.scheme in _WEBSOCKET_SCHEMES,
                )
            if hit is not None:
                connection.url_rule, connection.view_args = hit
                return
        adapter = ctx.url_adapter
        # Only a connection whose host passed the checks is routed, and it has one.
        assert adapter is not None
        try:
            connection.url_rule, connection.view_args = match(adapter, connection.method)
        except HTTPException as error:
            connection.routing_exception = error

    def inject_url_defaults(self, endpoint: str, values: dict[str, Any]) -> None:
        """Let the ``url_defaults`` functions fill in ``values`` for ``endpoint``: the app's,
        then those of each blueprint the endpoint is in, outermost first."""
        owners: list[str | None] = [None]
        name, _, _ = endpoint.rpartition(".")
        while name:
            owners.insert(1, name)
            name = name.rpartition(".")[0]
        for owner in owners:
            for func in self.url_default_functions.get(owner, ()):
                func(endpoint, values)

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
        blueprint: str | None = None
        if has_request_context() or has_websocket_context():
            context = (
                current_request_context() if has_request_context() else current_websocket_context()
            )
            # No adapter means the host is not trusted: only SERVER_NAME can be used then.
            adapter = context.url_adapter or self.create_url_adapter(None)
            blueprint = context.connection.blueprint
            if _external is None:
                _external = _scheme is not None
        else:
            adapter = self.create_url_adapter(None)
            if _external is None:
                _external = True
        if adapter is None:
            raise OutsideContextError(
                "url_for() needs a request with a trusted host to build URLs from, or "
                "SERVER_NAME configured; call it inside a view, or set app.config['SERVER_NAME']"
            )
        if _scheme is not None and not _external:
            raise ValueError("url_for(_scheme=...) needs _external=True")
        if endpoint.startswith("."):
            # Relative to the blueprint handling the request: ".index" is "<blueprint>.index".
            endpoint = f"{blueprint}{endpoint}" if blueprint is not None else endpoint[1:]
        self.inject_url_defaults(endpoint, values)
        return build(
            adapter,
            endpoint,
            values,
            method=_method,
            scheme=_scheme,
            external=_external,
            anchor=_anchor,
        )
