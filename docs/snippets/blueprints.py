"""The blueprints guide: an admin section."""

from __future__ import annotations

from typing import Any

from trioframe import Blueprint, HTTPException, Trioframe, abort, g, request, url_for

app = Trioframe(__name__)
ADMIN_TOKENS = {"s3cret"}


async def is_admin() -> bool:
    return request.headers.get("X-Admin-Token") in ADMIN_TOKENS


# docs: start blueprint
admin = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


@admin.before_request
async def admins_only() -> None:
    if not await is_admin():
        abort(403)


@admin.get("/")
async def index() -> str:
    return f"<a href='{url_for('.users')}'>users</a>"  # "/admin/users"


@admin.get("/users")
async def users() -> list[str]:
    return ["ada", "grace"]


@admin.errorhandler(404)
async def not_found(error: HTTPException) -> tuple[str, int]:
    return "No such admin page", 404


app.register_blueprint(admin)
# docs: end blueprint


# docs: start nested
api = Blueprint("api", __name__, url_prefix="/api")
v1 = Blueprint("v1", __name__, url_prefix="/v1")


@v1.get("/status")
async def status() -> dict[str, str]:
    return {"endpoint": request.endpoint or "", "url": url_for(".status")}


api.register_blueprint(v1)
app.register_blueprint(api)  # "/api/v1/status", endpoint "api.v1.status"
# docs: end nested


# docs: start url-values
pages = Blueprint("pages", __name__, url_prefix="/<lang>")


@pages.url_value_preprocessor
def pull_lang(endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.lang = values.pop("lang") if values else "en"  # the views need not take it


@pages.url_defaults
def add_lang(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values is not None:
        values.setdefault("lang", g.lang)  # url_for(".about") keeps the language


@pages.get("/about")
async def about() -> dict[str, str]:
    return {"lang": g.lang, "contact": url_for(".contact")}


@pages.get("/contact")
async def contact() -> str:
    return f"contact ({g.lang})"


app.register_blueprint(pages)
# docs: end url-values
