"""The contexts guide's tests."""

from __future__ import annotations

from .contexts import app, opened


async def test_each_request_gets_and_releases_its_connection() -> None:
    opened.clear()
    client = app.test_client()
    response = await client.get("/users/ada")
    assert await response.get_data() == b"lovelace"
    assert response.headers["Cache-Control"] == "no-store"
    await client.get("/users/bob")
    assert len(opened) == 2
    assert not any(db.open for db in opened)  # each closed as its request ended
