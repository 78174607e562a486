"""The class-based views' tests."""

from __future__ import annotations

from .views import app


async def test_a_note_is_saved_and_read() -> None:
    client = app.test_client()
    assert (await client.put("/notes/1", data=b"buy tea")).status_code == 201
    assert await (await client.get("/notes/1")).get_data() == b"buy tea"
    assert (await client.post("/notes/1")).status_code == 405  # no post method
