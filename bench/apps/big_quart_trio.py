"""The big app in Quart on Trio: 5 blueprints of 20 routes, each with a before_request hook."""

from __future__ import annotations

from big_shape import SECTIONS, item_indices, static_paths
from quart import Blueprint, g, request
from quart_trio import QuartTrio

app = QuartTrio(__name__, static_folder=None)


async def page() -> str:
    return "page"


async def item(item_id: int) -> dict[str, object]:
    return {"id": item_id, "q": request.args["q"], "token": request.headers["x-token"]}


for section in range(SECTIONS):
    blueprint = Blueprint(f"s{section}", __name__, url_prefix=f"/s{section}")

    @blueprint.before_request
    async def hook() -> None:
        g.section = True

    for path in static_paths(section):
        name = path.rpartition("/")[2]
        blueprint.add_url_rule(f"/{name}", name, page)
    for index in item_indices():
        blueprint.add_url_rule(f"/item{index}/<int:item_id>", f"item{index}", item)
    app.register_blueprint(blueprint)
