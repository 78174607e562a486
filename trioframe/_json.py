"""``app.json``: how trioframe turns values into JSON and back.

Parsing a large JSON body holds the event loop for as long as it takes (a 16 MiB array takes
about 0.3 s here), and a worker thread does not help: the parser holds the GIL throughout.
A worker process does not either, since the result must be rebuilt in this one. So a body
over ``JSON_PIECEWISE_THRESHOLD`` is parsed a piece at a time (`JSONProvider.loads_in_pieces`),
with the standard library's own decoder doing each piece and a checkpoint between pieces, so
that other requests are served meanwhile.
"""

from __future__ import annotations

import contextlib
import dataclasses
import decimal
import json
import re
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import trio
from werkzeug.http import http_date
from werkzeug.utils import get_content_type

from ._exceptions import BadRequest

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from ._app import Trioframe
    from ._response import Response

#: About how many characters of JSON are parsed between two checkpoints, piece by piece.
PIECE_CHARS = 64 * 1024
#: How deep containers are taken apart item by item; deeper ones are parsed in one go.
#: Two levels cover a large array, and an object holding large arrays ``{"items": [...]}``.
PIECEWISE_DEPTH = 2
_WHITESPACE = re.compile(r"[ \t\n\r]*")


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
    with _client_json_errors(what):
        return loads(data)


async def parse_client_json_in_pieces(
    loads_in_pieces: Callable[[Any], Awaitable[Any]], data: str | bytes, what: str
) -> Any:
    """`parse_client_json`, with a parser that yields between pieces.

    Raises:
        BadRequest: as `parse_client_json`.
    """
    with _client_json_errors(what):
        return await loads_in_pieces(data)


@contextlib.contextmanager
def _client_json_errors(what: str) -> Iterator[None]:
    try:
        yield
    except RecursionError:
        raise BadRequest(f"{what[0].upper()}{what[1:]} is nested too deeply to decode.") from None
    except ValueError as error:
        raise BadRequest(f"Failed to decode {what}: {error}.") from None


class _PiecewiseParser:
    """Parses a JSON document as ``json.loads`` does, the outer containers item by item.

    Each item, and every container deeper than `PIECEWISE_DEPTH`, is parsed by the standard
    library's decoder (its C scanner); this class only walks the outer brackets and commas,
    and reaches a checkpoint every `PIECE_CHARS` characters or so. Errors are the decoder's
    ``JSONDecodeError``, with the messages ``json.loads`` gives.
    """

    def __init__(self, text: str, piece_chars: int) -> None:
        self._text = text
        self._decoder = json.JSONDecoder()
        self._piece_chars = piece_chars
        self._next_checkpoint = piece_chars
        self._separators = [(",", 0), ("},", 1), ("],", 1)]

    async def document(self) -> Any:
        if self._text.startswith("\ufeff"):
            message = "Unexpected UTF-8 BOM (decode using utf-8-sig)"
            raise json.JSONDecodeError(message, self._text, 0)
        value, end = await self._value(self._skip(0), 0)
        end = self._skip(end)
        if end != len(self._text):
            raise json.JSONDecodeError("Extra data", self._text, end)
        await trio.lowlevel.checkpoint()
        return value

    def _skip(self, index: int) -> int:
        found = _WHITESPACE.match(self._text, index)
        assert found is not None  # the pattern matches the empty string
        return found.end()

    def _expect(self, index: int, char: str, message: str) -> None:
        if self._text[index : index + 1] != char:
            raise json.JSONDecodeError(message, self._text, index)

    async def _value(self, index: int, depth: int) -> tuple[Any, int]:
        if depth < PIECEWISE_DEPTH:
            char = self._text[index : index + 1]
            if char == "[":
                return await self._array(index + 1, depth + 1)
            if char == "{":
                return await self._object(index + 1, depth + 1)
        value, end = self._decoder.raw_decode(self._text, index)
        return value, end

    async def _array(self, index: int, depth: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        index = self._skip(index)
        if self._text[index : index + 1] == "]":
            return items, index + 1
        bulk_from = index
        while True:
            if index >= bulk_from:
                run = self._run_of_items(index)
                if run is not None:
                    items.extend(run[0])
                    index = self._skip(run[1])
                    await self._progress(index)
                    continue
                bulk_from = index + self._piece_chars  # item by item for a piece first
            item, index = await self._value(index, depth)
            items.append(item)
            await self._progress(index)
            index = self._skip(index)
            if self._text[index : index + 1] == "]":
                return items, index + 1
            self._expect(index, ",", "Expecting ',' delimiter")
            index = self._skip(index + 1)

    def _run_of_items(self, index: int) -> tuple[list[Any], int] | None:
        """About a piece of the array's items from ``index``, parsed in one call, and where
        the next item starts; ``None`` where that cannot be done.

        The run ends at a comma a piece ahead. Parsed as the items of an array, the text up
        to it is valid only if that comma separates two items of this array: from the start
        of an item, JSON splits into values one way only, so a comma inside a string or a
        nested value leaves an unfinished one. Each item is then exactly what parsing it
        alone gives.
        """
        ahead = index + self._piece_chars
        # The first comma ahead, or one right after an object or an array, as between the
        # items of an array of records; the one that worked last is tried first.
        for separator, offset in list(self._separators):
            found = self._text.find(separator, ahead)
            if found == -1 or found - index > 2 * self._piece_chars:
                continue  # none ahead, or too far to keep the piece short
            boundary = found + offset
            try:
                run: list[Any] = json.loads(f"[{self._text[index:boundary]}]")
            except ValueError:
                continue
            self._separators.remove((separator, offset))
            self._separators.insert(0, (separator, offset))
            return run, boundary + 1
        return None

    async def _object(self, index: int, depth: int) -> tuple[dict[str, Any], int]:
        pairs: dict[str, Any] = {}
        index = self._skip(index)
        if self._text[index : index + 1] == "}":
            return pairs, index + 1
        while True:
            self._expect(index, '"', "Expecting property name enclosed in double quotes")
            key, index = self._decoder.raw_decode(self._text, index)
            index = self._skip(index)
            self._expect(index, ":", "Expecting ':' delimiter")
            value, index = await self._value(self._skip(index + 1), depth)
            pairs[key] = value
            await self._progress(index)
            index = self._skip(index)
            if self._text[index : index + 1] == "}":
                return pairs, index + 1
            self._expect(index, ",", "Expecting ',' delimiter")
            index = self._skip(index + 1)

    async def _progress(self, index: int) -> None:
        if index >= self._next_checkpoint:
            self._next_checkpoint = index + self._piece_chars
            await trio.lowlevel.checkpoint()


#: The ``dumps`` options a cached encoder is made for; others go through ``json.dumps``.
_ENCODER_OPTIONS = frozenset({"default", "sort_keys", "ensure_ascii", "indent", "separators"})


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
        self._encoders: dict[tuple[tuple[str, Any], ...], json.JSONEncoder] = {}

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialise ``obj`` to a JSON string."""
        kwargs.setdefault("default", _default)
        kwargs.setdefault("sort_keys", self.sort_keys)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        if kwargs.keys() <= _ENCODER_OPTIONS:
            # An encoder per set of options, made once: json.dumps makes a new one per call
            # whenever any option differs from its defaults, as these always do.
            # In call order, not sorted: the same options in another order only make a
            # second encoder, and sorting would cost every call.
            key = tuple(kwargs.items())
            try:
                encoder = self._encoders.get(key)
            except TypeError:  # an unhashable option, such as separators given as a list
                return json.dumps(obj, **kwargs)
            if encoder is None:
                encoder = self._encoders[key] = json.JSONEncoder(**kwargs)
            return encoder.encode(obj)
        return json.dumps(obj, **kwargs)

    def loads(self, data: str | bytes, **kwargs: Any) -> Any:
        """Parse JSON text (``bytes`` may be UTF-8, UTF-16 or UTF-32).

        Raises:
            ValueError: the text is not valid JSON.
        """
        return json.loads(data, **kwargs)

    async def loads_in_pieces(self, data: str | bytes, *, piece_chars: int = PIECE_CHARS) -> Any:
        """Parse JSON as `loads` does, a piece at a time, with a checkpoint between pieces,
        so that other requests are served while a large body is parsed.

        A subclass that overrides `loads` (to parse with another library) is called once
        instead, since its parser cannot be taken apart; override this too to do better.

        Raises:
            ValueError: the text is not valid JSON.
        """
        if type(self).loads is not JSONProvider.loads:
            await trio.lowlevel.checkpoint()
            return self.loads(data)
        text = data if isinstance(data, str) else data.decode(json.detect_encoding(data))
        return await _PiecewiseParser(text, piece_chars).document()

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
        return self._app.response_class.whole(
            f"{text}\n".encode(), get_content_type(self.mimetype, "utf-8")
        )
