"""JSON in and out through the test client and direct calls: the provider, ``jsonify``, client
JSON errors."""

from __future__ import annotations

import dataclasses
import decimal
import json
import uuid
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing

from trioframe import JSONProvider, Trioframe, request

if TYPE_CHECKING:
    from trioframe.testing import TestClient


JSON_TYPE = {"Content-Type": "application/json"}


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Markup:
    def __html__(self) -> str:
        return "<em>safe</em>"


def test_dumps_handles_common_python_types(app: Trioframe) -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    text = app.json.dumps(
        {
            "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "day": date(2026, 1, 2),
            "price": decimal.Decimal("9.99"),
            "id": ident,
            "point": Point(1, 2),
            "markup": Markup(),
        }
    )
    assert app.json.loads(text) == {
        "when": "Fri, 02 Jan 2026 03:04:05 GMT",
        "day": "Fri, 02 Jan 2026 00:00:00 GMT",
        "price": "9.99",
        "id": str(ident),
        "point": {"x": 1, "y": 2},
        "markup": "<em>safe</em>",
    }


def test_unknown_types_get_a_helpful_error(app: Trioframe) -> None:
    with pytest.raises(TypeError, match="not JSON serializable; convert it"):
        app.json.dumps({"x": object()})


def test_keys_sorted_and_ascii_by_default(app: Trioframe) -> None:
    assert app.json.dumps({"b": 1, "a": "é"}) == '{"a": "\\u00e9", "b": 1}'


async def test_debug_responses_are_indented(app: Trioframe, client: TestClient) -> None:
    @app.get("/")
    async def index() -> dict[str, int]:
        return {"a": 1}

    app.debug = True
    assert await (await client.get("/")).get_data() == b'{\n  "a": 1\n}\n'


async def test_a_custom_provider(client: TestClient, app: Trioframe) -> None:
    class Unsorted(JSONProvider):
        sort_keys = False
        ensure_ascii = False
        mimetype = "application/vnd.api+json"

    app.json = Unsorted(app)

    @app.get("/")
    async def index() -> dict[str, str]:
        return {"z": "é", "a": "b"}

    response = await client.get("/")
    assert response.mimetype == "application/vnd.api+json"
    assert await response.get_data(as_text=True) == '{"z":"é","a":"b"}\n'


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[1,]",
        '{"a": 1,}',
        "[1 2]",
        '{"a" 1}',
        "{1: 2}",
        '{"a": 1} x',
        "[",
        '{"a": [1, }',
        "\ufeff[]",
        "[NaN, tru]",
        '"unterminated',
    ],
)
async def test_json_parsed_in_pieces_refuses_what_json_loads_refuses(
    app: Trioframe, text: str
) -> None:
    with pytest.raises(json.JSONDecodeError) as by_loads:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as in_pieces:
        await app.json.loads_in_pieces(text, piece_chars=1)
    assert str(in_pieces.value) == str(by_loads.value)


async def test_a_large_json_body_lets_other_requests_run(app: Trioframe) -> None:
    items = [{"id": number, "name": f"item {number}"} for number in range(20_000)]
    body = json.dumps({"items": items}).encode()
    assert len(body) > app.config["JSON_PIECEWISE_THRESHOLD"]
    ran_meanwhile: list[int] = []

    @app.post("/import")
    async def import_items() -> dict[str, int]:
        async with trio.open_nursery() as nursery:
            turns = [0]

            async def other_request() -> None:
                while True:
                    turns[0] += 1
                    await trio.lowlevel.checkpoint()

            nursery.start_soon(other_request)
            await request.get_data()  # the body is in; from here on, only the parse
            started = turns[0]
            parsed = await request.get_json()
            ran_meanwhile.append(turns[0] - started)
            nursery.cancel_scope.cancel()
        return {"count": len(parsed["items"])}

    client = app.test_client()
    for threshold in (app.config["JSON_PIECEWISE_THRESHOLD"], None):
        app.config["JSON_PIECEWISE_THRESHOLD"] = threshold
        response = await client.post("/import", data=body, headers=JSON_TYPE)
        assert await response.get_json() == {"count": 20_000}
    pieces, whole = ran_meanwhile
    assert pieces >= 10  # the parse let the other task run, again and again
    assert whole <= 2  # parsed at once: it waited for nothing


async def test_a_provider_with_another_parser_is_called_whole(app: Trioframe) -> None:
    calls: list[str] = []

    class Counting(JSONProvider):
        def loads(self, data: str | bytes, **kwargs: Any) -> Any:
            calls.append("loads")
            return super().loads(data, **kwargs)

    app.json = Counting(app)
    with trio.testing.assert_checkpoints():
        assert await app.json.loads_in_pieces(b'{"a": [1, 2]}') == {"a": [1, 2]}
    assert calls == ["loads"]


@pytest.mark.parametrize("piece_chars", [1, 7, 64, 1000])
async def test_runs_of_items_split_only_between_items(app: Trioframe, piece_chars: int) -> None:
    # Separators inside strings and nested values must never be taken for the array's own.
    record = {"text": 'a,b},{"c": 1],[', "nested": [{"x": [1, 2]}, {"y": "},"}], "n": 1.5}
    document = json.dumps({"records": [record] * 200, "tail": [[1, 2], [3, [4, 5]]] * 50})
    parsed = await app.json.loads_in_pieces(document, piece_chars=piece_chars)
    assert parsed == json.loads(document)


async def test_the_encoders_made_once_follow_the_options(app: Trioframe) -> None:
    value = {"b": 1, "a": [1, 2]}
    assert app.json.dumps(value) == '{"a": [1, 2], "b": 1}'
    assert app.json.dumps(value, indent=2) == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}'
    assert app.json.dumps(value, separators=[",", ":"]) == '{"a":[1,2],"b":1}'  # a list
    assert app.json.dumps(value, sort_keys=False) == '{"b": 1, "a": [1, 2]}'
    assert app.json.dumps(value, allow_nan=False) == '{"a": [1, 2], "b": 1}'  # via dumps
    assert app.json.dumps(value) == '{"a": [1, 2], "b": 1}'  # the first encoder, again
