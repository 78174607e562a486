"""An app with one view that fails, for the CLI's debug mode: with DEBUG on, the client gets
the debug page with the traceback; off, a plain 500."""

from __future__ import annotations

from trioframe import Trioframe

app = Trioframe(__name__)


@app.get("/fail")
async def fail() -> str:
    raise RuntimeError("the view failed on purpose")


if __name__ == "__main__":
    # Run as a script, the app is __main__'s: the reloader's worker imports this file.
    app.run(port=0, debug=True)
