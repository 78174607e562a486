"""Static files and ``send_file`` through the test client: ranges, conditional requests,
caching, unsafe paths."""

from __future__ import annotations

import io
import logging
import os
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING

import pytest
from werkzeug.http import http_date

from trioframe import (
    Blueprint,
    Response,
    Trioframe,
    send_file,
    send_from_directory,
    url_for,
)
from trioframe._conditional import MAX_BYTE_RANGES
from trioframe._files import content_disposition

if TYPE_CHECKING:
    from pathlib import Path

    from trioframe.testing import TestClient, TestResponse

CONTENT = b"0123456789abcdefghij"  # 20 bytes


@pytest.fixture
def app(tmp_path: Path) -> Trioframe:
    (tmp_path / "static" / "css").mkdir(parents=True)
    (tmp_path / "static" / "data.bin").write_bytes(CONTENT)
    (tmp_path / "static" / "css" / "app.css").write_text("body { color: teal; }")
    (tmp_path / "secret.txt").write_text("top secret")
    app = Trioframe("tests", root_path=str(tmp_path))
    app.testing = True
    return app


async def get(client: TestClient, path: str, **headers: str) -> TestResponse:
    return await client.get(
        path, headers={name.replace("_", "-"): v for name, v in headers.items()}
    )


async def test_static_files_are_served(app: Trioframe, client: TestClient) -> None:
    response = await client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/css; charset=utf-8"
    assert response.headers["Content-Length"] == "21"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["ETag"].startswith('"')
    assert response.headers["Last-Modified"].endswith("GMT")
    assert await response.get_data() == b"body { color: teal; }"
    binary = await client.get("/static/data.bin")
    assert binary.headers["Content-Type"] == "application/octet-stream"
    assert await binary.get_data() == CONTENT
    async with app.test_request_context("/"):
        assert url_for("static", filename="css/app.css") == "/static/css/app.css"


async def test_head_sends_the_headers_only(client: TestClient) -> None:
    response = await client.head("/static/data.bin")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == "20"
    assert await response.get_data() == b""


async def test_conditional_requests(client: TestClient) -> None:
    first = await client.get("/static/data.bin")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    not_modified = await get(client, "/static/data.bin", If_None_Match=etag)
    assert not_modified.status_code == 304
    assert await not_modified.get_data() == b""
    assert not_modified.headers["ETag"] == etag
    assert "Content-Length" not in not_modified.headers
    assert (await get(client, "/static/data.bin", If_None_Match=f"W/{etag}")).status_code == 304
    assert (await get(client, "/static/data.bin", If_None_Match='"other"')).status_code == 200
    assert (await get(client, "/static/data.bin", If_Modified_Since=modified)).status_code == 304
    earlier = http_date(datetime.now(UTC) - timedelta(days=365))
    assert (await get(client, "/static/data.bin", If_Modified_Since=earlier)).status_code == 200
    assert (await get(client, "/static/data.bin", If_Match=etag)).status_code == 200
    assert (await get(client, "/static/data.bin", If_Match="*")).status_code == 200
    assert (await get(client, "/static/data.bin", If_Match='"other"')).status_code == 412
    assert (await get(client, "/static/data.bin", If_Match=f"W/{etag}")).status_code == 412
    assert (await get(client, "/static/data.bin", If_Unmodified_Since=earlier)).status_code == 412
    assert (await get(client, "/static/data.bin", If_Unmodified_Since=modified)).status_code == 200


async def test_conditions_on_other_methods(app: Trioframe, client: TestClient) -> None:
    @app.put("/upload")
    async def upload() -> Response:
        return await send_file(os.path.join(app.root_path, "static", "data.bin"))

    etag = (await client.get("/static/data.bin")).headers["ETag"]
    # For a PUT, a matching If-None-Match means "only if it does not exist yet": 412.
    assert (await client.put("/upload", headers={"If-None-Match": etag})).status_code == 412
    assert (await client.put("/upload", headers={"Range": "bytes=0-1"})).status_code == 200


@pytest.mark.parametrize(
    ("header", "content_range", "body"),
    [
        ("bytes=0-4", "bytes 0-4/20", CONTENT[:5]),
        ("bytes=5-", "bytes 5-19/20", CONTENT[5:]),
        ("bytes=-3", "bytes 17-19/20", CONTENT[-3:]),
        ("bytes=15-1000", "bytes 15-19/20", CONTENT[15:]),
        ("bytes=-50", "bytes 0-19/20", CONTENT),
    ],
)
async def test_single_ranges(
    client: TestClient, header: str, content_range: str, body: bytes
) -> None:
    response = await get(client, "/static/data.bin", Range=header)
    assert response.status_code == 206
    assert response.headers["Content-Range"] == content_range
    assert response.headers["Content-Length"] == str(len(body))
    assert await response.get_data() == body


async def test_multiple_ranges(client: TestClient) -> None:
    response = await get(client, "/static/data.bin", Range="bytes=0-1, 10-12, 100-200, -2")
    assert response.status_code == 206
    content_type = response.headers["Content-Type"]
    assert content_type.startswith("multipart/byteranges; boundary=")
    body = await response.get_data()
    assert response.headers["Content-Length"] == str(len(body))
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    parts = [
        (part["Content-Range"], part["Content-Type"], part.get_payload(decode=True))
        for part in message.iter_parts()
    ]
    assert (
        parts
        == [  # the range outside the file is left out
            ("bytes 0-1/20", "application/octet-stream", CONTENT[0:2]),
            ("bytes 10-12/20", "application/octet-stream", CONTENT[10:13]),
            ("bytes 18-19/20", "application/octet-stream", CONTENT[18:]),
        ]
    )


@pytest.mark.parametrize("header", ["bytes=20-30", "bytes=100-", "bytes=abc", "bytes=5-2"])
async def test_unsatisfiable_or_malformed_ranges_are_416(client: TestClient, header: str) -> None:
    response = await get(client, "/static/data.bin", Range=header)
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */20"


async def test_ranges_that_are_ignored(client: TestClient) -> None:
    whole = await get(client, "/static/data.bin", Range="items=0-1")  # unknown unit
    assert (whole.status_code, await whole.get_data()) == (200, CONTENT)
    many = ",".join(f"{i}-{i}" for i in range(MAX_BYTE_RANGES + 1))
    assert (await get(client, "/static/data.bin", Range=f"bytes={many}")).status_code == 200
    head = await client.head("/static/data.bin", headers={"Range": "bytes=0-1"})
    assert head.status_code == 200


async def test_if_range(client: TestClient) -> None:
    first = await client.get("/static/data.bin")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    current = await get(client, "/static/data.bin", Range="bytes=0-1", If_Range=etag)
    assert current.status_code == 206
    stale = await get(client, "/static/data.bin", Range="bytes=0-1", If_Range='"old"')
    assert (stale.status_code, await stale.get_data()) == (200, CONTENT)
    by_date = await get(client, "/static/data.bin", Range="bytes=0-1", If_Range=modified)
    assert by_date.status_code == 206
    old_date = http_date(datetime(2000, 1, 1, tzinfo=UTC))
    assert (
        await get(client, "/static/data.bin", Range="bytes=0-1", If_Range=old_date)
    ).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/css/..%2F..%2Fsecret.txt",
        "/static/%2Fetc%2Fpasswd",
        "/static/data.bin%00.css",
        "/static/css",
        "/static/missing.txt",
        "/static/..\\secret.txt",
    ],
)
async def test_no_path_traversal(client: TestClient, path: str) -> None:
    response = await client.get(path, follow_redirects=True)
    assert response.status_code == 404
    assert b"top secret" not in await response.get_data()


async def test_send_from_directory_refuses_escapes(app: Trioframe, tmp_path: Path) -> None:
    static = tmp_path / "static"
    async with app.test_request_context("/"):
        for unsafe in ("../secret.txt", str(tmp_path / "secret.txt"), "a\x00b", "css", ""):
            with pytest.raises(Exception, match="Not Found") as refused:
                await send_from_directory(static, unsafe)
            assert getattr(refused.value, "code", None) == 404
        sent = await send_from_directory(static, "css/app.css")
        assert await sent.get_data() == b"body { color: teal; }"


async def test_symlinks_out_of_the_folder_are_not_followed(
    app: Trioframe, client: TestClient, tmp_path: Path
) -> None:
    static = tmp_path / "static"
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "passwd").write_text("top secret")
    (static / "etc_link").symlink_to(tmp_path / "private", target_is_directory=True)
    (static / "secret_link.txt").symlink_to(tmp_path / "secret.txt")
    (static / "css" / "loop").symlink_to(static / "css" / "loop")
    # Links that stay inside the folder are fine, to files and to folders.
    (static / "theme.css").symlink_to(static / "css" / "app.css")
    (static / "styles").symlink_to(static / "css", target_is_directory=True)

    for path in ("/static/etc_link/passwd", "/static/secret_link.txt", "/static/css/loop"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert b"top secret" not in await response.get_data()
    for path in ("/static/theme.css", "/static/styles/app.css"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert await response.get_data() == b"body { color: teal; }"
    async with app.test_request_context("/"):
        with pytest.raises(Exception, match="Not Found"):
            await send_from_directory(static, "etc_link/passwd")


async def test_a_static_folder_that_is_itself_a_link_is_served(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "site.js").write_text("ready()")
    (tmp_path / "static").symlink_to(tmp_path / "assets", target_is_directory=True)
    app = Trioframe("tests", root_path=str(tmp_path))
    response = await app.test_client().get("/static/site.js")
    assert response.status_code == 200
    assert await response.get_data() == b"ready()"


async def test_attachment_filename_is_quart_s_name_for_download_name(
    app: Trioframe, tmp_path: Path
) -> None:
    path = tmp_path / "static" / "data.bin"
    async with app.test_request_context("/"):
        ported = await send_file(path, as_attachment=True, attachment_filename="report.csv")
        assert ported.headers["Content-Disposition"] == 'attachment; filename="report.csv"'
        with pytest.raises(TypeError, match="pass download_name only"):
            await send_file(path, download_name="a.csv", attachment_filename="b.csv")


async def test_send_file_options(app: Trioframe, tmp_path: Path) -> None:
    path = tmp_path / "static" / "data.bin"
    async with app.test_request_context("/"):
        download = await send_file(path, as_attachment=True, download_name="résumé final.pdf")
        assert download.headers["Content-Type"] == "application/pdf"
        assert download.headers["Content-Disposition"] == (
            "attachment; filename=\"rsum final.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.pdf"
        )
        inline = await send_file(path, mimetype="image/png", download_name='a "b".png')
        assert inline.headers["Content-Type"] == "image/png"
        assert inline.headers["Content-Disposition"] == 'inline; filename="a \\"b\\".png"'
        cached = await send_file(path, max_age=60, etag="v1", last_modified=0)
        assert cached.headers["Cache-Control"] == "public, max-age=60"
        assert "Expires" in cached.headers
        assert cached.headers["ETag"] == '"v1"'
        assert cached.headers["Last-Modified"] == "Thu, 01 Jan 1970 00:00:00 GMT"
        computed = await send_file(path, max_age=lambda name: 7 if name == "data.bin" else 0)
        assert computed.headers["Cache-Control"] == "public, max-age=7"
        assert "ETag" not in (await send_file(path, etag=False)).headers
        relative = await send_file("static/data.bin")  # relative to the app's root_path
        assert await relative.get_data() == CONTENT
        with pytest.raises(FileNotFoundError):
            await send_file("static/missing.bin")
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = timedelta(hours=1)
    async with app.test_request_context("/", headers={"If-None-Match": '"v1"'}):
        assert (await send_file(path, etag="v1", conditional=False)).status_code == 200
        response = await send_file(path)
        assert response.headers["Cache-Control"] == "public, max-age=3600"
    # Outside a request there is nothing to be conditional on.
    plain = await send_file(path)
    assert (plain.status_code, await plain.get_data()) == (200, CONTENT)


async def test_static_files_may_be_cached(app: Trioframe, client: TestClient) -> None:
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 300
    response = await client.get("/static/data.bin")
    assert response.headers["Cache-Control"] == "public, max-age=300"


async def test_send_file_objects(app: Trioframe, client: TestClient) -> None:
    buffers: list[io.BytesIO] = []

    @app.get("/memory")
    async def memory() -> Response:
        buffer = io.BytesIO(b"skip:" + CONTENT)
        buffer.seek(5)  # what is before the position is not sent
        buffers.append(buffer)
        return await send_file(buffer, download_name="report.txt")

    @app.get("/pipe")
    async def pipe() -> Response:
        read_end, write_end = os.pipe()
        os.write(write_end, b"streamed")
        os.close(write_end)
        return await send_file(os.fdopen(read_end, "rb"), mimetype="text/plain")

    @app.get("/tagged")
    async def tagged_view() -> Response:
        modified = datetime(2024, 5, 17, 12, 30, 15, 999, tzinfo=UTC)
        return await send_file(
            io.BytesIO(CONTENT), mimetype="text/plain", etag="v2", last_modified=modified
        )

    class ReadOnly:
        """A file-like object with nothing but read(), as some wrappers are."""

        def __init__(self) -> None:
            self._data = io.BytesIO(b"bare")

        def read(self, size: int = -1) -> bytes:
            return self._data.read(size)

        def close(self) -> None:
            self._data.close()

    @app.get("/bare")
    async def bare() -> Response:
        return await send_file(ReadOnly(), mimetype="text/plain")  # type: ignore[arg-type]

    @app.get("/nameless")
    async def nameless() -> Response:
        return await send_file(io.BytesIO(b"?"))

    whole = await client.get("/memory")
    assert whole.headers["Content-Length"] == "20"
    assert whole.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "ETag" not in whole.headers
    assert await whole.get_data() == CONTENT
    part = await client.get("/memory", headers={"Range": "bytes=2-3"})
    assert (part.status_code, await part.get_data()) == (206, CONTENT[2:4])
    assert all(buffer.closed for buffer in buffers)
    streamed = await client.get("/pipe")
    assert "Content-Length" not in streamed.headers
    assert "Accept-Ranges" not in streamed.headers
    assert await streamed.get_data() == b"streamed"
    tagged = await client.get("/tagged", headers={"If-None-Match": '"v2"'})
    assert tagged.status_code == 304
    assert tagged.headers["Last-Modified"] == "Fri, 17 May 2024 12:30:15 GMT"
    assert await (await client.get("/bare")).get_data() == b"bare"
    with pytest.raises(TypeError, match="pass mimetype= or download_name="):
        await client.get("/nameless")


async def test_a_file_that_shrinks_while_it_is_sent(
    app: Trioframe, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the response a client gets
    path = tmp_path / "static" / "data.bin"

    @app.after_request
    async def truncate(response: Response) -> Response:
        path.write_bytes(b"01")  # after the size went into the headers
        return response

    app.testing = False
    with pytest.raises(RuntimeError, match="without completing a response"):
        await app.test_client().get("/static/data.bin", headers={"Range": "bytes=0-9"})
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert "ended 8 bytes before the range did" in str(errors[-1].exc_info)


async def test_blueprint_static_folders(app: Trioframe, tmp_path: Path) -> None:
    (tmp_path / "admin_static").mkdir()
    (tmp_path / "admin_static" / "admin.js").write_text("admin();")
    admin = Blueprint(
        "admin",
        __name__,
        url_prefix="/admin",
        static_folder="admin_static",
        static_url_path="/assets/",
        root_path=str(tmp_path),
    )
    app.register_blueprint(admin)
    client = app.test_client()
    response = await client.get("/admin/assets/admin.js")
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert await response.get_data() == b"admin();"
    async with app.test_request_context("/"):
        assert url_for("admin.static", filename="admin.js") == "/admin/assets/admin.js"


async def test_no_static_folder(tmp_path: Path) -> None:
    app = Trioframe("tests", static_folder=None, root_path=str(tmp_path))
    assert app.static_url_path is None
    assert (await app.test_client().get("/static/x")).status_code == 404
    async with app.app_context():
        with pytest.raises(RuntimeError, match="has no static folder"):
            await app.send_static_file("x")
    custom = Trioframe("tests", static_folder="assets", root_path=str(tmp_path))
    assert custom.static_url_path == "/assets"
    assert custom.static_folder == os.path.join(str(tmp_path), "assets")


def test_content_disposition() -> None:
    assert content_disposition("a.txt", as_attachment=False) == 'inline; filename="a.txt"'
    assert content_disposition("x\\y.txt", as_attachment=True) == (
        'attachment; filename="x\\\\y.txt"'
    )
