"""The static files guide, served."""

from __future__ import annotations

from .files import app


async def test_reports_and_logo() -> None:
    client = app.test_client()
    report = await client.get("/reports/report.html")
    assert report.headers["Content-Disposition"] == 'attachment; filename="report.html"'
    assert (await client.get("/reports/../files.py")).status_code == 404
    logo = await client.get("/logo")
    assert logo.headers["Cache-Control"] == "public, max-age=3600"
    again = await client.get("/logo", headers={"If-None-Match": logo.headers["ETag"]})
    assert again.status_code == 304
    part = await client.get("/logo", headers={"Range": "bytes=0-9"})
    assert (part.status_code, await part.get_data()) == (206, b"<p>Hello, ")
