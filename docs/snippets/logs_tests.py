"""The logging guide's app, through the test client."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from trioframe.logging import default_handler

from .logs import app, log_to_a_file

if TYPE_CHECKING:
    from pathlib import Path


def logged(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == app.name]


async def test_an_order_is_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    response = await app.test_client().post("/orders", json={"item": "tea"})
    assert response.status_code == 201
    assert logged(caplog) == [("INFO", "Order for tea placed")]


async def test_debug_adds_the_whole_order(caplog: pytest.LogCaptureFixture) -> None:
    app.debug = True
    try:
        await app.test_client().post("/orders", json={"item": "tea"})
    finally:
        app.debug = False
    assert logged(caplog) == [
        ("INFO", "Order for tea placed"),
        ("DEBUG", "The whole order: {'item': 'tea'}"),
    ]


def test_the_default_handler_can_give_way_to_a_file(tmp_path: Path) -> None:
    to_file = log_to_a_file(tmp_path / "app.log")
    try:
        app.logger.warning("Written to the file")
        assert default_handler not in app.logger.handlers
    finally:
        app.logger.removeHandler(to_file)
        to_file.close()
        app.logger.addHandler(default_handler)
    assert (tmp_path / "app.log").read_text() == "Written to the file\n"
