"""The JSON API example through the test client: a blueprint, JSON errors everywhere."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from examples import api

if TYPE_CHECKING:
    from collections.abc import Iterator

    from trioframe.testing import TestClient


@pytest.fixture
def client() -> Iterator[TestClient]:
    api.library.books.clear()
    yield api.app.test_client()
    api.library.books.clear()


async def test_add_list_get_and_delete(client: TestClient) -> None:
    created = await client.post("/api/books/", json={"title": " Dune ", "author": "Herbert"})
    assert created.status_code == 201
    book = await created.get_json()
    assert book == {"id": book["id"], "title": "Dune", "author": "Herbert", "url": book["url"]}
    assert created.headers["Location"] == book["url"] == f"/api/books/{book['id']}"
    assert await (await client.get("/api/books/")).get_json() == [book]
    assert await (await client.get(book["url"])).get_json() == book
    deleted = await client.delete(book["url"])
    assert deleted.status_code == 204
    assert await (await client.get("/api/books/")).get_json() == []


@pytest.mark.parametrize(
    ("body", "status", "description"),
    [
        ({"json": ["not", "an", "object"]}, 422, "Send a JSON object"),
        ({"json": {"title": "", "author": "x"}}, 422, "'title' must be text"),
        ({"json": {"title": "x", "author": 3}}, 422, "'author' must be text"),
        ({"data": "{", "headers": {"Content-Type": "application/json"}}, 400, "JSON"),
        ({"data": "title=x"}, 415, "Content-Type"),
    ],
)
async def test_bad_books_get_json_errors(
    client: TestClient, body: dict[str, object], status: int, description: str
) -> None:
    response = await client.post("/api/books/", **body)  # type: ignore[arg-type]
    assert response.status_code == status
    error = await response.get_json()
    assert description in error["description"]


async def test_every_error_is_json(client: TestClient) -> None:
    missing = await client.get("/api/books/41")
    assert missing.status_code == 404
    assert await missing.get_json() == {
        "error": "Not Found",
        "description": "There is no book 41.",
    }
    assert (await client.delete("/api/books/41")).status_code == 404
    nowhere = await client.get("/nowhere")
    assert (await nowhere.get_json())["error"] == "Not Found"
    wrong_method = await client.put("/api/books/")
    assert wrong_method.status_code == 405
    assert "GET" in wrong_method.headers["Allow"]
    assert (await wrong_method.get_json())["error"] == "Method Not Allowed"


async def test_the_documented_curl_url_answers_as_printed(client: TestClient) -> None:
    assert api.__doc__ is not None
    urls = re.findall(r"curl localhost:5000(\S+?)``", api.__doc__)
    assert urls
    for url in urls:
        response = await client.get(url)
        assert response.status_code == 200, f"{url} answers {response.status_code}"
