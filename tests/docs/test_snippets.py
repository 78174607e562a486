"""Keeps the documentation's code tested.

The pages include their Python from ``docs/snippets``; each ``<page>.py`` there has a
``<page>_tests.py`` beside it, which pytest collects (see ``python_files``), so every
example the docs show runs in the test suite, through the test client as the docs show.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import TYPE_CHECKING

from trioframe import Trioframe

if TYPE_CHECKING:
    import pytest

SNIPPETS = Path(__file__).parent.parent.parent / "docs" / "snippets"
#: Snippet modules that support the examples rather than being shown.
SUPPORT = {"__init__", "_fakes"}
#: Test modules named other than after their page.
TESTS_FOR = {"websockets": "websocket_tests"}


def test_every_snippet_has_tests() -> None:
    pages = [
        path.stem
        for path in SNIPPETS.glob("*.py")
        if path.stem not in SUPPORT and not path.stem.endswith("_tests")
    ]
    assert pages, "the docs show no Python?"
    for page in pages:
        tests = TESTS_FOR.get(page, f"{page}_tests")
        assert (SNIPPETS / f"{tests}.py").is_file(), f"docs/snippets/{page}.py has no {tests}.py"


def test_the_run_snippet_serves_with_app_run(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, object]] = []

    def run(self: Trioframe, **options: object) -> None:
        calls.append(options)

    monkeypatch.setattr(Trioframe, "run", run)
    runpy.run_module("docs.snippets.serving", run_name="__main__")
    assert calls == [{"host": "127.0.0.1", "port": 5000, "debug": True}]
