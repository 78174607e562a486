"""The configuration guide's app."""

from __future__ import annotations

from .configuration import app


def test_the_settings_were_read() -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024 * 1024
    assert app.config["SERVER_NAME"] == "example.com"
    assert "helper" not in app.config
