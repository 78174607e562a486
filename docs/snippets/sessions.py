"""The sessions guide: logging in and out."""

from __future__ import annotations

import os
import secrets

from trioframe import (
    Response,
    Trioframe,
    abort,
    flash,
    get_flashed_messages,
    redirect,
    request,
    session,
    url_for,
)

from ._fakes import check_password

app = Trioframe(__name__)

# docs: start key
app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
# docs: end key


# docs: start login
@app.post("/login")
async def login() -> Response:
    form = await request.form
    user_id = await check_password(form["user"], form["password"])
    if user_id is None:
        abort(401)
    session["user_id"] = user_id
    session.permanent = True  # kept for PERMANENT_SESSION_LIFETIME (31 days)
    return redirect(url_for("account"))


@app.post("/logout")
async def logout() -> Response:
    session.clear()  # the cookie is deleted
    return redirect(url_for("account"))


# docs: end login


@app.get("/account")
async def account() -> str:
    user_id = session.get("user_id")
    return f"Hello, {user_id}" if user_id else "Please log in"


# docs: start flash
@app.post("/profile")
async def save_profile() -> Response:
    await flash("Profile saved.")
    await flash("Your email is not verified yet.", "warning")
    return redirect(url_for("notices"))


@app.get("/notices")
async def notices() -> dict[str, list[str]]:
    # Taken out of the session: the next request finds none.
    return {"warnings": get_flashed_messages(category_filter=["warning"])}


# docs: end flash
