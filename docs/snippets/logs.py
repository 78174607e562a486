"""The logging guide's app."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from trioframe import Trioframe, request

if TYPE_CHECKING:
    from pathlib import Path

app = Trioframe(__name__)


# docs: start logger
@app.post("/orders")
async def place_order() -> tuple[dict[str, int], int]:
    order = await request.get_json()
    app.logger.info("Order for %s placed", order["item"])
    app.logger.debug("The whole order: %r", order)  # shown only with DEBUG on
    return {"id": 1}, 201


# docs: end logger


def log_to_a_file(path: Path) -> logging.Handler:
    # docs: start replace
    from trioframe.logging import default_handler

    app.logger.removeHandler(default_handler)
    to_file = logging.FileHandler(path)
    app.logger.addHandler(to_file)
    # docs: end replace
    return to_file
