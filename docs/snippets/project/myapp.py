"""The testing guide's project: an app made by a factory."""

from __future__ import annotations

from trioframe import Trioframe, websocket


def create_app() -> Trioframe:
    app = Trioframe(__name__)
    app.config["GREETING"] = "hello"

    @app.get("/")
    async def index() -> str:
        return str(app.config["GREETING"])

    @app.websocket("/echo")
    async def echo() -> None:
        while True:
            await websocket.send(await websocket.receive())

    @app.before_serving
    async def connect() -> None:
        app.config["CONNECTED"] = True

    return app
