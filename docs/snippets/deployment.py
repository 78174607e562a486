"""The serving guide's reverse proxy set-up."""

from __future__ import annotations

from hypercorn.middleware import ProxyFixMiddleware

from trioframe import Trioframe, request

app = Trioframe(__name__)


@app.get("/whoami")
async def whoami() -> dict[str, str | None]:
    return {"client": request.remote_addr, "scheme": request.scheme, "host": request.host}


# docs: start proxy
# Behind one reverse proxy: believe its X-Forwarded-For, -Proto and -Host headers, and only
# the last hop of each, which the proxy itself added (werkzeug's ProxyFix, for ASGI).
app.asgi_app = ProxyFixMiddleware(app.asgi_app, mode="legacy", trusted_hops=1)
# docs: end proxy
