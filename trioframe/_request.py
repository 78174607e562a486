"""``Request``: what a view sees of the HTTP request, with a body read on demand."""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, overload

import trio
from werkzeug.datastructures import CombinedMultiDict, Headers, ImmutableMultiDict, MultiDict
from werkzeug.sansio.request import Request as _SansIORequest
from werkzeug.sansio.utils import get_host

from ._concurrency import ConflictDetector
from ._exceptions import BadRequest, RequestEntityTooLarge, RequestTimeout, UnsupportedMediaType
from ._formparser import FileStorage, parse_form
from ._json import parse_client_json, parse_client_json_in_pieces

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping

    from werkzeug.routing import Rule

    from ._exceptions import HTTPException

_NOT_LOADED: Any = object()


class ConcurrentBodyRead(trio.BusyResourceError, RuntimeError):
    """Two tasks read one request body at once: a `trio.BusyResourceError`, as Trio's own
    streams raise, and a ``RuntimeError``, as trioframe raised before it used Trio's."""


class Body:
    """The request body, received from the client only as fast as it is read.

    ``async for chunk in request.body`` handles an upload of any size in constant memory;
    ``await request.get_data()`` reads it whole and keeps it. A body longer than
    ``max_length`` raises `RequestEntityTooLarge` (413): at once when ``Content-Length``
    announces it, otherwise as soon as the bytes received pass the limit. A client that
    keeps the reader waiting for more than ``timeout`` seconds in all raises
    `RequestTimeout` (408); time the view spends between reads does not count.
    ``before_first_read`` is awaited once, when the body is first read and not refused
    (the server then sends the ``100 Continue`` a client may be waiting for).
    """

    def __init__(
        self,
        chunks: trio.MemoryReceiveChannel[bytes] | Callable[[], trio.MemoryReceiveChannel[bytes]],
        *,
        content_length: int | None,
        max_length: int | None,
        timeout: float | None = None,
        before_first_read: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        # Where chunks arrive; a function that makes the channel on first use, for a server
        # that opens one only for the requests whose body is read.
        self._chunks_source = chunks
        self._chunks: trio.MemoryReceiveChannel[bytes] | None = None
        self._before_first_read = before_first_read
        #: The length the client announced, if it did.
        self.content_length = content_length
        #: The most bytes accepted; ``None`` means no limit.
        self.max_length = max_length
        #: The most seconds spent waiting for the client to send the body, in all;
        #: ``None`` means no limit.
        self.timeout = timeout
        self._waited = 0.0
        self._received = 0
        self._iterated = False
        # Made at the first read: most requests never read a body.
        self._reading: ConflictDetector | None = None
        self._data: bytes | None = None

    def __await__(self) -> Generator[Any, None, bytes]:
        """``await request.body``: the whole body, as `read` gives it (Quart's spelling)."""
        return self.read().__await__()

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._data is not None:
            return _replay(self._data)
        return self

    async def __anext__(self) -> bytes:
        """Wait for the next chunk. Cancelling loses nothing: the chunk stays queued."""
        chunk = await self._next_chunk()
        if chunk is None:
            raise StopAsyncIteration
        self._iterated = True
        return chunk

    async def read(self, limit: int | None = None, refusal: HTTPException | None = None) -> bytes:
        """Read the whole body and keep it; later calls return the same bytes.

        Args:
            limit: Stop reading, and raise ``refusal``, as soon as more than this many bytes
                have arrived (a form's own limit, lower than ``max_length``).
            refusal: What to raise past ``limit``.

        Raises:
            RequestEntityTooLarge: the body is over ``max_length``.
            RequestTimeout: the client is slower than ``timeout`` allows.
            RuntimeError: part of the body was already taken by iterating over it.
            trio.BusyResourceError: another task is reading the body at the same time.
        """
        if self._data is not None:
            await trio.lowlevel.checkpoint()
            if limit is not None and refusal is not None and len(self._data) > limit:
                raise refusal
            return self._data
        if self._iterated:
            raise RuntimeError(
                "The request body was already consumed by 'async for chunk in request.body'; "
                "read it either by iterating or with get_data(), not both"
            )
        parts = []
        size = 0
        while (chunk := await self._next_chunk()) is not None:
            parts.append(chunk)
            size += len(chunk)
            if limit is not None and refusal is not None and size > limit:
                raise refusal
        self._data = b"".join(parts)
        return self._data

    async def _next_chunk(self) -> bytes | None:
        if self._reading is None:
            self._reading = ConflictDetector(
                "Another task is already reading this request body; read it in one task and "
                "pass the data to the others",
                error=ConcurrentBodyRead,
            )
        with self._reading:
            limit = self.max_length
            announced = self.content_length
            if limit is not None and announced is not None and announced > limit:
                raise self._too_large(limit)
            try:
                if self._before_first_read is not None:
                    before_first_read, self._before_first_read = self._before_first_read, None
                    await before_first_read()
                chunk = await self._receive_in_time()
            except trio.EndOfChannel:
                # Trio's channel reports the end without yielding; a read is a checkpoint.
                await trio.lowlevel.cancel_shielded_checkpoint()
                return None
            except trio.ClosedResourceError:
                raise RuntimeError(
                    "The request body is gone: it can only be read before the view returns"
                ) from None
        self._received += len(chunk)
        if limit is not None and self._received > limit:
            raise self._too_large(limit)
        return chunk

    def _channel(self) -> trio.MemoryReceiveChannel[bytes]:
        if self._chunks is None:
            source = self._chunks_source
            self._chunks = source if isinstance(source, trio.MemoryReceiveChannel) else source()
        return self._chunks

    async def _receive_in_time(self) -> bytes:
        chunks = self._channel()
        if self.timeout is None:
            return await chunks.receive()
        # A chunk already here costs no waiting, even with the time used up.
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            chunk = chunks.receive_nowait()
        except trio.WouldBlock:
            pass
        else:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return chunk
        # Can be spent already: a chunk handed over as the time ran out still counts it all.
        remaining = self.timeout - self._waited
        if remaining > 0:
            started = trio.current_time()
            with trio.move_on_after(remaining):
                try:
                    return await chunks.receive()
                finally:
                    self._waited += trio.current_time() - started
        raise RequestTimeout(
            f"The client took more than {self.timeout:g} seconds to send the request body "
            "(BODY_TIMEOUT)."
        )

    @staticmethod
    def _too_large(limit: int) -> RequestEntityTooLarge:
        return RequestEntityTooLarge(
            f"The request body is larger than the limit of {limit} bytes (MAX_CONTENT_LENGTH)."
        )


async def _replay(data: bytes) -> AsyncIterator[bytes]:
    """Iterate once more over a body that was already read whole."""
    await trio.lowlevel.checkpoint()
    if data:
        yield data


class BaseRequestWebsocket(_SansIORequest):
    """What requests and websockets share: the URL, headers, cookies and routing results.

    URL, headers, cookies, ``authorization``, ``args`` and the other header-derived
    attributes come from werkzeug and work as in Flask.
    """

    def __init__(
        self,
        method: str,
        scheme: str,
        server: tuple[str, int | None] | None,
        root_path: str,
        path: str,
        query_string: bytes,
        headers: Headers | Callable[[], Headers],
        remote_addr: str | None,
        *,
        host_header: str | None = None,
    ) -> None:
        """``headers`` may be a function that makes them, called when they are first used;
        ``host_header`` is then the ``Host`` header's value (routing needs it, and most
        requests need no other header)."""
        # werkzeug's __init__, but for headers made on first use.
        self.method = method.upper()
        self.scheme = scheme
        self.server = server
        self.root_path = root_path.rstrip("/")
        self.path = "/" + path.lstrip("/")
        self.query_string = query_string
        self.remote_addr = remote_addr
        if isinstance(headers, Headers):
            self.__dict__["headers"] = headers
            self._host_header = headers.get("host")
        else:
            self._make_headers = headers
            self._host_header = host_header
        #: The routing rule that matched, once routing has run.
        self.url_rule: Rule | None = None
        #: The converted URL variables passed to the view.
        self.view_args: dict[str, Any] | None = None
        #: The error routing raised (404, 405, a redirect); dispatch raises it.
        self.routing_exception: HTTPException | None = None
        #: The ASGI scope the request came from, as the server sent it (empty for a request
        #: built some other way).
        self.scope: Mapping[str, Any] = {}

    @cached_property
    def headers(self) -> Headers:  # type: ignore[override]  # werkzeug's is set in __init__
        """The headers received with the request, made from the server's on first use."""
        return self._make_headers()

    @property
    def url_root(self) -> str:
        """The scheme, host and root path, ending in a slash: ``http://example.com/app/``
        (werkzeug's ``root_url``, under Flask's and Quart's name)."""
        return self.root_url

    @cached_property
    def host(self) -> str:
        """The host the request was made to, lower-cased, with the port if it is not the
        scheme's default; the server's address when the client sent no ``Host`` header,
        and ``""`` when the header is not a valid host (trioframe answers that with 400)."""
        header = self._host_header
        return get_host(
            self.scheme,
            header.lower() if header is not None else None,
            self.server,
            self.trusted_hosts,
        )

    @property
    def endpoint(self) -> str | None:
        """The endpoint name of the matched rule, or ``None`` if routing failed."""
        return self.url_rule.endpoint if self.url_rule is not None else None

    @property
    def blueprint(self) -> str | None:
        """The full name of the blueprint that handles the request (``"parent.child"`` when
        nested), or ``None`` for the app's own views and for a request routing failed on."""
        endpoint = self.endpoint
        return endpoint.rpartition(".")[0] if endpoint is not None and "." in endpoint else None

    @property
    def blueprints(self) -> list[str]:
        """The blueprints the request is in, innermost first: ``["parent.child", "parent"]``."""
        name = self.blueprint
        names: list[str] = []
        while name:
            names.append(name)
            name = name.rpartition(".")[0]
        return names


class Request(BaseRequestWebsocket):
    """The HTTP request being handled, also available as the ``request`` global.

    URL, headers, cookies, ``authorization``, ``args`` and the other header-derived attributes
    come from werkzeug and work as in Flask. Reading the body is asynchronous:
    ``await request.get_data()``, ``await request.get_json()``, ``await request.form``,
    ``await request.files``, or ``async for chunk in request.body`` for large uploads.
    """

    def __init__(
        self,
        method: str,
        scheme: str,
        server: tuple[str, int | None] | None,
        root_path: str,
        path: str,
        query_string: bytes,
        headers: Headers | Callable[[], Headers],
        remote_addr: str | None,
        *,
        body: Body,
        host_header: str | None = None,
        http_version: str = "1.1",
        max_form_memory_size: int | None = None,
        max_form_parts: int | None = None,
        json_loads: Callable[[bytes], Any] = json.loads,
        json_loads_in_pieces: Callable[[bytes], Awaitable[Any]] | None = None,
        json_piecewise_threshold: int | None = None,
    ) -> None:
        super().__init__(
            method,
            scheme,
            server,
            root_path,
            path,
            query_string,
            headers,
            remote_addr,
            host_header=host_header,
        )
        #: The body stream; see `Body`.
        self.body = body
        #: The HTTP version, such as ``"1.1"`` or ``"2"``.
        self.http_version = http_version
        #: The most bytes a text form field may hold, and the spool threshold for files.
        self.max_form_memory_size = max_form_memory_size
        #: The most fields or parts a form may have.
        self.max_form_parts = max_form_parts
        self.json_loads = json_loads
        #: Parses a JSON body yielding between pieces, for bodies over
        #: ``json_piecewise_threshold`` bytes (``JSON_PIECEWISE_THRESHOLD``).
        self.json_loads_in_pieces = json_loads_in_pieces
        self.json_piecewise_threshold = json_piecewise_threshold
        self._json: Any = _NOT_LOADED
        self._form: ImmutableMultiDict[str, str] | None = None
        self._files: ImmutableMultiDict[str, FileStorage] | None = None
        self._form_lock: trio.Lock | None = None

    @property
    def max_content_length(self) -> int | None:
        """The body size limit for this request; set it in a view or hook to change it."""
        return self.body.max_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self.body.max_length = value

    @property
    def body_timeout(self) -> float | None:
        """The most seconds the client may keep body reads waiting, in all, for this
        request (``BODY_TIMEOUT``); set it in a view or hook to change it."""
        return self.body.timeout

    @body_timeout.setter
    def body_timeout(self, value: float | None) -> None:
        self.body.timeout = value

    @overload
    async def get_data(self, as_text: Literal[False] = False) -> bytes: ...
    @overload
    async def get_data(self, as_text: Literal[True]) -> str: ...
    async def get_data(self, as_text: bool = False) -> bytes | str:
        """Read the whole body, waiting for it to arrive; the result is kept for later calls.

        Cancelling leaves the unread part queued for the next read.

        Args:
            as_text: Decode as UTF-8 (invalid bytes replaced) and return ``str``.

        Raises:
            RequestEntityTooLarge: the body is over ``max_content_length``.
            RequestTimeout: the client took longer than ``body_timeout`` to send it.
        """
        data = await self.body.read()
        return data.decode("utf-8", "replace") if as_text else data

    @property
    async def data(self) -> bytes:
        """``await request.data`` is ``await request.get_data()``."""
        return await self.get_data()

    async def get_json(self, force: bool = False, silent: bool = False) -> Any:
        """Parse the body as JSON (the parsed value is kept for later calls).

        Args:
            force: Parse even if the ``Content-Type`` is not JSON.
            silent: Return ``None`` instead of raising when the body is not JSON.

        Raises:
            UnsupportedMediaType: the ``Content-Type`` is not JSON (415).
            BadRequest: the body is not valid JSON (400).
        """
        if not (force or self.is_json):
            if silent:
                await trio.lowlevel.checkpoint()
                return None
            raise UnsupportedMediaType(
                "The request body was not parsed as JSON because its Content-Type is "
                f"{self.mimetype or 'missing'!r}; send 'Content-Type: application/json'."
            )
        if self._json is not _NOT_LOADED:
            await trio.lowlevel.checkpoint()
            return self._json
        data = await self.get_data()
        threshold = self.json_piecewise_threshold
        try:
            if (
                self.json_loads_in_pieces is not None
                and threshold is not None
                and len(data) > threshold
            ):
                self._json = await parse_client_json_in_pieces(
                    self.json_loads_in_pieces, data, "the JSON body"
                )
            else:
                self._json = parse_client_json(self.json_loads, data, "the JSON body")
        except BadRequest:
            if silent:
                return None
            raise
        return self._json

    @property
    async def json(self) -> Any:
        """``await request.json`` is ``await request.get_json()``."""
        return await self.get_json()

    @property
    async def form(self) -> ImmutableMultiDict[str, str]:
        """The text fields of a URL-encoded or multipart form body (empty for other bodies).

        Raises:
            BadRequest: the form is malformed.
            RequestEntityTooLarge: it is over ``MAX_FORM_MEMORY_SIZE`` or ``MAX_FORM_PARTS``.
        """
        form, _ = await self._load_form()
        return form

    @property
    async def files(self) -> ImmutableMultiDict[str, FileStorage]:
        """The uploaded files of a multipart form body, as `FileStorage` objects."""
        _, files = await self._load_form()
        return files

    @property
    async def values(self) -> CombinedMultiDict[str, str]:
        """``args`` and ``form`` combined, query string first; for ``GET``, ``args`` only
        (its body is not read), as in werkzeug, Flask and Quart."""
        sources: list[MultiDict[str, str]] = [self.args]
        if self.method == "GET":
            await trio.lowlevel.checkpoint()
        else:
            sources.append(await self.form)
        return CombinedMultiDict(sources)

    async def _load_form(
        self,
    ) -> tuple[ImmutableMultiDict[str, str], ImmutableMultiDict[str, FileStorage]]:
        if self._form_lock is None:
            self._form_lock = trio.Lock()
        async with self._form_lock:
            if self._form is None or self._files is None:
                self._form, self._files = await parse_form(
                    self.body,
                    self.content_type or "",
                    max_form_memory_size=self.max_form_memory_size,
                    max_form_parts=self.max_form_parts,
                )
            return self._form, self._files

    @property
    def has_files(self) -> bool:
        """Whether uploaded files were parsed, which `close` must clean up."""
        return bool(self._files)

    def close(self) -> None:
        """Close uploaded files, removing any temporary files. Runs when the request ends."""
        if self._files is not None:
            for _, storage in self._files.items(multi=True):
                storage.close()
