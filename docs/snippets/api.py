"""The short examples of the API reference, one per entry; api_tests.py runs them."""

from __future__ import annotations

import trio

from trioframe import Blueprint, HTTPException, Trioframe, abort, request, url_for, websocket

app = Trioframe(__name__)


# docs: start route
@app.route("/items/<int:item_id>", methods=["GET", "PUT"])
async def item(item_id: int) -> dict[str, object]:
    if request.method == "PUT":
        return {"id": item_id, "saved": await request.get_json()}
    return {"id": item_id}


# docs: end route


# docs: start get
@app.get("/search")
async def search() -> dict[str, object]:
    return {"q": request.args.get("q", ""), "page": request.args.get("page", 1, type=int)}


# docs: end get


# docs: start request
@app.post("/notes")
async def add_note() -> tuple[dict[str, object], int]:
    note = await request.get_json()
    return {"by": request.headers.get("User-Agent", "unknown"), "note": note}, 201


# docs: end request


# docs: start websocket-decorator
@app.websocket("/ws/echo")
async def echo() -> None:
    await websocket.accept()
    while True:
        await websocket.send(await websocket.receive())


# docs: end websocket-decorator


# docs: start websocket-global
@app.websocket("/ws/clock")
async def clock() -> None:
    async def tick() -> None:
        while True:
            await websocket.send_json({"tick": round(trio.current_time())})
            await trio.sleep(1)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(tick)
        await websocket.receive()  # any message from the client stops the clock
        nursery.cancel_scope.cancel()


# docs: end websocket-global


# docs: start abort
@app.get("/admin")
async def admin() -> str:
    if request.headers.get("X-Token") != "secret":
        abort(403, "A valid X-Token header is needed.")
    return "welcome"


# docs: end abort


# docs: start url_for
@app.get("/links")
async def links() -> dict[str, str]:
    return {"item": url_for("item", item_id=7), "search": url_for("search", q="trio")}


# docs: end url_for


# docs: start errorhandler
@app.errorhandler(404)
async def not_found(error: HTTPException) -> tuple[dict[str, str], int]:
    return {"error": error.description}, 404


# docs: end errorhandler


# docs: start before_request
@app.before_request
async def writes_need_json() -> tuple[str, int] | None:
    if request.method in ("POST", "PUT") and not request.is_json:
        return "Send JSON.", 415
    return None  # carry on to the view


# docs: end before_request


# docs: start blueprint
accounts = Blueprint("accounts", __name__, url_prefix="/accounts")


@accounts.get("/<name>")
async def account(name: str) -> dict[str, str]:
    return {"account": name, "url": url_for("accounts.account", name=name)}


app.register_blueprint(accounts)
# docs: end blueprint
