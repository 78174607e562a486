"""Sessions: per-client data kept in a cookie signed with itsdangerous, and the flashed
messages that wait in it.

The session is opened when a request or websocket is dispatched and saved on the response:
a signed cookie that the client cannot change without the signature failing. A cookie
whose signature fails (tampered, expired, or signed with a key no longer trusted) is
treated as no cookie: the session starts empty. A websocket's changes travel with its
handshake response, so the session becomes read-only once the websocket is accepted.

``app.session_interface`` decides where sessions live. Its methods are async, so an
interface that keeps sessions in a database or Redis can do its I/O without blocking.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Self, overload

import trio
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ._context import current_connection_context, current_session

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ._app import Trioframe
    from ._request import BaseRequestWebsocket
    from ._response import Response

#: The salt that keeps session signatures apart from other uses of the secret key.
SESSION_SALT = "trioframe-session"


class Session(dict[str, Any]):
    """The client's session: a ``dict`` that remembers whether it was changed.

    Values must survive a JSON round trip (``str``, numbers, ``bool``, ``None``, lists and
    dicts of those). Change a nested value through the session itself
    (``session["cart"] = [*session["cart"], item]``), or set ``modified = True``, since
    changes inside a nested object are not seen.
    """

    def __init__(self, initial: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        super().__init__(initial)
        #: Whether the session changed, so its cookie must be set again.
        self.modified = False
        #: Whether the session was used, so responses vary with the ``Cookie`` header.
        self.accessed = False
        self._read_only_reason: str | None = None

    @property
    def permanent(self) -> bool:
        """Whether the cookie outlives the browser session (``PERMANENT_SESSION_LIFETIME``)."""
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)

    def make_read_only(self, reason: str) -> None:
        """Refuse changes from now on, with ``reason`` as the error message."""
        self._read_only_reason = reason

    def _changing(self) -> None:
        if self._read_only_reason is not None:
            raise RuntimeError(self._read_only_reason)
        self.modified = True

    def __setitem__(self, key: str, value: Any) -> None:
        self._changing()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._changing()
        super().__delitem__(key)

    def clear(self) -> None:
        """Remove everything; the cookie is deleted when the response is sent."""
        self._changing()
        super().clear()

    def pop(self, key: str, *default: Any) -> Any:
        """Remove ``key`` and return its value (or ``default``)."""
        self._changing()
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        """Remove and return the last item."""
        self._changing()
        return super().popitem()

    def setdefault(self, key: str, default: Any = None) -> Any:
        """``session[key]``, set to ``default`` first if missing."""
        if key not in self:
            self._changing()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Update from a mapping or pairs, as ``dict.update``."""
        self._changing()
        super().update(*args, **kwargs)

    # dict's own |= would bypass update(); typeshed's overloads of | cannot be matched here.
    def __ior__(self, other: Any) -> Self:  # type: ignore[override, misc]
        self.update(other)
        return self


class NullSession(Session):
    """The session of an app without ``SECRET_KEY``: empty, and any change is an error."""

    def _changing(self) -> NoReturn:
        raise RuntimeError(
            "The session is unavailable because SECRET_KEY is not set; set "
            "app.config['SECRET_KEY'] to a long random value (for example from "
            "secrets.token_hex(32)), kept secret and the same on every server"
        )


class SessionInterface:
    """Where sessions are kept; subclass it and set ``app.session_interface`` to change it.

    The cookie settings (``SESSION_COOKIE_*``) are read through the ``get_cookie_*``
    methods, which a subclass may override.
    """

    null_session_class: type[Session] = NullSession

    def make_null_session(self, app: Trioframe) -> Session:
        """The session used when `open_session` returns ``None``."""
        return self.null_session_class()

    def is_null_session(self, session: Session) -> bool:
        """Whether ``session`` is a null session, which is never saved."""
        return isinstance(session, self.null_session_class)

    def get_cookie_name(self, app: Trioframe) -> str:
        """``SESSION_COOKIE_NAME``."""
        return str(app.config["SESSION_COOKIE_NAME"])

    def get_cookie_domain(self, app: Trioframe) -> str | None:
        """``SESSION_COOKIE_DOMAIN``; ``None`` makes a host-only cookie."""
        domain = app.config["SESSION_COOKIE_DOMAIN"]
        return str(domain) if domain else None

    def get_cookie_path(self, app: Trioframe) -> str:
        """``SESSION_COOKIE_PATH``, or ``APPLICATION_ROOT`` when it is not set."""
        return str(app.config["SESSION_COOKIE_PATH"] or app.config["APPLICATION_ROOT"])

    def get_cookie_httponly(self, app: Trioframe) -> bool:
        """``SESSION_COOKIE_HTTPONLY``: keep the cookie from page scripts."""
        return bool(app.config["SESSION_COOKIE_HTTPONLY"])

    def get_cookie_secure(self, app: Trioframe) -> bool:
        """``SESSION_COOKIE_SECURE``: send the cookie over HTTPS only."""
        return bool(app.config["SESSION_COOKIE_SECURE"])

    def get_cookie_samesite(self, app: Trioframe) -> str | None:
        """``SESSION_COOKIE_SAMESITE``: ``"Lax"``, ``"Strict"``, ``"None"`` or ``None``."""
        samesite = app.config["SESSION_COOKIE_SAMESITE"]
        return str(samesite) if samesite is not None else None

    def get_lifetime(self, app: Trioframe) -> timedelta:
        """``PERMANENT_SESSION_LIFETIME`` as a ``timedelta`` (seconds are accepted too)."""
        lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
        return lifetime if isinstance(lifetime, timedelta) else timedelta(seconds=lifetime)

    def get_expiration_time(self, app: Trioframe, session: Session) -> datetime | None:
        """When the cookie expires: a permanent session's lifetime from now, else ``None``
        (when the browser closes)."""
        if session.permanent:
            return datetime.now(UTC) + self.get_lifetime(app)
        return None

    def should_set_cookie(self, app: Trioframe, session: Session) -> bool:
        """Whether to send the cookie again: the session changed, or it is permanent and
        ``SESSION_REFRESH_EACH_REQUEST`` keeps extending its expiry."""
        return session.modified or (
            session.permanent and bool(app.config["SESSION_REFRESH_EACH_REQUEST"])
        )

    async def open_session(self, app: Trioframe, request: BaseRequestWebsocket) -> Session | None:
        """Load the session of ``request`` (or of a websocket's handshake).

        Returns:
            The session, or ``None`` to use `make_null_session`.
        """
        raise NotImplementedError

    async def save_session(self, app: Trioframe, session: Session, response: Response) -> None:
        """Store ``session`` (changed or not) and set what the client needs on ``response``."""
        raise NotImplementedError


class SecureCookieSessionInterface(SessionInterface):
    """Keeps the whole session in a cookie, signed with ``SECRET_KEY`` by itsdangerous.

    The client can read the values (they are signed, not encrypted), so do not put
    secrets in the session. ``SECRET_KEY_FALLBACKS`` lists older keys whose cookies are
    still accepted while keys are rotated; new cookies are signed with ``SECRET_KEY``.
    """

    def get_signing_serializer(self, app: Trioframe) -> URLSafeTimedSerializer | None:
        """The serializer that signs and checks cookies, or ``None`` without a secret key."""
        secret_key = app.config["SECRET_KEY"]
        if not secret_key:
            return None
        # itsdangerous tries every key when checking and signs with the last one.
        keys = [*app.config["SECRET_KEY_FALLBACKS"], secret_key]
        return URLSafeTimedSerializer(
            keys,
            salt=SESSION_SALT,
            serializer=_CompactJSON,
            signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
        )

    async def open_session(self, app: Trioframe, request: BaseRequestWebsocket) -> Session | None:
        """The session from the request's cookie; empty if there is none or it is invalid."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return Session()
        max_age = int(self.get_lifetime(app).total_seconds())
        try:
            data = serializer.loads(cookie, max_age=max_age)
        except BadSignature:
            return Session()  # tampered, expired or signed with an unknown key
        return Session(data) if isinstance(data, dict) else Session()

    async def save_session(self, app: Trioframe, session: Session, response: Response) -> None:
        """Set the signed cookie on ``response``, or delete it if the session was emptied."""
        name = self.get_cookie_name(app)
        attributes: dict[str, Any] = {
            "domain": self.get_cookie_domain(app),
            "path": self.get_cookie_path(app),
            "secure": self.get_cookie_secure(app),
            "samesite": self.get_cookie_samesite(app),
            "httponly": self.get_cookie_httponly(app),
        }
        if session.accessed:
            response.vary.add("Cookie")
        if not session:
            if session.modified:
                response.delete_cookie(name, **attributes)
                response.vary.add("Cookie")
            return
        if not self.should_set_cookie(app, session):
            return
        serializer = self.get_signing_serializer(app)
        assert serializer is not None  # a real session exists only with a secret key
        response.set_cookie(
            name,
            serializer.dumps(dict(session)),
            expires=self.get_expiration_time(app, session),
            **attributes,
        )
        response.vary.add("Cookie")


class _CompactJSON:
    """JSON without spaces, keys sorted: what itsdangerous needs of a serializer."""

    @staticmethod
    def loads(value: str | bytes) -> Any:
        return json.loads(value)

    @staticmethod
    def dumps(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)


#: The session key flashed messages wait under, as in Flask.
FLASHES_KEY = "_flashes"


async def flash(message: str, category: str = "message") -> None:
    """Keep ``message`` in the session for the next request that asks for it with
    `get_flashed_messages`, as Quart's ``await flash(...)`` does.

    Args:
        message: The text to show.
        category: A label for it, such as ``"error"`` or ``"info"``.

    Raises:
        OutsideContextError: there is no request or websocket.
        RuntimeError: the session cannot be changed (no ``SECRET_KEY``, or a websocket
            already accepted).
    """
    await trio.lowlevel.checkpoint()
    session = current_session("trioframe.flash()")
    flashes = list(session.get(FLASHES_KEY, []))
    flashes.append([category, message])
    session[FLASHES_KEY] = flashes


@overload
def get_flashed_messages(
    with_categories: Literal[False] = False, category_filter: Iterable[str] = ()
) -> list[str]: ...
@overload
def get_flashed_messages(
    with_categories: Literal[True], category_filter: Iterable[str] = ()
) -> list[tuple[str, str]]: ...
def get_flashed_messages(
    with_categories: bool = False, category_filter: Iterable[str] = ()
) -> list[str] | list[tuple[str, str]]:
    """The messages flashed for this client, taken out of the session: a second call in
    the same request returns them again, the next request finds none.

    Args:
        with_categories: Return ``(category, message)`` pairs instead of messages.
        category_filter: Only messages of these categories.

    Raises:
        OutsideContextError: there is no request or websocket.
    """
    context = current_connection_context("trioframe.get_flashed_messages()")
    if context.flashes is None:
        session = context.session
        stored = session.pop(FLASHES_KEY) if session is not None and FLASHES_KEY in session else []
        context.flashes = [(str(category), str(message)) for category, message in stored]
    flashes = context.flashes
    if category_filter:
        wanted = set(category_filter)
        flashes = [flashed for flashed in flashes if flashed[0] in wanted]
    if with_categories:
        return flashes
    return [message for _, message in flashes]
