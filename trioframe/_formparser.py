"""Form bodies: URL-encoded and multipart, decoded as the body arrives.

Multipart bodies go through werkzeug's sans-IO ``MultipartDecoder``; this module only feeds it
chunks and decides where each part lives. Text fields stay in memory and may not exceed
``MAX_FORM_MEMORY_SIZE``; file parts stay in memory up to that size and are spooled to a
temporary file beyond it, written from a worker thread so the event loop never blocks on disk.
"""

from __future__ import annotations

import io
import tempfile
from functools import partial
from typing import IO, TYPE_CHECKING
from urllib.parse import parse_qsl

import trio
from werkzeug.datastructures import FileStorage as _WerkzeugFileStorage
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from ._concurrency import in_thread
from ._exceptions import BadRequest, RequestEntityTooLarge

if TYPE_CHECKING:
    from collections.abc import Mapping
    from os import PathLike

    from ._request import Body

#: Where file parts spill to disk when ``MAX_FORM_MEMORY_SIZE`` is ``None`` (werkzeug's figure).
DEFAULT_SPOOL_BYTES = 500 * 1024

FormData = tuple["ImmutableMultiDict[str, str]", "ImmutableMultiDict[str, FileStorage]"]


class FileStorage(_WerkzeugFileStorage):
    """An uploaded file from ``await request.files``.

    The werkzeug class with ``save`` made awaitable: the copy runs in a worker thread.
    ``stream`` is an ordinary binary file; large uploads live in a temporary file that is
    removed when the request ends.
    """

    # werkzeug's save() is synchronous; this one is a coroutine, as Quart's is.
    async def save(  # type: ignore[override]
        self, dst: str | PathLike[str] | IO[bytes], buffer_size: int = 16384
    ) -> None:
        """Copy the upload to a path or an open binary file. Cancelling waits for the copy.

        Args:
            dst: A file name, or a file object opened for binary writing.
            buffer_size: Bytes copied at a time.
        """
        save = super().save
        await in_thread(partial(save, dst, buffer_size))


class _SpooledPart:
    """The bytes of one uploaded file: in memory up to a threshold, then a temporary file."""

    def __init__(self, threshold: int) -> None:
        self._threshold = threshold
        self._memory: io.BytesIO | None = io.BytesIO()
        self._file: IO[bytes] | None = None

    async def write(self, data: bytes) -> None:
        if self._memory is not None:
            if self._memory.tell() + len(data) <= self._threshold:
                self._memory.write(data)
                return
            self._file = await in_thread(partial(_spill, self._memory))
            self._memory = None
        assert self._file is not None  # exactly one of the two is set
        await in_thread(partial(self._file.write, data))

    def stream(self) -> IO[bytes]:
        stream = self._memory if self._memory is not None else self._file
        assert stream is not None
        stream.seek(0)
        return stream

    def close(self) -> None:
        self.stream().close()


def _spill(memory: io.BytesIO) -> IO[bytes]:
    # Unlinked at once; the request closes it when it ends, which frees the disk space.
    file = tempfile.TemporaryFile()  # noqa: SIM115 - handed over, not closed here
    file.write(memory.getbuffer())
    return file


async def parse_form(
    body: Body,
    content_type: str,
    *,
    max_form_memory_size: int | None,
    max_form_parts: int | None,
) -> FormData:
    """Decode a form body by its content type; other content types give empty results.

    Raises:
        BadRequest: the body is not a well-formed form of its declared type.
        RequestEntityTooLarge: a field, a part header or the part count is over its limit.
    """
    mimetype, options = parse_options_header(content_type)
    if mimetype == "application/x-www-form-urlencoded":
        return await _parse_urlencoded(body, max_form_memory_size, max_form_parts)
    if mimetype == "multipart/form-data":
        return await _parse_multipart(body, options, max_form_memory_size, max_form_parts)
    await trio.lowlevel.checkpoint()
    return ImmutableMultiDict(), ImmutableMultiDict()


async def _parse_urlencoded(
    body: Body, max_form_memory_size: int | None, max_form_parts: int | None
) -> FormData:
    too_large = RequestEntityTooLarge(
        f"The form body is larger than MAX_FORM_MEMORY_SIZE ({max_form_memory_size} bytes)."
    )
    declared = body.content_length
    if (
        max_form_memory_size is not None
        and declared is not None
        and declared > max_form_memory_size
    ):
        raise too_large
    # Checked as the body arrives: a chunked body announces no length.
    data = await body.read(max_form_memory_size, too_large)
    try:
        pairs = parse_qsl(
            data.decode("utf-8", "replace"),
            keep_blank_values=True,
            errors="replace",
            max_num_fields=max_form_parts,
        )
    except ValueError:  # the only ValueError parse_qsl raises here is "too many fields"
        raise RequestEntityTooLarge(
            f"The form has more than MAX_FORM_PARTS ({max_form_parts}) fields."
        ) from None
    return ImmutableMultiDict(pairs), ImmutableMultiDict()


async def _parse_multipart(
    body: Body,
    options: Mapping[str, str],
    max_form_memory_size: int | None,
    max_form_parts: int | None,
) -> FormData:
    boundary = options.get("boundary")
    if not boundary:
        raise BadRequest(
            "The multipart/form-data body has no boundary: the Content-Type header must "
            "include one, as in 'multipart/form-data; boundary=...'."
        )
    parser = _MultipartParser(boundary, max_form_memory_size, max_form_parts)
    try:
        async for chunk in body:
            await parser.feed(chunk)
        await parser.feed(None)
    except BaseException:
        parser.close_files()
        raise
    return ImmutableMultiDict(parser.fields), ImmutableMultiDict(parser.files)


class _MultipartParser:
    """Drives werkzeug's decoder and collects fields and spooled files."""

    def __init__(
        self, boundary: str, max_form_memory_size: int | None, max_form_parts: int | None
    ) -> None:
        self._decoder = MultipartDecoder(boundary.encode("latin-1"))
        self._max_memory = max_form_memory_size
        self._max_parts = max_form_parts
        self._spool_bytes = max_form_memory_size or DEFAULT_SPOOL_BYTES
        self._parts = 0
        self._part: Field | File | None = None
        self._field_data: list[bytes] = []
        self._field_size = 0
        self._spool: _SpooledPart | None = None
        self._complete = False
        self.fields: list[tuple[str, str]] = []
        self.files: list[tuple[str, FileStorage]] = []

    async def feed(self, chunk: bytes | None) -> None:
        try:
            self._decoder.receive_data(chunk)
            while not self._complete:
                event = self._decoder.next_event()
                if isinstance(event, NeedData):
                    break
                await self._handle(event)
        except ValueError as error:
            raise BadRequest(f"The multipart/form-data body is malformed: {error}.") from None
        # What the decoder still holds is an unfinished part header or preamble.
        if self._max_memory is not None and len(self._decoder.buffer) > self._max_memory:
            raise RequestEntityTooLarge(
                "A multipart part header is larger than MAX_FORM_MEMORY_SIZE "
                f"({self._max_memory} bytes)."
            )

    async def _handle(self, event: object) -> None:
        if isinstance(event, Field | File):
            self._parts += 1
            if self._max_parts is not None and self._parts > self._max_parts:
                raise RequestEntityTooLarge(
                    f"The form has more than MAX_FORM_PARTS ({self._max_parts}) parts."
                )
            self._part = event
            self._field_data = []
            self._field_size = 0
            if isinstance(event, File):
                self._spool = _SpooledPart(self._spool_bytes)
        elif isinstance(event, Data):
            await self._handle_data(event)
        elif isinstance(event, Epilogue):
            self._complete = True

    async def _handle_data(self, event: Data) -> None:
        part = self._part
        assert part is not None  # the decoder always announces a part before its data
        if isinstance(part, File):
            assert self._spool is not None
            await self._spool.write(event.data)
            if not event.more_data:
                self.files.append((part.name, self._file_storage(part, self._spool)))
                self._spool = None
            return
        self._field_size += len(event.data)
        if self._max_memory is not None and self._field_size > self._max_memory:
            raise RequestEntityTooLarge(
                f"The form field {part.name!r} is larger than MAX_FORM_MEMORY_SIZE "
                f"({self._max_memory} bytes)."
            )
        self._field_data.append(event.data)
        if not event.more_data:
            _, options = parse_options_header(part.headers.get("content-type", ""))
            charset = options.get("charset", "utf-8")
            try:
                value = b"".join(self._field_data).decode(charset, "replace")
            except LookupError:  # an unknown charset name from the client
                raise BadRequest(
                    f"Unknown charset {charset!r} in form field {part.name!r}."
                ) from None
            self.fields.append((part.name, value))

    @staticmethod
    def _file_storage(part: File, spool: _SpooledPart) -> FileStorage:
        return FileStorage(
            stream=spool.stream(),
            filename=part.filename,
            name=part.name,
            content_type=part.headers.get("content-type"),
            headers=part.headers,
        )

    def close_files(self) -> None:
        if self._spool is not None:
            self._spool.close()
        for _, storage in self.files:
            storage.close()
