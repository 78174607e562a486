"""Sphinx configuration for the trioframe documentation."""

from __future__ import annotations

import importlib.metadata

project = "trioframe"
author = "The trioframe maintainers"
copyright = "the trioframe maintainers"
release = importlib.metadata.version("trioframe")

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
]
html_theme = "furo"
html_title = "trioframe"
exclude_patterns = ["_build", "snippets"]

# `Name` in docstrings links to the Python object of that name when there is one.
default_role = "py:obj"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# Cross-references to these projects work offline too: without the inventories they are
# left as plain text, never as build warnings.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
