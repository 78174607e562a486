"""Test trioframe apps in the test's own Trio run: ``client = app.test_client()``."""

from __future__ import annotations

from ._builder import TestRequest as TestRequest
from ._client import RequestOptions as RequestOptions
from ._client import TestClient as TestClient
from ._client import TestResponse as TestResponse

__all__ = ["RequestOptions", "TestClient", "TestRequest", "TestResponse"]

for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
