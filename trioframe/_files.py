"""Sending files: ``send_file``, ``send_from_directory`` and the static folders.

A file is sent as a streamed body read with Trio's file I/O (a worker thread per read, so
the event loop never waits on the disk), chunk by chunk as the client takes it. Nothing is
opened for a ``HEAD`` request or a ``304``. Deciding what to send is plain synchronous code:
`evaluate_preconditions` answers ``If-Match``, ``If-None-Match`` and the date conditions
(RFC 9110, section 13.2.2), and `requested_ranges` turns ``Range`` and ``If-Range`` into
the byte ranges to send, one (a ``206``) or several (a ``multipart/byteranges`` ``206``).
"""

from __future__ import annotations

import mimetypes
import os
import secrets
import stat
import zlib
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path, PurePath
from typing import IO, TYPE_CHECKING
from urllib.parse import quote

import trio
from werkzeug.datastructures import Headers
from werkzeug.http import http_date, quote_etag
from werkzeug.security import safe_join
from werkzeug.utils import get_content_type

from ._concurrency import in_thread
from ._conditional import ByteRange, evaluate_preconditions, requested_ranges
from ._context import current_app, has_app_context, has_request_context, request
from ._exceptions import NotFound, PreconditionFailed, RangeNotSatisfiable
from ._response import Response

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable


#: Bytes read from a file at a time.
FILE_CHUNK_BYTES = 64 * 1024


def make_etag(path: str, size: int, mtime: float) -> str:
    """An entity tag for a file, from its path, size and modification time."""
    checksum = zlib.adler32(os.fsencode(path)) & 0xFFFFFFFF
    return f"{mtime}-{size}-{checksum}"


def content_disposition(download_name: str, as_attachment: bool) -> str:
    """A ``Content-Disposition`` value; a non-ASCII name is also given as ``filename*``."""
    kind = "attachment" if as_attachment else "inline"
    try:
        download_name.encode("ascii")
    except UnicodeEncodeError:
        fallback = download_name.encode("ascii", "ignore").decode().replace('"', "")
        return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(download_name)}"
    escaped = download_name.replace("\\", "\\\\").replace('"', '\\"')
    return f'{kind}; filename="{escaped}"'


async def send_file(
    path_or_file: str | os.PathLike[str] | IO[bytes],
    mimetype: str | None = None,
    *,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | float | None = None,
    max_age: int | timedelta | Callable[[str | None], int | None] | None = None,
    attachment_filename: str | None = None,
) -> Response:
    """A response that sends a file, read with Trio's file I/O as the client takes it.

    In a request, the response is conditional: ``ETag`` and ``Last-Modified`` let clients
    revalidate (``304 Not Modified``), ``If-Match`` is honoured (``412``), and ``Range``
    requests get the byte ranges asked for (``206``, several as ``multipart/byteranges``;
    ``416`` when none can be served).

    Never pass a path built from user input: use `send_from_directory`, which refuses paths
    that leave the directory.

    Args:
        path_or_file: A file path, or a binary file object (closed once sent).
        mimetype: The content type; guessed from the file name by default.
        as_attachment: Ask the browser to download the file instead of showing it.
        download_name: The name the browser saves the file as; the file's own by default.
        conditional: Answer conditional and range requests.
        etag: Compute an entity tag (``True``), use this one (a ``str``), or send none.
        last_modified: The modification time; the file's by default.
        max_age: Seconds clients may cache the file without asking again (or a function
            of the file name returning them); ``SEND_FILE_MAX_AGE_DEFAULT`` by default.
            Without one, clients revalidate every time (``Cache-Control: no-cache``).
        attachment_filename: Quart's older name for ``download_name``.

    Raises:
        FileNotFoundError: ``path_or_file`` is a path to no file.
        TypeError: the content type cannot be guessed (a file object without a name and
            no ``mimetype``), or both ``download_name`` and ``attachment_filename`` are given.
    """
    if attachment_filename is not None:
        if download_name is not None:
            raise TypeError(
                "send_file() got both download_name and attachment_filename, which name the "
                "same thing; pass download_name only"
            )
        download_name = attachment_filename
    path: str | None = None
    fileobj: IO[bytes] | None = None
    size: int | None = None
    offset = 0
    if isinstance(path_or_file, str | os.PathLike):
        path = os.fspath(path_or_file)
        if has_app_context() and not PurePath(path).is_absolute():
            path = str(PurePath(current_app.root_path, path))  # relative to the app, as Flask
        info = await in_thread(partial(os.stat, path))
        size = info.st_size
        if last_modified is None:
            last_modified = info.st_mtime
        if etag is True:
            etag = make_etag(path, size, info.st_mtime)
    else:
        fileobj = path_or_file
        offset, size = await _position_and_size(fileobj)
        if etag is True:
            etag = False  # a file object has no stable identity to derive one from
    name = download_name or (os.path.basename(path) if path is not None else None)
    if mimetype is None:
        if name is None:
            await _close(fileobj)
            raise TypeError(
                "send_file() cannot guess the content type of a file object without a name; "
                "pass mimetype= or download_name="
            )
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = Headers()
    if download_name is not None or as_attachment:
        assert name is not None
        headers["Content-Disposition"] = content_disposition(name, as_attachment)
    _set_caching(headers, name, max_age)
    modified = _as_datetime(last_modified)
    if modified is not None:
        headers["Last-Modified"] = http_date(modified)
    if isinstance(etag, str):
        headers["ETag"] = quote_etag(etag)
    ranges: list[ByteRange] | None = None
    if conditional and has_request_context():
        try:
            status = evaluate_preconditions(request, headers.get("ETag"), modified)
            if status == 412:
                raise PreconditionFailed("The file does not match the request's preconditions.")
            if status == 304:
                await _close(fileobj)
                response = _response_class()(None, 304, headers, mimetype=mimetype)
                del response.headers["Content-Length"]
                return response
            if size is not None:
                headers["Accept-Ranges"] = "bytes"
                ranges = requested_ranges(request, size, headers.get("ETag"), modified)
        except (PreconditionFailed, RangeNotSatisfiable):
            await _close(fileobj)
            raise
    source = _FileSource(path, fileobj, offset)
    if ranges is None:
        if size is not None:
            headers["Content-Length"] = str(size)
        return _response_class()(source.read([], b""), 200, headers, mimetype=mimetype)
    if len(ranges) == 1:
        (only,) = ranges
        headers["Content-Range"] = only.content_range
        headers["Content-Length"] = str(only.stop - only.start)
        return _response_class()(source.read(ranges, b""), 206, headers, mimetype=mimetype)
    boundary = secrets.token_hex(16)
    part_type = get_content_type(mimetype, "utf-8").encode("latin-1")
    parts = [
        (
            b"--%s\r\nContent-Type: %s\r\nContent-Range: %s\r\n\r\n"
            % (boundary.encode(), part_type, part.content_range.encode()),
            part,
        )
        for part in ranges
    ]
    ending = b"--%s--\r\n" % boundary.encode()
    total = sum(len(head) + part.stop - part.start + 2 for head, part in parts) + len(ending)
    headers["Content-Length"] = str(total)
    return _response_class()(
        source.read(parts, ending),
        206,
        headers,
        content_type=f"multipart/byteranges; boundary={boundary}",
    )


async def send_from_directory(
    directory: str | os.PathLike[str],
    path: str,
    **kwargs: object,
) -> Response:
    """Send the file at ``path`` inside ``directory``; anything else is a ``404``.

    Safe for a ``path`` from the URL: one that leaves the directory (``..``, an absolute
    path, a NUL byte, or a symbolic link that leads out of it), or names a folder or
    nothing, gets ``404 Not Found``. Links that stay inside the directory are followed.

    Args:
        directory: The folder files are served from.
        path: The file's path inside it, with ``/`` separators.
        kwargs: Passed on to `send_file`.

    Raises:
        NotFound: no such file inside ``directory``.
    """
    full_path = safe_join(os.fspath(directory), path) if "\x00" not in path else None
    if full_path is None:
        raise NotFound()
    try:
        # The names are checked above; where they lead is checked here, links resolved.
        real_path, root, info = await in_thread(partial(_resolved, full_path, directory))
        if not real_path.is_relative_to(root):
            raise NotFound()
    except (OSError, RuntimeError, ValueError):  # RuntimeError: a loop of links
        raise NotFound() from None
    if not stat.S_ISREG(info.st_mode):
        raise NotFound()
    # By the name asked for, which gives the type and download name, not the link's target.
    return await send_file(full_path, **kwargs)  # type: ignore[arg-type]


def _response_class() -> type[Response]:
    return current_app.response_class if has_app_context() else Response


def _set_caching(
    headers: Headers,
    name: str | None,
    max_age: int | timedelta | Callable[[str | None], int | None] | None,
) -> None:
    age: int | timedelta | None = max_age(name) if callable(max_age) else max_age
    if age is None and has_app_context():
        age = current_app.config["SEND_FILE_MAX_AGE_DEFAULT"]
    if age is None:
        headers["Cache-Control"] = "no-cache"
        return
    seconds = int(age.total_seconds()) if isinstance(age, timedelta) else int(age)
    headers["Cache-Control"] = f"public, max-age={seconds}"
    headers["Expires"] = http_date(datetime.now(UTC) + timedelta(seconds=seconds))


def _as_datetime(value: datetime | float | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    # HTTP dates have whole seconds; compare as the client will have seen it.
    return value.replace(microsecond=0)


class _FileSource:
    """Where a file's bytes come from: a path (opened when the body is first read) or a file
    object, whose bytes start at ``offset``."""

    def __init__(self, path: str | None, fileobj: IO[bytes] | None, offset: int) -> None:
        self._path = path
        self._fileobj = fileobj
        self._offset = offset

    async def read(
        self, parts: list[ByteRange] | list[tuple[bytes, ByteRange]], ending: bytes
    ) -> AsyncIterator[bytes]:
        """The bytes: all of them, one range, or several ranges each after its head."""
        file: IO[bytes]
        if self._path is not None:
            path = self._path
            # Opened here, closed in the finally below: the body outlives any with block.
            file = await in_thread(lambda: open(path, "rb"))  # noqa: SIM115
        else:
            assert self._fileobj is not None  # one of the two is given
            file = self._fileobj
        try:
            if not parts:
                while chunk := await in_thread(partial(file.read, FILE_CHUNK_BYTES)):
                    yield chunk
                return
            for part in parts:
                head, byte_range = part if isinstance(part, tuple) else (b"", part)
                yield head
                await in_thread(partial(file.seek, self._offset + byte_range.start))
                remaining = byte_range.stop - byte_range.start
                while remaining > 0:
                    chunk = await in_thread(partial(file.read, min(FILE_CHUNK_BYTES, remaining)))
                    if not chunk:
                        raise OSError(f"The file ended {remaining} bytes before the range did")
                    remaining -= len(chunk)
                    yield chunk
                if head:
                    yield b"\r\n"
            yield ending
        finally:
            with trio.CancelScope(shield=True):
                await in_thread(file.close)


async def _position_and_size(fileobj: IO[bytes]) -> tuple[int, int | None]:
    """Where a file object is, and how many bytes are left after that (``None`` if it
    cannot seek)."""
    try:
        seekable = fileobj.seekable()
    except (AttributeError, ValueError):
        seekable = False
    if not seekable:
        await trio.lowlevel.checkpoint()
        return 0, None
    return await in_thread(partial(_measured, fileobj))


def _measured(fileobj: IO[bytes]) -> tuple[int, int]:
    position = fileobj.tell()
    end = fileobj.seek(0, os.SEEK_END)
    fileobj.seek(position)
    return position, end - position


def _resolved(
    full_path: str, directory: str | os.PathLike[str]
) -> tuple[Path, Path, os.stat_result]:
    """Where ``full_path`` and ``directory`` lead, links resolved, and the file's status."""
    real_path = Path(full_path).resolve(strict=True)
    return real_path, Path(directory).resolve(strict=True), real_path.stat()


async def _close(fileobj: IO[bytes] | None) -> None:
    if fileobj is not None:
        await in_thread(fileobj.close)
    else:
        await trio.lowlevel.checkpoint()
