"""The ASGI entry point, called directly as a server would (a scripted ASGI peer of one
message): scope types it refuses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from trioframe import Trioframe


async def test_unknown_scope_types_are_refused(app: Trioframe) -> None:
    async def receive() -> dict[str, Any]:
        raise AssertionError("not called")

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("not called")

    scope: Any = {"type": "webtransport"}
    with pytest.raises(ValueError, match="cannot serve ASGI scope type 'webtransport'"):
        await app(scope, receive, send)
