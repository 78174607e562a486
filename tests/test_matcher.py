"""trioframe's matcher by direct call, held to werkzeug's answers: for every path, method and
kind of connection, a hit is the rule and values werkzeug's ``MapAdapter`` gives, and what
is not a hit is left to werkzeug. Then, through the test client, that a hit never binds a
``MapAdapter`` while the answers that need one still get it."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import BaseConverter, Map, MapAdapter, Rule, ValidationError
from werkzeug.routing.exceptions import NoMatch

from trioframe import Trioframe, url_for
from trioframe._matcher import Matcher, matching_map


class EvenConverter(BaseConverter):
    """Takes digits, but refuses odd numbers when converting (a ValidationError)."""

    regex = r"\d+"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number % 2:
            raise ValidationError
        return number


class DottedConverter(BaseConverter):
    """A converter that spans segments, as a custom one may (part_isolating=False)."""

    regex = r"[a-z]+(?:/[a-z]+)*"
    part_isolating = False


def tricky_map(*, host_matching: bool = False) -> Map:
    """Rules that exercise every branch of the walk, added in an order that matters."""
    url_map = matching_map(host_matching=host_matching)
    url_map.converters["even"] = EvenConverter
    url_map.converters["dotted"] = DottedConverter
    host: dict[str, Any] = {"host": "example.com"} if host_matching else {}
    other_host: dict[str, Any] = {"host": "other.example.com"} if host_matching else {}
    for rule in [
        Rule("/", endpoint="index", **host),
        Rule("/", endpoint="other_index", **other_host),
        Rule("/items/", endpoint="items", methods=["GET"], **host),
        Rule("/items/new", endpoint="new_item", methods=["GET", "POST"], **host),
        Rule("/items/<int:item_id>", endpoint="item", methods=["GET"], **host),
        Rule("/items/<int:item_id>", endpoint="item_update", methods=["PUT"], **host),
        Rule("/items/<name>", endpoint="item_by_name", **host),
        Rule("/items/<int:item_id>/parts/<path:rest>", endpoint="part", **host),
        Rule("/loose", endpoint="loose", methods=["GET"], strict_slashes=False, **host),
        Rule("/loose-dir/", endpoint="loose_dir", strict_slashes=False, **host),
        Rule("/even/<even:number>", endpoint="even", **host),
        Rule("/dotted/<dotted:name>", endpoint="dotted", **host),
        Rule("/dotted/<dotted:name>/end", endpoint="dotted_end", **host),
        Rule("/deep/<dotted:name>/", endpoint="deep", methods=["GET"], **host),
        Rule("/files/<path:name>", endpoint="files", **host),
        Rule("/files/<path:name>/raw", endpoint="files_raw", **host),
        Rule("/any/<any(a, b):letter>", endpoint="any", **host),
        Rule("/floats/<float:value>", endpoint="float", **host),
        Rule("/pages/", endpoint="pages", defaults={"page": 1}, **host),
        Rule("/pages/<int:page>", endpoint="pages", **host),
        Rule("/old", endpoint="old", redirect_to="/new", **host),
        Rule("/alias", endpoint="index", alias=True, **host),
        Rule("/ws", endpoint="ws", websocket=True, **host),
        Rule("/both", endpoint="both_ws", websocket=True, **host),
        Rule("/both", endpoint="both_http", **host),
        Rule("/build-only", endpoint="build_only", build_only=True, **host),
        Rule("/merge/me", endpoint="merge", **host),
    ]:
        url_map.add(rule)
    if not host_matching:
        url_map.add(Rule("/", endpoint="sub_index", subdomain="api"))
        url_map.add(Rule("/<int:n>", endpoint="sub_number", subdomain="<user>"))
    return url_map


PATHS = [
    "/",
    "/items",
    "/items/",
    "/items/new",
    "/items/new/",
    "/items/42",
    "/items/42/",
    "/items/-3",
    "/items/bolt",
    "/items/-3",
    "/items/42/parts/a/b/c",
    "/items/42/parts/",
    "/loose",
    "/loose/",
    "/loose-dir",
    "/loose-dir/",
    "/even/4",
    "/even/3",
    "/dotted/a/b",
    "/dotted/a/b/",
    "/dotted/a/b/end",
    "/deep/a/b/",
    "/deep/a/b",
    "/files/x/y.txt",
    "/files/x/y/raw",
    "/files/",
    "/any/a",
    "/any/c",
    "/floats/1.5",
    "/floats/1",
    "/pages/",
    "//merge/me",
    "/pages/1",
    "/pages/2",
    "/old",
    "/alias",
    "/ws",
    "/both",
    "/build-only",
    "/merge//me",
    "//merge/me",
    "/nowhere",
]
METHODS = ["GET", "POST", "PUT", "HEAD", "OPTIONS"]
#: Paths werkzeug answers with 404, 405 or a websocket mismatch, for GET over HTTP.
PLAIN_MISSES = {"/items/new/", "/items/42/", "/items/42/parts/", "/dotted/a/b/", "/files/"}
PLAIN_MISSES |= {"/any/c", "/floats/1", "/ws", "/build-only", "/nowhere"}
#: Paths werkzeug answers with their rule, for GET over HTTP on the app's domain.
PLAIN_HITS = {
    "/",
    "/items/",
    "/items/new",
    "/items/42",
    "/items/bolt",
    "/items/-3",
    "/items/42/parts/a/b/c",
    "/loose",
    "/loose/",
    "/loose-dir",
    "/loose-dir/",
    "/even/4",
    "/dotted/a/b",
    "/dotted/a/b/end",
    "/deep/a/b/",
    "/files/x/y.txt",
    "/files/x/y/raw",
    "/any/a",
    "/floats/1.5",
    "/pages/",
    "//merge/me",
    "/both",
}


def werkzeug_answer(
    url_map: Map, domain: str, path: str, method: str, websocket: bool
) -> tuple[Rule, dict[str, Any]] | tuple[str, frozenset[str]]:
    """What werkzeug's adapter says: the rule and values, or the name of its exception and
    the methods a 405 lists."""
    scheme = "ws" if websocket else "http"
    if url_map.host_matching:
        adapter: MapAdapter = url_map.bind(domain, url_scheme=scheme)
    else:
        adapter = url_map.bind("example.com", subdomain=domain, url_scheme=scheme)
    try:
        rule, values = adapter.match(path, method, return_rule=True)
    except HTTPException as error:  # the redirects are HTTP exceptions too
        methods = error.valid_methods if isinstance(error, MethodNotAllowed) else None
        return type(error).__name__, frozenset(methods or ())
    assert isinstance(rule, Rule)
    return rule, dict(values)


def assert_same_answer(
    url_map: Map, domain: str, path: str, method: str, websocket: bool
) -> str | None:
    """Check the matcher's answer against werkzeug's: ``"hit"`` or ``"miss"`` when it
    answered, ``None`` when it left the answer to werkzeug (which is then werkzeug's by
    construction: the caller asks werkzeug)."""
    matcher = url_map._matcher
    assert isinstance(matcher, Matcher)
    # As requests hold it, and as werkzeug's adapter matches it: one leading slash.
    answer = matcher.answer(domain, "/" + path.lstrip("/"), method, websocket)
    if answer is None:
        return None
    expected = werkzeug_answer(url_map, domain, path, method, websocket)
    if isinstance(answer, NoMatch):
        if answer.have_match_for:
            name = "MethodNotAllowed"
        elif answer.websocket_mismatch:
            name = "WebsocketMismatch"
        else:
            name = "NotFound"
        assert expected == (name, frozenset(answer.have_match_for)), (path, method, websocket)
        return "miss"
    assert isinstance(expected[0], Rule), (path, method, websocket, expected)
    assert answer[0] is expected[0], (path, method, websocket)
    assert answer[1] == expected[1], (path, method, websocket)
    return "hit"


@pytest.mark.parametrize("websocket", [False, True])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("path", PATHS)
def test_every_answer_is_werkzeug_s(path: str, method: str, websocket: bool) -> None:
    answer = assert_same_answer(tricky_map(), "", path, method, websocket)
    if method == "GET" and not websocket:
        assert (answer == "hit") == (path in PLAIN_HITS)
        assert (answer == "miss") == (path in PLAIN_MISSES)


@pytest.mark.parametrize(
    ("domain", "path"),
    [("api", "/"), ("jo", "/7"), ("jo", "/x"), ("", "/7"), ("api", "/items/42")],
)
def test_subdomains_are_matched_as_werkzeug_matches_them(domain: str, path: str) -> None:
    assert_same_answer(tricky_map(), domain, path, "GET", websocket=False)


@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("example.com", "/"),
        ("other.example.com", "/"),
        ("example.com", "/items/42"),
        ("other.example.com", "/items/42"),
        ("example.org", "/"),
    ],
)
def test_hosts_are_matched_as_werkzeug_matches_them(host: str, path: str) -> None:
    assert_same_answer(tricky_map(host_matching=True), host, path, "GET", websocket=False)


def test_a_rule_added_after_matching_is_found() -> None:
    url_map = tricky_map()
    assert assert_same_answer(url_map, "", "/late/3", "GET", websocket=False) == "miss"
    url_map.add(Rule("/late/<int:n>", endpoint="late"))
    assert assert_same_answer(url_map, "", "/late/3", "GET", websocket=False) == "hit"
    # A rule that provides defaults for an endpoint turns its other rule's hits into
    # redirects: the matcher leaves those to werkzeug.
    url_map.add(Rule("/late/", endpoint="late", defaults={"n": 3}))
    assert assert_same_answer(url_map, "", "/late/3", "GET", websocket=False) is None
    # Unless the map does not redirect to defaults.
    url_map.redirect_defaults = False
    assert assert_same_answer(url_map, "", "/late/3", "GET", websocket=False) == "hit"


SEGMENTS = (
    *("", "items", "new", "42", "-1", "parts", "a", "b", "loose", "loose-dir", "even", "4"),
    *("3", "dotted", "end", "files", "raw", "any", "floats", "1.5", "pages", "both", "ws", "x"),
    "deep",
)
segment = st.sampled_from(SEGMENTS)


@settings(
    max_examples=int(os.environ.get("TRIOFRAME_HYPOTHESIS_EXAMPLES", "300")),
    derandomize="TRIOFRAME_HYPOTHESIS_EXAMPLES" not in os.environ,
    database=None,
    deadline=None,
)
@given(
    segments=st.lists(segment, max_size=5),
    method=st.sampled_from(METHODS),
    websocket=st.booleans(),
)
def test_any_path_gets_werkzeug_s_answer(segments: list[str], method: str, websocket: bool) -> None:
    assert_same_answer(tricky_map(), "", "/" + "/".join(segments), method, websocket)


async def test_a_hit_binds_no_map_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Trioframe(__name__)
    bound: list[str] = []
    original_bind = Map.bind

    def counting_bind(url_map: Map, *args: Any, **kwargs: Any) -> MapAdapter:
        bound.append(kwargs.get("path_info") or "")
        return original_bind(url_map, *args, **kwargs)

    monkeypatch.setattr(Map, "bind", counting_bind)

    @app.get("/items/<int:item_id>")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    @app.get("/link")
    async def link() -> str:
        return url_for("item", item_id=3)

    client = app.test_client()
    response = await client.get("/items/7")
    assert await response.get_json() == {"item_id": 7}
    assert bound == []
    # Nor does a plain miss.
    assert (await client.get("/items/x")).status_code == 404
    assert (await client.post("/items/7")).headers["Allow"] == "GET, HEAD, OPTIONS"
    assert bound == []
    # A redirect is werkzeug's answer, from an adapter bound then; so is OPTIONS.
    assert (await client.get("/items//7")).headers["Location"].endswith("/items/7")
    assert (await client.options("/items/7")).headers["Allow"] == "GET, HEAD, OPTIONS"
    assert bound == ["/items//7", "/items/7"]
    # URL building binds one too.
    assert await (await client.get("/link")).get_data(as_text=True) == "/items/3"
    assert bound[-1] == "/link"
