from __future__ import annotations

import dataclasses
import decimal
import uuid
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest

from trioframe import JSONProvider, Trioframe

if TYPE_CHECKING:
    from trioframe.testing import TestClient


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
