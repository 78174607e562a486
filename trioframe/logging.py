"""The handlers trioframe logs through by default, as Flask's ``flask.logging`` and Quart's
``quart.logging``: ``app.logger.removeHandler(default_handler)`` removes the one on the
app's logger. See the logging docs for configuring logging instead."""

from __future__ import annotations

from ._logging import DefaultHandler as DefaultHandler
from ._logging import access_handler as access_handler
from ._logging import default_handler as default_handler

__all__ = ["DefaultHandler", "access_handler", "default_handler"]

DefaultHandler.__module__ = __name__
