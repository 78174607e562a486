"""The sessions guide, tested."""

from __future__ import annotations

# docs: start transaction
from .sessions import app  # your app module


async def test_logged_in_page() -> None:
    client = app.test_client()
    async with client.session_transaction() as session:
        session["user_id"] = "grace"
    response = await client.get("/account")
    assert await response.get_data(as_text=True) == "Hello, grace"


# docs: end transaction


async def test_login_and_logout() -> None:
    client = app.test_client()
    refused = await client.post("/login", form={"user": "ada", "password": "wrong"})
    assert refused.status_code == 401
    page = await client.post(
        "/login", form={"user": "ada", "password": "lovelace"}, follow_redirects=True
    )
    assert await page.get_data(as_text=True) == "Hello, ada"
    out = await client.post("/logout", follow_redirects=True)
    assert await out.get_data(as_text=True) == "Please log in"


async def test_flashed_messages_show_once() -> None:
    client = app.test_client()
    await client.post("/profile")
    first = await (await client.get("/notices")).get_json()
    assert first == {"warnings": ["Your email is not verified yet."]}
    assert await (await client.get("/notices")).get_json() == {"warnings": []}
