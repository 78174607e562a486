"""A pantry app written the way a Quart app is, ported by changing its imports.

Serve it with ``trioframe run examples/quart_port/app.py:app`` and open
``http://localhost:5000/en/``. From Quart, only the imports changed (``quart`` became
``trioframe``, ``quart.views`` became ``trioframe.views``): a blueprint whose URLs carry a
language (``url_value_preprocessor`` and ``url_defaults``), a ``MethodView`` for the items,
``flash`` for the form, and an error handler that answers every HTTP error in JSON through
``get_response()``. Its tests, in test_app.py, ported the same way.
"""

from __future__ import annotations

import json
from typing import Any

from trioframe import (
    Blueprint,
    HTTPException,
    Response,
    Trioframe,
    abort,
    flash,
    g,
    redirect,
    render_template_string,
    request,
    url_for,
)
from trioframe.views import MethodView

app = Trioframe(__name__)
app.secret_key = "change me: flashed messages live in the signed session cookie"

#: The pantry: item id -> name.
items: dict[int, str] = {}

PAGE = """<!doctype html>
<title>Pantry</title>
{% for category, message in get_flashed_messages(with_categories=true) %}
  <p class="{{ category }}">{{ message }}</p>
{% endfor %}
<ul>{% for id, name in items %}<li><a href="{{ url_for('.item', item_id=id) }}">{{ name }}</a>
{% endfor %}</ul>
<form method="post" action="{{ url_for('.add') }}"><input name="name"><button>Add</button></form>
"""

pantry = Blueprint("pantry", __name__, url_prefix="/<lang>")


@pantry.url_value_preprocessor
def pull_lang(endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.lang = values.pop("lang") if values else "en"


@pantry.url_defaults
def add_lang(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values is not None:
        values.setdefault("lang", g.lang)


@pantry.get("/")
async def index() -> str:
    return await render_template_string(PAGE, items=sorted(items.items()))


@pantry.post("/")
async def add() -> Response:
    name = (await request.form).get("name", "").strip()
    if not name:
        await flash("An item needs a name.", "error")
    else:
        item_id = max(items, default=0) + 1
        items[item_id] = name
        await flash(f"Added {name}.")
    return redirect(url_for(".index"))


class ItemAPI(MethodView):
    async def get(self, item_id: int) -> dict[str, Any]:
        if item_id not in items:
            abort(404, f"No item {item_id} in the pantry.")
        return {"id": item_id, "name": items[item_id], "lang": g.lang}

    async def put(self, item_id: int) -> dict[str, Any]:
        data = await request.get_json()
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            abort(422, 'Send {"name": "..."}.')
        items[item_id] = data["name"]
        return {"id": item_id, "name": items[item_id], "lang": g.lang}

    async def delete(self, item_id: int) -> tuple[str, int]:
        items.pop(item_id, None)
        return "", 204


pantry.add_url_rule("/items/<int:item_id>", view_func=ItemAPI.as_view("item"))
app.register_blueprint(pantry)


@app.errorhandler(HTTPException)
async def json_error(error: HTTPException) -> Response:
    """Every HTTP error in JSON, as Flask's and Quart's documentation shows it."""
    response = error.get_response()
    response.set_data(
        json.dumps({"code": error.code, "name": error.name, "description": error.description})
    )
    response.content_type = "application/json"
    return response


@app.get("/")
async def home() -> Response:
    return redirect(url_for("pantry.index", lang="en"))
