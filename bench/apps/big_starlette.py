"""The big app in Starlette: 5 mounts of 20 routes, each mount with a hook middleware."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from big_shape import SECTIONS, item_indices, static_paths
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route

if TYPE_CHECKING:
    from starlette.requests import Request


class SectionHook:
    """What a blueprint's before_request is, as a pure ASGI middleware on the mount."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        scope.setdefault("state", {})["section"] = True
        await self.app(scope, receive, send)


async def page(request: Request) -> PlainTextResponse:
    return PlainTextResponse("page")


async def item(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "id": request.path_params["item_id"],
            "q": request.query_params["q"],
            "token": request.headers["x-token"],
        }
    )


app = Starlette(
    routes=[
        Mount(
            f"/s{section}",
            routes=[
                *(Route(f"/{path.rpartition('/')[2]}", page) for path in static_paths(section)),
                *(Route(f"/item{index}/{{item_id:int}}", item) for index in item_indices()),
            ],
            middleware=[Middleware(SectionHook)],
        )
        for section in range(SECTIONS)
    ]
)
