"""trioframe's pytest plugin, registered through the ``pytest11`` entry point.

Fixtures for an app made by a factory (``app``, ``client``, ``app_running``), the
``trioframe_app`` and ``trioframe_timeout`` settings, and the ``trioframe_timeout``
marker. The async fixture runs under pytest-trio, as every trioframe test does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import pytest

from ._client import TestClient

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from trioframe._app import Trioframe

APP_SETTING = "trioframe_app"
TIMEOUT_SETTING = "trioframe_timeout"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        APP_SETTING,
        "The app for trioframe's app fixture: module:factory (called for each test) or module:app",
        default="",
    )
    parser.addini(
        TIMEOUT_SETTING,
        "Seconds the test client waits for the app before failing (none: no limit)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{TIMEOUT_SETTING}(seconds): seconds the test client waits for the app in this "
        "test (None: no limit)",
    )


@pytest.fixture(autouse=True)
def _trioframe_timeout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Apply the ``trioframe_timeout`` marker or setting to the test's clients."""
    marker = request.node.get_closest_marker(TIMEOUT_SETTING)
    if marker is not None:
        if len(marker.args) != 1 or not _is_timeout(marker.args[0]):
            raise pytest.UsageError(
                f"The {TIMEOUT_SETTING} marker takes one number of seconds or None, as in "
                f"@pytest.mark.{TIMEOUT_SETTING}(30); it was given {marker.args!r}"
            )
        monkeypatch.setattr(TestClient, "default_timeout", marker.args[0])
        return
    setting = str(request.config.getini(TIMEOUT_SETTING)).strip()
    if setting:
        monkeypatch.setattr(TestClient, "default_timeout", _parse_timeout(setting))


def _is_timeout(value: object) -> bool:
    return value is None or (
        isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    )


def _parse_timeout(setting: str) -> float | None:
    if setting.lower() == "none":
        return None
    try:
        seconds = float(setting)
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        raise pytest.UsageError(
            f"{TIMEOUT_SETTING} = {setting!r} is not a number of seconds; set a positive "
            "number, or none for no limit"
        )
    return seconds


@pytest.fixture
def app(request: pytest.FixtureRequest) -> Trioframe:
    """The app under test, with ``TESTING`` on: a fresh one from the factory that the
    ``trioframe_app`` setting names (``module:create_app``), or the app it names.

    Define an ``app`` fixture of your own (in ``conftest.py``) to make it another way;
    ``client`` and ``app_running`` then use yours.
    """
    from trioframe._app import Trioframe

    spec = str(request.config.getini(APP_SETTING)).strip()
    if not spec:
        raise pytest.UsageError(
            f"trioframe's app fixture needs {APP_SETTING} = 'module:create_app' in the "
            "pytest configuration, or an app fixture of your own in conftest.py"
        )
    module_name, _, name = spec.partition(":")
    target = getattr(importlib.import_module(module_name), name or "app", None)
    made = target() if callable(target) and not isinstance(target, Trioframe) else target
    if not isinstance(made, Trioframe):
        raise pytest.UsageError(
            f"{APP_SETTING} = {spec!r} gives {type(made).__name__}, not a Trioframe app; "
            "name an app factory (a function that returns the app) or an app"
        )
    made.testing = True
    return made


@pytest.fixture
def client(app: Trioframe) -> TestClient:
    """``app.test_client()``: requests and websockets to the app in the test's Trio run."""
    return app.test_client()


@pytest.fixture
async def app_running(app: Trioframe) -> AsyncIterator[Trioframe]:
    """The app with its lifespan running (``async with app.test_app()``): startup hooks
    have run, ``app.nursery`` is open, and the shutdown hooks run after the test."""
    async with app.test_app():
        yield app
