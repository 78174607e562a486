"""Stand-ins for the databases and services the examples talk to, so they run in tests."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

_order_ids = itertools.count(1)


async def save(order: dict[str, Any]) -> int:
    """Store an order and return its id."""
    await trio.lowlevel.checkpoint()
    return next(_order_ids)


class Database:
    """A database connection that records whether it is open."""

    def __init__(self) -> None:
        self.open = True
        self.users: dict[str, str] = {"ada": "lovelace"}

    async def close(self) -> None:
        await trio.lowlevel.checkpoint()
        self.open = False


async def open_database(url: str) -> Database:
    """Connect to the database at ``url``."""
    await trio.lowlevel.checkpoint()
    return Database()


async def check_password(user: str, password: str) -> str | None:
    """The user's id if the password is right, else ``None``."""
    await trio.lowlevel.checkpoint()
    return user if {"ada": "lovelace"}.get(user) == password else None


sent_emails: list[str] = []


async def send_welcome_email(address: str) -> None:
    """Send an email (here: remember that it was sent)."""
    await trio.sleep(1)  # the mail server is slow
    sent_emails.append(address)


async def price_updates() -> AsyncIterator[dict[str, Any]]:
    """A feed of prices, one a second."""
    for sequence, price in enumerate((101.5, 101.7, 101.2)):
        await trio.sleep(1)
        yield {"seq": sequence, "price": price}
