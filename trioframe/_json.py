"""``app.json``: how trioframe turns values into JSON and back."""

from __future__ import annotations

import dataclasses
import decimal
import json
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.http import http_date

from ._exceptions import BadRequest

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._app import Trioframe
    from ._response import Response


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return http_date(value)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "__html__"):
        return str(value.__html__())
    raise TypeError(
        f"Object of type {type(value).__name__} is not JSON serializable; convert it to a "
        "dict, list, str or number first, or set app.json to a provider that knows it"
    )


def parse_client_json(loads: Callable[[Any], Any], data: str | bytes, what: str) -> Any:
    """Parse JSON a client sent; ``what`` names it in the error, such as ``"the JSON body"``.

    Raises:
        BadRequest: it is not JSON, or it is nested too deeply to parse (a nesting bomb).
    """
    try:
        return loads(data)
    except RecursionError:
        raise BadRequest(f"{what[0].upper()}{what[1:]} is nested too deeply to decode.") from None
    except ValueError as error:
        raise BadRequest(f"Failed to decode {what}: {error}.") from None


class JSONProvider:
    """``app.json``: writes view results and ``jsonify`` bodies, parses request bodies.

    Replace ``app.json`` (or set ``json_provider_class``) to customise.

    Besides the standard JSON types it writes dates as HTTP dates, ``Decimal`` and ``UUID`` as
    strings, dataclasses as objects and markup (anything with ``__html__``) as its text.
    """

    #: Sort object keys, so responses are stable and cache well.
    sort_keys = True
    #: Escape non-ASCII characters as ``\\uXXXX``.
    ensure_ascii = True
    #: Pretty-print with this indent; ``None`` is compact (the default unless ``app.debug``).
    indent: int | None = None
    #: The response content type.
    mimetype = "application/json"

    def __init__(self, app: Trioframe) -> None:
        self._app = app

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialise ``obj`` to a JSON string."""
        kwargs.setdefault("default", _default)
        kwargs.setdefault("sort_keys", self.sort_keys)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        return json.dumps(obj, **kwargs)

    def loads(self, data: str | bytes, **kwargs: Any) -> Any:
        """Parse JSON text (``bytes`` may be UTF-8, UTF-16 or UTF-32).

        Raises:
            ValueError: the text is not valid JSON.
        """
        return json.loads(data, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """Build a JSON `Response`, as ``jsonify`` does.

        One positional argument is serialised as is; several become a list; keyword arguments
        become an object. Passing both is an error.
        """
        if args and kwargs:
            raise TypeError("jsonify() takes positional or keyword arguments, not both")
        data: Any = args[0] if len(args) == 1 else (list(args) if args else kwargs)
        indent = self.indent if self.indent is not None or not self._app.debug else 2
        separators = (", ", ": ") if indent is not None else (",", ":")
        text = self.dumps(data, indent=indent, separators=separators)
        return self._app.response_class(f"{text}\n", mimetype=self.mimetype)
