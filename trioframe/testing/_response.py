"""``TestResponse``: what the test client hands back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trioframe._asgi._translate import decode_headers
from trioframe._response import Response

if TYPE_CHECKING:
    from ._builder import TestRequest


class TestResponse(Response):
    """A response the test client received: a `Response` plus what led to it."""

    __test__ = False  # not a pytest test class, despite the name

    #: The redirect responses followed on the way here, oldest first.
    history: tuple[TestResponse, ...] = ()
    #: The request that produced this response.
    request: TestRequest | None = None

    @classmethod
    def from_asgi(
        cls, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> TestResponse:
        """Build the response exactly as the app sent it, headers untouched."""
        response = cls(body, status)
        response.headers = decode_headers(headers)
        return response
