"""Conditional requests and byte ranges (RFC 9110, sections 13 and 14): which status a
request's preconditions call for, which byte ranges it asks for, and a response made
conditional. Used by `send_file` and by ``Response.make_conditional``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from werkzeug.http import unquote_etag

from ._exceptions import RangeNotSatisfiable

if TYPE_CHECKING:
    from datetime import datetime

    from ._request import BaseRequestWebsocket
    from ._response import Response

#: More byte ranges than this in one request are ignored and the whole file is sent, so a
#: client cannot make the server assemble thousands of tiny parts (RFC 9110 allows this).
MAX_BYTE_RANGES = 16


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``stop`` (exclusive) of a resource ``length`` bytes long."""

    start: int
    stop: int
    length: int

    @property
    def content_range(self) -> str:
        """The ``Content-Range`` header value, such as ``"bytes 0-99/1000"``."""
        return f"bytes {self.start}-{self.stop - 1}/{self.length}"


def evaluate_preconditions(
    request: BaseRequestWebsocket, etag: str | None, last_modified: datetime | None
) -> int | None:
    """The status a conditional request gets instead of the resource, or ``None``.

    ``412`` when ``If-Match`` or ``If-Unmodified-Since`` fails; ``304`` for a ``GET`` or
    ``HEAD`` whose ``If-None-Match`` or ``If-Modified-Since`` shows the client's copy is
    current (``412`` for other methods).
    """
    tag, weak = unquote_etag(etag) if etag is not None else (None, False)
    if request.if_match:
        # If-Match compares strongly: a weak tag never matches (RFC 9110, section 8.8.3.2).
        if not (
            request.if_match.star_tag or (tag is not None and not weak and tag in request.if_match)
        ):
            return 412
    elif (
        request.if_unmodified_since is not None
        and last_modified is not None
        and last_modified > request.if_unmodified_since
    ):
        return 412
    not_modified = 304 if request.method in ("GET", "HEAD") else 412
    if request.if_none_match:
        if request.if_none_match.star_tag or (
            tag is not None and request.if_none_match.contains_weak(tag)
        ):
            return not_modified
    elif (
        request.if_modified_since is not None
        and last_modified is not None
        and request.method in ("GET", "HEAD")
        and last_modified <= request.if_modified_since
    ):
        return 304
    return None


def requested_ranges(
    request: BaseRequestWebsocket,
    length: int,
    etag: str | None,
    last_modified: datetime | None,
) -> list[ByteRange] | None:
    """The byte ranges a ``GET`` asks for, or ``None`` to send the whole resource.

    ``None`` also when there is no ``Range`` header, when it uses a unit other than
    bytes, when ``If-Range`` shows the client's partial copy is outdated, or when it asks
    for more than `MAX_BYTE_RANGES` ranges.

    Raises:
        RangeNotSatisfiable: the header is malformed, or no range overlaps the resource.
    """
    header = request.headers.get("Range")
    if request.method != "GET" or header is None:
        return None
    if not header.strip().lower().startswith("bytes="):
        return None  # an unknown range unit must be ignored (RFC 9110, section 14.2)
    if_range = request.if_range
    if if_range.etag is not None and (etag is None or if_range.etag != unquote_etag(etag)[0]):
        return None
    if if_range.date is not None and (last_modified is None or if_range.date != last_modified):
        return None
    parsed = request.range
    if parsed is None:
        raise RangeNotSatisfiable(f"The Range header {header!r} is malformed.", length=length)
    if len(parsed.ranges) > MAX_BYTE_RANGES:
        return None
    ranges = []
    for start, stop in parsed.ranges:
        first = max(length + start, 0) if start < 0 else start
        end = length if stop is None else min(stop, length)
        if first < end:
            ranges.append(ByteRange(first, end, length))
    if not ranges:
        raise RangeNotSatisfiable(
            f"The Range header asks for bytes outside the resource's {length} bytes.",
            length=length,
        )
    return ranges


async def make_conditional(
    response: Response,
    request: BaseRequestWebsocket,
    accept_ranges: bool | str,
    complete_length: int | None,
) -> Response:
    """Answer ``request``'s preconditions and ``Range`` with ``response``, in place: 304 or
    412 without a body, or 206 with the one range asked for (several get the whole body,
    as RFC 9110 allows).

    Raises:
        RangeNotSatisfiable: the ``Range`` header is malformed or asks for no byte of it.
    """
    if request.method not in ("GET", "HEAD"):
        return response
    etag = response.headers.get("ETag")
    status = evaluate_preconditions(request, etag, response.last_modified)
    if status is not None:
        response.status_code = status
        response.set_data(b"")
        del response.headers["Content-Length"]
        return response
    if not accept_ranges:
        return response
    response.headers["Accept-Ranges"] = "bytes" if accept_ranges is True else accept_ranges
    if request.headers.get("Range") is None or response.status_code != 200:
        return response
    data = await response.get_data()
    length = complete_length if complete_length is not None else len(data)
    ranges = requested_ranges(request, length, etag, response.last_modified)
    if ranges is None or len(ranges) != 1:
        return response
    (only,) = ranges
    response.set_data(data[only.start : only.stop])
    response.status_code = 206
    response.headers["Content-Range"] = only.content_range
    return response
