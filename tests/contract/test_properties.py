"""Properties that hold for every input hypothesis can think of, through the test client.

- Routing: a URL built with ``url_for`` routes back to the same endpoint and values.
- Headers: any valid header a client sends reaches the view unchanged, any valid header a
  view sets reaches the client unchanged, and a value with a line break never reaches it.
- Return values: every shape a view may return becomes the response it describes.
- JSON: a document parsed in pieces is what ``json.loads`` makes of it.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from trioframe import Response, Trioframe, request, url_for

# The same examples on every run, so a red CI always means a change broke something; set
# TRIOFRAME_HYPOTHESIS_EXAMPLES to search further on a developer's machine.
PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("TRIOFRAME_HYPOTHESIS_EXAMPLES", "200")),
    derandomize="TRIOFRAME_HYPOTHESIS_EXAMPLES" not in os.environ,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text a URL may carry: any character but surrogates (not encodable) and NUL.
url_text = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=1
)
# A path segment: URL text without a slash, and not "." or "..", which clients resolve.
segment = url_text.filter(lambda text: "/" not in text and text not in {".", ".."})
# werkzeug's path converter matches with ".", which stops at a newline: such a URL is built
# but never routed, in Flask too.
path_segment = segment.filter(lambda text: "\n" not in text)


def routing_app() -> Trioframe:
    app = Trioframe("tests")

    @app.get("/items/<int:item_id>")
    async def item(item_id: int) -> dict[str, Any]:
        return {"endpoint": "item", "values": {"item_id": item_id}}

    @app.get("/users/<name>/posts/<int:number>")
    async def post(name: str, number: int) -> dict[str, Any]:
        return {"endpoint": "post", "values": {"name": name, "number": number}}

    @app.get("/files/<path:name>")
    async def file(name: str) -> dict[str, Any]:
        return {"endpoint": "file", "values": {"name": name}}

    @app.get("/things/<uuid:ident>")
    async def thing(ident: uuid.UUID) -> dict[str, Any]:
        return {"endpoint": "thing", "values": {"ident": str(ident)}}

    @app.get("/build")
    async def build() -> str:
        values = json.loads(request.args["values"])
        if request.args["endpoint"] == "thing":
            values["ident"] = uuid.UUID(values["ident"])
        return url_for(request.args["endpoint"], **values)

    return app


ROUTING_APP = routing_app()
endpoint_values = st.one_of(
    st.tuples(st.just("item"), st.fixed_dictionaries({"item_id": st.integers(0, 10**30)})),
    st.tuples(
        st.just("post"),
        st.fixed_dictionaries({"name": segment, "number": st.integers(0, 10**6)}),
    ),
    st.tuples(
        st.just("file"),
        st.fixed_dictionaries(
            {"name": st.lists(path_segment, min_size=1, max_size=4).map("/".join)}
        ),
    ),
    st.tuples(st.just("thing"), st.fixed_dictionaries({"ident": st.uuids().map(str)})),
)


@PROPERTY_SETTINGS
@given(endpoint_values)
async def test_urls_built_for_an_endpoint_route_back_to_it(
    endpoint_and_values: tuple[str, dict[str, Any]],
) -> None:
    endpoint, values = endpoint_and_values
    client = ROUTING_APP.test_client()
    built = await client.get(
        "/build", query_string={"endpoint": endpoint, "values": json.dumps(values)}
    )
    assert built.status_code == 200
    url = await built.get_data(as_text=True)
    routed = await client.get(url)
    assert routed.status_code == 200, url
    assert await routed.get_json() == {"endpoint": endpoint, "values": values}


# Headers ---------------------------------------------------------------------------------

# RFC 9110 tokens for names; visible latin-1 text with inner spaces and tabs for values.
header_name = st.text(
    st.sampled_from(
        "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ),
    min_size=1,
    max_size=30,
).filter(lambda name: name.lower() not in {"host", "content-length", "transfer-encoding"})
header_value = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=60,
).map(str.strip)


def headers_app() -> Trioframe:
    app = Trioframe("tests")
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets

    @app.get("/echo-headers")
    async def echo_headers() -> dict[str, list[str]]:
        names = json.loads(request.args["names"])
        return {name: request.headers.getlist(name) for name in names}

    @app.get("/set-header")
    async def set_header() -> Response:
        response = Response("set")
        response.headers[request.args["name"]] = request.args["value"]
        return response

    return app


HEADERS_APP = headers_app()


@PROPERTY_SETTINGS
@given(st.lists(st.tuples(header_name, header_value), min_size=1, max_size=5))
async def test_request_headers_reach_the_view_unchanged(headers: list[tuple[str, str]]) -> None:
    client = HEADERS_APP.test_client()
    names = sorted({name.lower() for name, _ in headers})
    response = await client.get(
        "/echo-headers", headers=Headers(headers), query_string={"names": json.dumps(names)}
    )
    seen = await response.get_json()
    for name in names:
        sent = [value for sent_name, value in headers if sent_name.lower() == name]
        assert seen[name] == sent


@PROPERTY_SETTINGS
@given(header_name.filter(lambda name: name.lower() != "content-type"), header_value)
async def test_response_headers_reach_the_client_unchanged(name: str, value: str) -> None:
    client = HEADERS_APP.test_client()
    response = await client.get("/set-header", query_string={"name": name, "value": value})
    assert response.status_code == 200
    assert response.headers[name] == value


@PROPERTY_SETTINGS
@given(header_value, st.sampled_from(["\r", "\n", "\r\n"]), header_value)
async def test_a_header_value_with_a_line_break_never_reaches_the_client(
    before: str, line_break: str, after: str
) -> None:
    client = HEADERS_APP.test_client()
    value = f"{before}{line_break}Set-Cookie: injected={after}"
    response = await client.get("/set-header", query_string={"name": "X-Echo", "value": value})
    assert response.status_code == 500
    assert "X-Echo" not in response.headers
    assert "injected" not in str(response.headers)


# Return values ---------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    st.text(max_size=50),
    st.binary(max_size=50),
    st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    st.lists(json_values, max_size=4),
)
statuses = st.integers(200, 599)
header_sets = st.dictionaries(
    header_name.filter(lambda name: name.lower() not in {"content-type", "content-length"}),
    header_value,
    max_size=3,
)


@PROPERTY_SETTINGS
@given(bodies, st.none() | statuses, st.none() | header_sets)
async def test_every_return_shape_becomes_the_response_it_describes(
    body: Any, status: int | None, headers: dict[str, str] | None
) -> None:
    app = Trioframe("tests")
    rv: Any = body
    if status is not None and headers is not None:
        rv = (body, status, headers)
    elif status is not None:
        rv = (body, status)
    elif headers is not None:
        rv = (body, headers)
    async with app.app_context():
        response = await app.make_response(rv)
    assert response.status_code == (status if status is not None else 200)
    data = await response.get_data()
    if isinstance(body, str):
        assert data == body.encode()
        assert response.mimetype == "text/html"
    elif isinstance(body, bytes):
        assert data == body
    else:
        assert json.loads(data) == body
        assert response.mimetype == "application/json"
    assert response.headers["Content-Length"] == str(len(data))
    for name, value in (headers or {}).items():
        assert response.headers[name] == value


@pytest.mark.parametrize("rv", [None, 3.5, ("body",), ("a", 200, {}, "extra"), object()])
async def test_what_is_not_a_response_is_a_clear_type_error(rv: object) -> None:
    app = Trioframe("tests")
    async with app.app_context():
        with pytest.raises(TypeError, match="return"):
            await app.make_response(rv)  # type: ignore[arg-type]  # invalid on purpose


# JSON ------------------------------------------------------------------------------------

json_leaves: st.SearchStrategy[Any] = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(st.characters(blacklist_categories=["Cs"]))
)
json_documents = st.recursive(
    json_leaves,
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)
JSON_APP = Trioframe(__name__)


@PROPERTY_SETTINGS
@given(json_documents, st.sampled_from([0, 1, 2]), st.integers(1, 64))
async def test_json_parsed_in_pieces_is_what_json_loads_gives(
    value: Any, indent: int, piece_chars: int
) -> None:
    text = json.dumps(value, indent=indent or None)
    parsed = await JSON_APP.json.loads_in_pieces(text.encode(), piece_chars=piece_chars)
    assert parsed == json.loads(text)
