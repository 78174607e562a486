"""The serving guide's custom commands."""

from __future__ import annotations

import click

from trioframe import Trioframe

from ._fakes import Database

app = Trioframe(__name__)
users: dict[str, str] = {}


# docs: start commands
@app.cli.command("create-user")
@click.argument("name")
async def create_user(name: str) -> None:
    """Add a user."""
    db = Database()  # an async def command runs in a Trio run, in an app context
    users[name] = "created"
    await db.close()
    click.echo(f"Created {name}")


# docs: end commands
