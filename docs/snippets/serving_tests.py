"""The serving guide's hooks, run through the lifespan."""

from __future__ import annotations

from .serving import app, log, resources


async def test_the_hooks_open_and_close_the_database() -> None:
    log.clear()
    async with app.test_app():
        db = resources["db"]
        open_while_serving = db.open
        assert log == ["started"]
    assert open_while_serving
    assert not db.open
    assert log == ["started", "stopped"]
