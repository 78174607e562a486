"""Form and multipart bodies through the test client: limits, spooling to disk, files closed at
the end."""

from __future__ import annotations

import io
from typing import IO, TYPE_CHECKING, Any

import pytest
import trio
from werkzeug.datastructures import MultiDict

from tests.support.leaks import open_temporary_files
from trioframe import Trioframe, request

if TYPE_CHECKING:
    from pathlib import Path

    from trioframe.testing import TestClient


async def test_urlencoded_form(app: Trioframe, client: TestClient) -> None:
    @app.post("/form")
    async def form() -> dict[str, Any]:
        data = await request.form
        return {"name": data["name"], "tags": data.getlist("tag"), "empty": data["empty"]}

    response = await client.post(
        "/form",
        form=MultiDict([("name", "Ada Lovelace"), ("tag", "a"), ("tag", "b&c"), ("empty", "")]),
    )
    assert await response.get_json() == {"name": "Ada Lovelace", "tags": ["a", "b&c"], "empty": ""}


async def test_urlencoded_form_with_too_many_fields_is_413(
    app: Trioframe, client: TestClient
) -> None:
    app.config["MAX_FORM_PARTS"] = 3

    @app.post("/form")
    async def form() -> str:
        return str(len(await request.form))

    assert (
        await (await client.post("/form", form={"a": "1", "b": "2", "c": "3"})).get_data() == b"3"
    )
    response = await client.post("/form", form={str(n): "x" for n in range(4)})
    assert response.status_code == 413
    assert "MAX_FORM_PARTS" in await response.get_data(as_text=True)


async def test_urlencoded_form_over_memory_limit_is_413(app: Trioframe, client: TestClient) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 100

    @app.post("/form")
    async def form() -> str:
        return str(len(await request.form))

    response = await client.post("/form", form={"big": "x" * 200})
    assert response.status_code == 413
    chunked = await client.post(
        "/form",
        data="big=" + "x" * 200,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Transfer-Encoding": "chunked",
        },
    )
    assert chunked.status_code == 413


async def test_multipart_fields_and_files(
    app: Trioframe, client: TestClient, tmp_path: Path
) -> None:
    @app.post("/upload")
    async def upload() -> dict[str, Any]:
        form = await request.form
        files = await request.files
        saved = tmp_path / "saved.txt"
        await files["report"].save(saved)
        photos = files.getlist("photo")
        return {
            "title": form["title"],
            "report": [files["report"].filename, files["report"].mimetype, saved.read_text()],
            "photos": [(p.filename, p.stream.read().decode()) for p in photos],
        }

    response = await client.post(
        "/upload",
        form={"title": "Quarterly"},
        files={
            "report": (b"all good", "report.txt", "text/plain"),
            "photo": [(io.BytesIO(b"one"), "1.jpg"), (b"two", "2.jpg")],
        },
    )
    assert await response.get_json() == {
        "title": "Quarterly",
        "report": ["report.txt", "text/plain", "all good"],
        "photos": [["1.jpg", "one"], ["2.jpg", "two"]],
    }


async def test_large_file_parts_are_spooled_to_disk_and_removed(
    app: Trioframe, client: TestClient
) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 1024
    streams: list[IO[bytes]] = []

    @app.post("/upload")
    async def upload() -> dict[str, Any]:
        files = await request.files
        small, big = files["small"], files["big"]
        streams.extend([small.stream, big.stream])
        return {
            "small_in_memory": isinstance(small.stream, io.BytesIO),
            "big_on_disk": not isinstance(big.stream, io.BytesIO),
            "big_size": len(await trio.to_thread.run_sync(big.stream.read)),
        }

    response = await client.post(
        "/upload",
        files={"small": (b"s" * 100, "small.bin"), "big": (b"b" * 100_000, "big.bin")},
    )
    assert await response.get_json() == {
        "small_in_memory": True,
        "big_on_disk": True,
        "big_size": 100_000,
    }
    assert all(stream.closed for stream in streams)


async def test_multipart_field_over_memory_limit_is_413(app: Trioframe, client: TestClient) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 1024

    @app.post("/upload")
    async def upload() -> str:
        return str(len(await request.form))

    response = await client.post("/upload", form={"note": "x" * 2000}, files={"f": (b"f", "f.txt")})
    assert response.status_code == 413
    text = await response.get_data(as_text=True)
    assert "note" in text
    assert "MAX_FORM_MEMORY_SIZE" in text


async def test_multipart_with_too_many_parts_is_413(app: Trioframe, client: TestClient) -> None:
    app.config["MAX_FORM_PARTS"] = 2

    @app.post("/upload")
    async def upload() -> str:
        return str(len(await request.files))

    response = await client.post(
        "/upload", files={name: (b"x", f"{name}.txt") for name in ("a", "b", "c")}
    )
    assert response.status_code == 413
    assert "MAX_FORM_PARTS" in await response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("content_type", "body", "status", "message"),
    [
        ("multipart/form-data", b"--x\r\n", 400, "no boundary"),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nunfinished',
            400,
            "malformed",
        ),
        (
            "multipart/form-data; boundary=x",
            b"--x\r\nNo-Disposition: 1\r\n\r\nv\r\n--x--\r\n",
            400,
            "malformed",
        ),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="a"\r\n' + b"X-Padding: " + b"p" * 3000,
            413,
            "part header",
        ),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="a"\r\n'
            b"Content-Type: text/plain; charset=no-such-charset\r\n\r\nv\r\n--x--\r\n",
            400,
            "Unknown charset",
        ),
    ],
)
async def test_bad_multipart_bodies(
    app: Trioframe, client: TestClient, content_type: str, body: bytes, status: int, message: str
) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 1024

    @app.post("/upload")
    async def upload() -> str:
        return str(len(await request.form))

    response = await client.post("/upload", data=body, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert message in await response.get_data(as_text=True)


async def test_spooled_files_are_removed_when_the_request_ends(
    app: Trioframe, client: TestClient
) -> None:
    app.config.update(MAX_FORM_MEMORY_SIZE=1024, MAX_FORM_PARTS=2)
    during: list[int] = []

    @app.post("/upload")
    async def upload() -> str:
        files = await request.files
        during.append(open_temporary_files())
        return str(len(files))

    before = open_temporary_files()
    ok = await client.post("/upload", files={"a": (b"z" * 5000, "a.bin")})
    assert ok.status_code == 200
    assert during == [before + 1]  # the upload was on disk while the view ran
    refused = await client.post(
        "/upload", files={name: (b"z" * 5000, f"{name}.bin") for name in ("a", "b", "c")}
    )
    assert refused.status_code == 413  # two parts were spooled before the third was refused
    assert open_temporary_files() == before


async def test_file_storage_save_to_an_open_file(app: Trioframe, client: TestClient) -> None:
    target = io.BytesIO()

    @app.post("/upload")
    async def upload() -> str:
        await (await request.files)["doc"].save(target)
        return "saved"

    await client.post("/upload", files={"doc": (b"contents", "doc.txt")})
    assert target.getvalue() == b"contents"


async def test_truncated_upload_is_400_and_leaves_no_files(
    app: Trioframe, client: TestClient
) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 1024

    @app.post("/upload")
    async def upload() -> str:
        return str(len(await request.files))

    before = open_temporary_files()
    body = (
        b'--x\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\n\r\n' + b"d" * 5000
    )
    response = await client.post(
        "/upload", data=body, headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert response.status_code == 400
    assert "malformed" in await response.get_data(as_text=True)
    assert open_temporary_files() == before


async def test_form_is_parsed_once(app: Trioframe, client: TestClient) -> None:
    @app.post("/twice")
    async def twice() -> dict[str, bool]:
        first_form, first_files = await request.form, await request.files
        return {"same": first_form is await request.form and first_files is await request.files}

    response = await client.post("/twice", form={"a": "1"}, files={"f": (b"x", "x.txt")})
    assert await response.get_json() == {"same": True}
