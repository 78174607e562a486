"""The shape every "big app" shares: 5 sections of 20 routes each, half static and half
with an integer URL variable, and the request the benchmark makes to one of the last."""

from __future__ import annotations

SECTIONS = 5
ROUTES_PER_SECTION = 20
#: The request: a route near the end, a query argument and a header to read.
PATH = f"/s{SECTIONS - 1}/item{ROUTES_PER_SECTION - 1}/42"
QUERY = b"q=tea"
HEADER = (b"x-token", b"secret")


def static_paths(section: int) -> list[str]:
    return [f"/s{section}/page{index}" for index in range(0, ROUTES_PER_SECTION, 2)]


def item_indices() -> list[int]:
    return list(range(1, ROUTES_PER_SECTION, 2))
