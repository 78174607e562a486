"""The configuration guide."""

from __future__ import annotations

import os
import tomllib

from trioframe import Trioframe

app = Trioframe(__name__)
SETTINGS = os.path.join(os.path.dirname(__file__), "settings.toml")


class Production:
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    helper = "lower-case names are ignored"


# docs: start config
app.config.from_mapping(SECRET_KEY="change me", MAX_CONTENT_LENGTH=8 * 1024 * 1024)
app.config.from_object(Production)  # or "myapp.settings.Production": upper-case attributes
app.config.from_prefixed_env()  # TRIOFRAME_DEBUG=true, TRIOFRAME_DB__HOST=db, ...
app.config.from_file(SETTINGS, tomllib.load, text=False)
# docs: end config
