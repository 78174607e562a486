"""The templates guide."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from trioframe import Trioframe, render_template, stream_template

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

app = Trioframe(__name__)


async def count_messages() -> int:
    await trio.sleep(0.1)  # stands for a query
    return 3


async def fetch_rows() -> AsyncIterator[str]:
    for number in range(3):
        await trio.sleep(1)  # rows arrive slowly
        yield f"row {number}"


@app.get("/")
async def index() -> str:
    return "home"


# docs: start render
@app.get("/hello/<name>")
async def hello(name: str) -> str:
    return await render_template("hello.html", name=name, count=count_messages)


# docs: end render


# docs: start processor
@app.context_processor
async def site() -> dict[str, Any]:
    return {"site_name": "Example Shop"}


@app.template_filter()
def shout(text: str) -> str:
    return text.upper() + "!"


# docs: end processor


# docs: start stream
@app.get("/report")
async def report() -> AsyncIterator[str]:
    return await stream_template("report.html", rows=fetch_rows())


# docs: end stream
