"""The serving guide: app.run() and the lifespan hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trioframe import Trioframe

from ._fakes import Database, open_database

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

app = Trioframe(__name__)
app.config["DATABASE_URL"] = "postgresql://localhost/shop"
resources: dict[str, Database] = {}
log: list[str] = []


# docs: start hooks
@app.before_serving
async def connect() -> None:
    resources["db"] = await open_database(app.config["DATABASE_URL"])


@app.after_serving
async def disconnect() -> None:
    await resources["db"].close()


@app.while_serving
async def announce() -> AsyncIterator[None]:
    log.append("started")  # at startup
    yield  # the app serves here
    log.append("stopped")  # at shutdown


# docs: end hooks


# docs: start run
if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000, debug=True)
# docs: end run
