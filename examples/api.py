"""A small JSON API: a blueprint of book endpoints, JSON errors, and an app nursery task.

Serve it with ``trioframe run examples/api.py:app``; try ``curl localhost:5000/api/books/``.

Every error is JSON, whoever raised it: the app's handler turns any ``HTTPException`` into
``{"error": ..., "description": ...}``, and the blueprint's own handler turns a missing book
into a 404 of that shape. The books live in memory, so the example needs no database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from trioframe import Blueprint, HTTPException, Trioframe, abort, request, url_for

app = Trioframe(__name__)
books = Blueprint("books", __name__, url_prefix="/api/books")

#: The longest title accepted, in characters.
MAX_TITLE_LENGTH = 200


@dataclass
class Book:
    id: int
    title: str
    author: str


class BookNotFound(LookupError):
    """No book has this id."""


class Library:
    """The books, in memory."""

    def __init__(self) -> None:
        self.books: dict[int, Book] = {}
        self.next_id = 1

    def add(self, title: str, author: str) -> Book:
        book = Book(self.next_id, title, author)
        self.books[book.id] = book
        self.next_id += 1
        return book

    def get(self, book_id: int) -> Book:
        try:
            return self.books[book_id]
        except KeyError:
            raise BookNotFound(book_id) from None


library = Library()


def book_json(book: Book) -> dict[str, Any]:
    return {**asdict(book), "url": url_for("books.get_book", book_id=book.id)}


@books.get("/")
async def list_books() -> list[dict[str, Any]]:
    return [book_json(book) for book in library.books.values()]


@books.post("/")
async def add_book() -> tuple[dict[str, Any], int, dict[str, str]]:
    data = await request.get_json()  # not JSON: 415; malformed: 400
    if not isinstance(data, dict):
        abort(422, "Send a JSON object with a title and an author.")
    book = library.add(text_field(data, "title"), text_field(data, "author"))
    return book_json(book), 201, {"Location": url_for("books.get_book", book_id=book.id)}


def text_field(data: dict[str, Any], field: str) -> str:
    """``data[field]`` stripped, or a 422 saying what is wrong with it."""
    value = data.get(field)
    if not isinstance(value, str) or not 0 < len(value.strip()) <= MAX_TITLE_LENGTH:
        abort(422, f"'{field}' must be text of 1 to {MAX_TITLE_LENGTH} characters.")
    return value.strip()


@books.get("/<int:book_id>")
async def get_book(book_id: int) -> dict[str, Any]:
    return book_json(library.get(book_id))


@books.delete("/<int:book_id>")
async def delete_book(book_id: int) -> tuple[str, int]:
    library.get(book_id)  # 404 if it does not exist
    del library.books[book_id]
    return "", 204


@books.errorhandler(BookNotFound)
async def book_not_found(error: BookNotFound) -> tuple[dict[str, str], int]:
    return {"error": "Not Found", "description": f"There is no book {error.args[0]}."}, 404


@app.errorhandler(HTTPException)
async def json_error(error: HTTPException) -> tuple[dict[str, str], int, dict[str, str]]:
    return {"error": error.name, "description": error.description}, error.code, dict(error.headers)


app.register_blueprint(books)
