"""The static files guide."""

from __future__ import annotations

import os

from trioframe import Response, Trioframe, send_file, send_from_directory

app = Trioframe(__name__)
REPORTS = os.path.join(os.path.dirname(__file__), "templates")


# docs: start send
@app.get("/reports/<path:name>")
async def report(name: str) -> Response:
    return await send_from_directory(REPORTS, name, as_attachment=True)


@app.get("/logo")
async def logo() -> Response:
    return await send_file("templates/hello.html", mimetype="text/plain", max_age=3600)


# docs: end send
