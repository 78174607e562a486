"""The blueprints guide's app."""

from __future__ import annotations

from .blueprints import app


async def test_the_admin_section() -> None:
    client = app.test_client()
    assert (await client.get("/admin/")).status_code == 403
    admin = {"X-Admin-Token": "s3cret"}
    page = await client.get("/admin/", headers=admin)
    assert await page.get_data(as_text=True) == "<a href='/admin/users'>users</a>"
    assert await (await client.get("/admin/users", headers=admin)).get_json() == ["ada", "grace"]
    missing = await client.get("/admin/nothing")
    assert missing.status_code == 404  # not the blueprint's: no rule matched


async def test_nested_blueprints() -> None:
    response = await app.test_client().get("/api/v1/status")
    assert await response.get_json() == {"endpoint": "api.v1.status", "url": "/api/v1/status"}


async def test_the_language_travels_in_the_url() -> None:
    response = await app.test_client().get("/de/about")
    assert await response.get_json() == {"lang": "de", "contact": "/de/contact"}
