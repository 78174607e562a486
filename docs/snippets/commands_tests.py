"""The custom command at work, through the app's test runner."""

from __future__ import annotations

# docs: start test
from .commands import app, users  # your app module


def test_create_user() -> None:  # plain def: the command starts its own Trio run
    result = app.test_cli_runner().invoke(args=["create-user", "ada"])
    assert result.output == "Created ada\n"
    assert users["ada"] == "created"


# docs: end test
