"""The contexts guide: a connection per request, released when its context ends."""

from __future__ import annotations

import trio

from trioframe import Response, Trioframe, after_this_request, g

from ._fakes import Database

app = Trioframe(__name__)
opened: list[Database] = []


# docs: start teardown
async def get_db() -> Database:
    if "db" not in g:
        await trio.lowlevel.checkpoint()  # connecting would await here
        g.db = Database()
        opened.append(g.db)
    return g.db  # type: ignore[no-any-return]  # g holds anything


@app.teardown_appcontext
async def close_db(error: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        await db.close()


# docs: end teardown


# docs: start after-this-request
@app.get("/users/<name>")
async def user(name: str) -> str:
    db = await get_db()

    @after_this_request
    def no_store(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"  # this response only
        return response

    return db.users.get(name, "unknown")


# docs: end after-this-request
