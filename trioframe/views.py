"""Class-based views, as Flask's ``flask.views`` and Quart's ``quart.views``."""

from __future__ import annotations

from ._views import MethodView as MethodView
from ._views import View as View
from ._views import ViewFunction as ViewFunction

__all__ = ["MethodView", "View", "ViewFunction"]

for _name in __all__:
    globals()[_name].__module__ = __name__
