"""``app.config``: a dict of upper-case settings, filled from mappings, objects, files or env.

Settings trioframe reads at run time are checked in one place, `checked_setting`, against
the rules in ``_SETTING_RULES``; a bad value is a `SetupError` that says what to set.
"""

from __future__ import annotations

import json
import os
import types
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

from werkzeug.utils import import_string

from ._exceptions import SetupError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


#: The settings every application starts with; see the configuration docs for each.
DEFAULT_CONFIG: dict[str, Any] = {
    "DEBUG": False,
    "TESTING": False,
    "PROPAGATE_EXCEPTIONS": None,
    "SECRET_KEY": None,
    "SECRET_KEY_FALLBACKS": [],
    "SESSION_COOKIE_NAME": "session",
    "SESSION_COOKIE_DOMAIN": None,
    "SESSION_COOKIE_PATH": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SECURE": False,
    "SESSION_COOKIE_SAMESITE": None,
    "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
    "SESSION_REFRESH_EACH_REQUEST": True,
    "SERVER_NAME": None,
    "TRUSTED_HOSTS": None,
    "APPLICATION_ROOT": "/",
    "PREFERRED_URL_SCHEME": "http",
    "TEMPLATES_AUTO_RELOAD": None,
    "SEND_FILE_MAX_AGE_DEFAULT": None,
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "BODY_TIMEOUT": 60.0,
    "MAX_FORM_MEMORY_SIZE": 500_000,
    "MAX_FORM_PARTS": 1_000,
    "JSON_PIECEWISE_THRESHOLD": 256 * 1024,
    "WEBSOCKET_MAX_MESSAGE_SIZE": 1024 * 1024,
    "WEBSOCKET_QUEUE_SIZE": 8,
    "WEBSOCKET_QUEUE_OVERFLOW": "block",
    "WEBSOCKET_SEND_TIMEOUT": 30.0,
    "RESPONSE_SEND_TIMEOUT": 30.0,
    "BACKGROUND_TASK_ERRORS": "stop",
    "GRACEFUL_SHUTDOWN_TIMEOUT": 5.0,
    "BROADCAST_URL": "memory://",
    "BROADCAST_BUFFER": 64,
    "BROADCAST_OVERFLOW": "close",
    "BROADCAST_CONNECT_TIMEOUT": 5.0,
    "BROADCAST_MAX_MESSAGE_SIZE": 1024 * 1024,
}


#: The broadcast backends trioframe has, by URL scheme.
BROADCAST_SCHEMES = ("memory://", "redis://", "rediss://")


def _broadcast_url(value: object) -> bool:
    """Whether ``value`` names a backend the hub has, in a form it can connect to."""
    if not isinstance(value, str) or not value.startswith(BROADCAST_SCHEMES):
        return False
    if value.startswith("memory://"):
        return True
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        return False
    database = parts.path.lstrip("/")
    return bool(parts.hostname) and (not database or database.isdigit())


def _positive_seconds_or_none(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and value > 0)


#: ``setting -> (is the value valid, what to set instead)``
_SETTING_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "WEBSOCKET_QUEUE_OVERFLOW": (
        lambda value: value in ("block", "close"),
        "set it to 'block' (backpressure) or 'close' (close the connection with 1008)",
    ),
    "WEBSOCKET_QUEUE_SIZE": (
        lambda value: isinstance(value, int) and value >= 1,
        "it must be an int >= 1",
    ),
    "WEBSOCKET_MAX_MESSAGE_SIZE": (
        lambda value: value is None or isinstance(value, int),
        "use an int or None",
    ),
    "WEBSOCKET_SEND_TIMEOUT": (
        _positive_seconds_or_none,
        "use a number of seconds > 0, or None to wait for ever",
    ),
    "BROADCAST_URL": (
        _broadcast_url,
        "use 'memory://' (one process) or a Redis URL such as 'redis://localhost:6379/0' "
        "(every process that uses the same Redis)",
    ),
    "BROADCAST_BUFFER": (
        lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= 1,
        "it must be an int >= 1 (messages held per subscriber)",
    ),
    "BROADCAST_OVERFLOW": (
        lambda value: value in ("close", "drop_oldest"),
        "set it to 'close' (the subscriber gets SlowConsumer) or 'drop_oldest' (it keeps the "
        "newest messages)",
    ),
    "BROADCAST_CONNECT_TIMEOUT": (
        lambda value: isinstance(value, int | float) and not isinstance(value, bool) and value > 0,
        "use a number of seconds > 0",
    ),
    "BROADCAST_MAX_MESSAGE_SIZE": (
        lambda value: value is None or (isinstance(value, int) and value >= 1),
        "use a number of bytes >= 1, or None for no limit",
    ),
    "BACKGROUND_TASK_ERRORS": (
        lambda value: value in ("stop", "log"),
        "set it to 'stop' (a failing background task stops the app) or 'log' (it is only logged)",
    ),
}


def checked_setting(config: Mapping[str, Any], name: str) -> Any:
    """The value of the setting ``name``, checked against its rule.

    Raises:
        SetupError: the value is one trioframe cannot use; the message says what to set.
    """
    value = config[name]
    valid, hint = _SETTING_RULES[name]
    if not valid(value):
        raise SetupError(f"{name} is {value!r}; {hint}")
    return value


class Config(dict[str, Any]):
    """The application's settings: a ``dict`` whose keys are upper-case names.

    Only upper-case keys are taken from mappings and objects, so helper names and modules in
    a settings module are ignored. Relative file names resolve against ``root_path``.
    """

    def __init__(
        self, root_path: str | os.PathLike[str], defaults: Mapping[str, Any] | None = None
    ):
        super().__init__(defaults or {})
        self.root_path = Path(root_path)

    def from_mapping(self, mapping: Mapping[str, Any] | None = None, **kwargs: Any) -> bool:
        """Update from a mapping and keyword arguments, taking upper-case keys only.

        Returns:
            Always ``True``, as Flask's does.
        """
        items = {**(mapping or {}), **kwargs}
        self.update({key: value for key, value in items.items() if key.isupper()})
        return True

    def from_object(self, obj: object | str) -> None:
        """Update from the upper-case attributes of an object, class or module.

        Args:
            obj: The object, or its import path such as ``"myapp.settings.Production"``.

        Raises:
            ImportError: ``obj`` is a string that does not name an importable object.
        """
        if isinstance(obj, str):
            obj = import_string(obj)
        for key in dir(obj):
            if key.isupper():
                self[key] = getattr(obj, key)

    def from_pyfile(self, filename: str | os.PathLike[str], silent: bool = False) -> bool:
        """Update from the upper-case names a Python file defines, as Flask's does.

        Args:
            filename: The file, relative to ``root_path`` unless absolute.
            silent: Return ``False`` instead of raising when the file does not exist.

        Returns:
            ``True`` if the file was loaded.

        Raises:
            OSError: the file cannot be read (a missing one only when ``silent`` is false).
            Exception: what the file raised when it ran.
        """
        path = self.root_path / filename
        try:
            source = path.read_bytes()
        except FileNotFoundError:
            if silent:
                return False
            raise
        settings = types.ModuleType("config")
        settings.__file__ = str(path)
        # The file is the app's own settings, run as Flask runs it.
        exec(compile(source, str(path), "exec"), settings.__dict__)
        self.from_object(settings)
        return True

    def from_envvar(self, variable_name: str, silent: bool = False) -> bool:
        """Update from the Python file the environment variable ``variable_name`` names
        (see `from_pyfile`), as Flask's does.

        Returns:
            ``True`` if the file was loaded.

        Raises:
            RuntimeError: the variable is not set (unless ``silent``).
            OSError: the file it names cannot be read.
        """
        filename = os.environ.get(variable_name)
        if not filename:
            if silent:
                return False
            raise RuntimeError(
                f"The environment variable {variable_name!r} is not set, so no configuration "
                "was loaded from it; set it to the path of a configuration file"
            )
        return self.from_pyfile(filename, silent=silent)

    def get_namespace(
        self, namespace: str, lowercase: bool = True, trim_namespace: bool = True
    ) -> dict[str, Any]:
        """The settings whose names start with ``namespace``, such as ``"MAIL_"``, as a dict:
        ``{"server": ..., "port": ...}`` for ``MAIL_SERVER`` and ``MAIL_PORT``."""
        found: dict[str, Any] = {}
        for key, value in self.items():
            if not key.startswith(namespace):
                continue
            name = key[len(namespace) :] if trim_namespace else key
            found[name.lower() if lowercase else name] = value
        return found

    def from_prefixed_env(
        self, prefix: str = "TRIOFRAME", *, loads: Callable[[str], Any] = json.loads
    ) -> bool:
        """Update from environment variables named ``{prefix}_{KEY}``.

        Each value is parsed with ``loads`` (JSON by default, so ``TRIOFRAME_DEBUG=true`` gives
        ``True`` and ``TRIOFRAME_MAX_CONTENT_LENGTH=1024`` an ``int``); a value it cannot parse
        stays a string. A double underscore sets a key inside a nested dict:
        ``TRIOFRAME_DB__HOST=db`` sets ``config["DB"]["HOST"]``.

        Returns:
            Always ``True``, as Flask's does.
        """
        start = f"{prefix}_"
        for name in sorted(os.environ):
            if not name.startswith(start):
                continue
            raw = os.environ[name]
            try:
                value = loads(raw)
            except Exception:  # any parse failure means "keep it as text"
                value = raw
            *parents, key = name.removeprefix(start).split("__")
            target: dict[str, Any] = self
            for parent in parents:
                target = target.setdefault(parent, {})
            target[key] = value
        return True

    def from_file(
        self,
        filename: str | os.PathLike[str],
        load: Callable[[IO[Any]], Mapping[str, Any]],
        *,
        silent: bool = False,
        text: bool = True,
    ) -> bool:
        """Update from a file parsed by ``load``, such as ``json.load`` or ``tomllib.load``.

        Args:
            filename: The file, relative to ``root_path`` unless absolute.
            load: Reads the open file and returns a mapping.
            silent: Return ``False`` instead of raising when the file does not exist.
            text: Open in text mode; ``tomllib.load`` needs ``text=False``.

        Returns:
            ``True`` if the file was loaded.

        Raises:
            OSError: the file cannot be read (a missing one only when ``silent`` is false).
        """
        path = self.root_path / filename
        try:
            with open(path, "r" if text else "rb") as file:
                data = load(file)
        except FileNotFoundError:
            if silent:
                return False
            raise
        return self.from_mapping(data)

    def __repr__(self) -> str:
        return f"<Config {dict.__repr__(self)}>"
