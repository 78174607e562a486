"""The app's URLs: binding the URL map to a request, matching it, building URLs.

`URLs` is a base of `Trioframe`, as `Templating` is: the routing half of what an app does,
on werkzeug's map and adapters (see ``_routing`` for the rules themselves).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

from werkzeug.routing.exceptions import NoMatch
from werkzeug.sansio.utils import host_is_trusted

from ._context import (
    current_request_context,
    current_websocket_context,
    has_request_context,
    has_websocket_context,
)
from ._exceptions import BadRequest, HTTPException, NotFound, OutsideContextError
from ._matcher import Matcher
from ._routing import build, match, no_match_error

if TYPE_CHECKING:
    from werkzeug.routing import Map, MapAdapter

    from ._config import Config
    from ._context import ConnectionContext
    from ._request import BaseRequestWebsocket
    from ._types import URLValuesCallable

#: The URL schemes werkzeug routes to websocket rules.
_WEBSOCKET_SCHEMES = frozenset({"ws", "wss"})


#: Hosts already put in werkzeug's form: an app sees a few, so each request is a lookup.
#: Emptied when full, so clients sending made-up hosts cannot grow it.
_HOST_DOMAINS: dict[str, str | None] = {}
_HOST_DOMAINS_KEPT = 256


def _host_domain(host: str) -> str | None:
    """The host as werkzeug matches host rules (lower case, IDNA-encoded, with the port),
    or ``None`` for a name IDNA cannot encode, which werkzeug refuses to bind."""
    try:
        return _HOST_DOMAINS[host]
    except KeyError:
        pass
    name, separator, port = host.lower().partition(":")
    try:
        domain: str | None = f"{name.encode('idna').decode('ascii')}{separator}{port}"
    except UnicodeError:
        domain = None
    if len(_HOST_DOMAINS) >= _HOST_DOMAINS_KEPT:
        _HOST_DOMAINS.clear()
    _HOST_DOMAINS[host] = domain
    return domain


def _invalid_host(host: str) -> BadRequest:
    return BadRequest(f"The Host header {host!r} is not a valid host name with an optional port.")


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
            raise _invalid_host(request.headers["host"])
        trusted_hosts = self.config["TRUSTED_HOSTS"]
        if trusted_hosts is not None and not host_is_trusted(
            host, [trusted.lower() for trusted in trusted_hosts]
        ):
            raise BadRequest(
                f"The host {host!r} is not one this app serves; "
                "TRUSTED_HOSTS lists the ones it does."
            )
        server_name: str | None = self.config["SERVER_NAME"]
        if self.url_map.host_matching or not server_name:
            # werkzeug matches and builds with the IDNA form, and refuses a host without one.
            domain = _host_domain(host)
            if domain is None:
                raise _invalid_host(host)
            if self.url_map.host_matching:
                return domain, None
            return domain, self.url_map.default_subdomain or ""
        if not self.subdomain_matching:
            return server_name, self.url_map.default_subdomain or ""
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

        trioframe's `Matcher` answers plain hits and misses on werkzeug's rules; anything
        else (the redirects) is werkzeug's answer, from ``ctx.url_adapter``.
        """
        connection = ctx.connection
        matcher = self.url_map._matcher
        binding = ctx.url_binding
        # Only a connection whose host passed the checks is routed, and it has both.
        assert binding is not None
        websocket = connection.scheme in _WEBSOCKET_SCHEMES
        if isinstance(matcher, Matcher):  # unless the app's map was replaced
            server_name, subdomain = binding
            answer = matcher.answer(
                subdomain if subdomain is not None else server_name,
                connection.path,
                connection.method,
                websocket,
            )
            if isinstance(answer, NoMatch):
                connection.routing_exception = no_match_error(answer, websocket=websocket)
                return
            if answer is not None:
                connection.url_rule, connection.view_args = answer
                return
        adapter = ctx.url_adapter
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
