"""The porting page is complete, by direct inspection: every public name of Quart's that
trioframe does not have is named there, with what to write instead."""

from __future__ import annotations

from pathlib import Path

import pytest

import trioframe
import trioframe.testing
import trioframe.views

PAGE = Path(__file__).parent.parent.parent / "docs" / "coming-from-quart.rst"

# Quart's public names (quart 0.20: quart, quart.views, quart.testing), kept here so the
# test needs no Quart install. A name trioframe lacks must be on the page.
QUART_NAMES = {
    trioframe: [
        "Blueprint", "Config", "Markup", "Quart", "Request", "Response",
        "ResponseReturnValue", "Websocket", "abort", "after_this_request",
        "appcontext_popped", "appcontext_pushed", "appcontext_tearing_down",
        "before_render_template", "copy_current_app_context", "copy_current_request_context",
        "copy_current_websocket_context", "current_app", "escape", "flash", "g",
        "get_flashed_messages", "get_template_attribute", "got_request_exception",
        "got_websocket_exception", "has_app_context", "has_request_context",
        "has_websocket_context", "jsonify", "make_push_promise", "make_response",
        "message_flashed", "redirect", "render_template", "render_template_string", "request",
        "request_finished", "request_started", "request_tearing_down", "send_file",
        "send_from_directory", "session", "signals_available", "stream_template",
        "stream_template_string", "stream_with_context", "template_rendered", "url_for",
        "websocket", "websocket_finished", "websocket_started", "websocket_tearing_down",
    ],
    trioframe.views: ["MethodView", "View"],
    trioframe.testing: [
        "QuartCliRunner", "QuartClient", "TestApp", "WebsocketResponseError",
        "make_test_body_with_headers", "make_test_headers_path_and_query_string",
        "make_test_scope", "no_op_push", "sentinel",
    ],
}  # fmt: skip


@pytest.mark.parametrize("module", list(QUART_NAMES), ids=lambda module: module.__name__)
def test_every_quart_name_trioframe_lacks_is_on_the_porting_page(module: object) -> None:
    page = PAGE.read_text()
    missing = [name for name in QUART_NAMES[module] if not hasattr(module, name)]  # type: ignore[index]
    unexplained = [name for name in missing if f"``{name}``" not in page]
    assert unexplained == []


def test_the_page_says_what_the_common_names_are() -> None:
    assert hasattr(trioframe.testing, "WebsocketResponseError")  # Quart's name, kept
    assert trioframe.testing.WebsocketResponseError is trioframe.testing.WebsocketResponse
