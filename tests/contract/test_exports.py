"""The public names, by direct inspection: ``__all__``, ``__module__`` and docstrings."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import pytest
from werkzeug.local import LocalProxy

from tests.support.public_api import PUBLIC_MODULES

if TYPE_CHECKING:
    import types


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_all_lists_exactly_the_public_names(module: types.ModuleType) -> None:
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and name != "annotations"  # from __future__ import annotations
    }
    assert set(module.__all__) == public
    assert module.__all__ == sorted(module.__all__)


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_public_classes_show_the_public_module(module: types.ModuleType) -> None:
    for name in module.__all__:
        value = getattr(module, name)
        if isinstance(value, type):
            assert value.__module__ == module.__name__, name


def test_every_public_name_is_documented() -> None:
    for module in PUBLIC_MODULES:
        for name in module.__all__:
            value = getattr(module, name)
            # The context globals are proxies; they are documented where they are defined.
            if callable(value) and not isinstance(value, LocalProxy):
                assert inspect.getdoc(value), f"{module.__name__}.{name} has no docstring"
