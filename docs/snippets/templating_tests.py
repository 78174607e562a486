"""The templates guide, rendered."""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from trioframe import render_template_string

from .templating import app

if TYPE_CHECKING:
    import trio.testing


async def test_hello_is_escaped_and_awaits(autojump_clock: trio.testing.MockClock) -> None:
    response = await app.test_client().get("/hello/<Ada>")
    assert await response.get_data(as_text=True) == (
        '<p>Hello, &lt;Ada&gt;!</p>\n<p>You have 3 new messages.</p>\n<a href="/">back</a>'
    )


async def test_context_processors_and_filters() -> None:
    async with app.app_context():
        assert await render_template_string("{{ site_name|shout }}") == "EXAMPLE SHOP!"


async def test_the_report_streams(autojump_clock: trio.testing.MockClock) -> None:
    response = await app.test_client().get("/report")
    assert "Content-Length" not in response.headers
    assert await response.get_data(as_text=True) == (
        "<ul>\n  <li>row 0</li>\n  <li>row 1</li>\n  <li>row 2</li>\n</ul>"
    )
