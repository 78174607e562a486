"""Host and subdomain routing through the test client, as Flask offers it: host_matching,
static_host, subdomain_matching, route(host=, subdomain=), Blueprint(subdomain=) and
url_for across them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from trioframe import Blueprint, SetupError, Trioframe, request, url_for, websocket
from trioframe._urls import _HOST_DOMAINS, _HOST_DOMAINS_KEPT

if TYPE_CHECKING:
    from pathlib import Path


async def test_subdomains_of_the_server_name(tmp_path: Path) -> None:
    app = Trioframe("tests", root_path=str(tmp_path), subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.com"

    @app.get("/")
    async def home() -> str:
        return f"home; api at {url_for('api.status')}"

    @app.get("/", subdomain="<user>")
    async def profile(user: str) -> str:
        return f"{user}'s page; home at {url_for('home')}"

    api = Blueprint("api", __name__, subdomain="api")
    v1 = Blueprint("v1", __name__, subdomain="v1")

    @api.get("/status")
    async def status() -> str:
        return f"api on {request.host}"

    @v1.get("/status")
    async def v1_status() -> str:
        return "v1 inside api"

    @v1.websocket("/live")
    async def live() -> None:
        await websocket.send(websocket.host)

    api.register_blueprint(v1)
    app.register_blueprint(api)
    client = app.test_client()
    assert await (await client.get("/")).get_data() == b"home; api at http://api.example.com/status"
    ada = await client.get("/", subdomain="ada")
    assert await ada.get_data() == b"ada's page; home at http://example.com/"
    assert await (await client.get("/status", subdomain="api")).get_data() == (
        b"api on api.example.com"
    )
    assert await (await client.get("/status", subdomain="v1.api")).get_data() == (b"v1 inside api")
    assert (await client.get("/status")).status_code == 404  # not on the bare domain
    assert (await client.get("/", headers={"Host": "other.org"})).status_code == 404
    async with client.websocket("/live", subdomain="v1.api") as connection:
        assert await connection.receive() == "v1.api.example.com"


async def test_whole_hosts_with_a_static_host(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "site.css").write_text("body {}")
    app = Trioframe(
        "tests", root_path=str(tmp_path), host_matching=True, static_host="static.example"
    )

    @app.get("/", host="<shop>.shops.example")
    async def shop(shop: str) -> str:
        return f"{shop}; css at {url_for('static', filename='site.css')}"

    client = app.test_client()
    teas = await client.get("http://teas.shops.example/")
    assert await teas.get_data() == b"teas; css at http://static.example/static/site.css"
    assert await (await client.get("http://static.example/static/site.css")).get_data() == (
        b"body {}"
    )
    assert (await client.get("http://teas.shops.example/static/site.css")).status_code == 404


def test_host_matching_and_static_host_go_together(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="static_host goes with host_matching"):
        Trioframe("tests", root_path=str(tmp_path), host_matching=True)
    with pytest.raises(SetupError, match="static_host goes with host_matching"):
        Trioframe("tests", root_path=str(tmp_path), static_host="static.example")
    Trioframe("tests", host_matching=True, static_folder=None)  # no static files: fine


async def test_a_none_subdomain_at_registration_keeps_the_blueprint_s_own(
    tmp_path: Path,
) -> None:
    app = Trioframe("tests", root_path=str(tmp_path), subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.com"
    admin = Blueprint("admin", __name__, subdomain="admin")

    @admin.get("/")
    async def index() -> str:
        return "admin"

    app.register_blueprint(admin, subdomain=None)
    assert await (await app.test_client().get("/", subdomain="admin")).get_data() == b"admin"


@pytest.mark.parametrize("host_matching", [False, True])
async def test_a_host_idna_cannot_encode_gets_400(host_matching: bool) -> None:
    # werkzeug refuses to bind such a name (an empty label, one over 63 characters); the
    # client gets the invalid-host 400, not a server error, and others are still served.
    if host_matching:
        app = Trioframe(__name__, host_matching=True, static_host="example.com")
    else:
        app = Trioframe(__name__)
    route = {"host": "example.com"} if host_matching else {}

    @app.get("/", **route)
    async def index() -> str:
        return url_for("index", _external=True)

    client = app.test_client()
    for host in ["a..b", "a" * 64 + ".com"]:
        for method in ["GET", "OPTIONS"]:
            response = await client.open("/", method=method, headers={"Host": host})
            assert response.status_code == 400
            assert "is not a valid host name" in await response.get_data(as_text=True)
    response = await client.get("/", headers={"Host": "Example.com"})
    assert await response.get_data(as_text=True) == "http://example.com/"


async def test_made_up_hosts_do_not_grow_what_routing_keeps() -> None:
    # Routing keeps each host's IDNA form; clients sending endless made-up hosts get their
    # answers while what is kept stays bounded.
    app = Trioframe(__name__)

    @app.get("/")
    async def index() -> str:
        return request.host

    client = app.test_client()
    for number in range(2 * _HOST_DOMAINS_KEPT):
        response = await client.get("/", headers={"Host": f"host{number}.example"})
        assert await response.get_data(as_text=True) == f"host{number}.example"
        assert len(_HOST_DOMAINS) <= _HOST_DOMAINS_KEPT
