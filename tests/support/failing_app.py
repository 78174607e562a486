"""An app with one view that fails, for the CLI's debug mode: with DEBUG on, the client gets
the debug page with the traceback; off, a plain 500."""

from __future__ import annotations

from trioframe import Trioframe

app = Trioframe(__name__)


@app.get("/fail")
async def fail() -> str:
    raise RuntimeError("the view failed on purpose")
