"""Shared pytest fixtures.

This file also marks the repository root as pytest's rootdir, which puts the root on
``sys.path`` so tests can import the example apps as ``examples.<name>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from trioframe import Trioframe

if TYPE_CHECKING:
    from trioframe.testing import TestClient

# Runs pytest on small projects of a user's, to test the pytest plugin as users meet it.
pytest_plugins = ["pytester"]


@pytest.fixture
def app() -> Trioframe:
    """A fresh, empty application; tests register the routes they need on it."""
    return Trioframe("tests")


@pytest.fixture
def client(app: Trioframe) -> TestClient:
    """A test client for ``app``."""
    return app.test_client()
