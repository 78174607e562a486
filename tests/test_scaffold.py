"""Registration shared by apps and blueprints, driven through the test client: every
registration method refuses to run once setup is over."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from trioframe import Blueprint, SetupError, Trioframe

if TYPE_CHECKING:
    from collections.abc import Callable


async def _any_callable(*args: object) -> None:
    """Stands for any view, hook or handler: only registering it matters here."""


async def generator_hook() -> Any:
    yield


hook: Any = _any_callable  # each registration method takes its own kind of callable


def plain_hook(*args: object) -> None:
    """Stands for the plain functions URL value hooks must be."""


#: Each registration method of an app, called as user code calls it.
APP_REGISTRATIONS: dict[str, Callable[[Trioframe], object]] = {
    "add_url_rule": lambda app: app.add_url_rule("/late", "late", hook),
    "route": lambda app: app.route("/late")(hook),
    "get": lambda app: app.get("/late")(hook),
    "websocket": lambda app: app.websocket("/late")(hook),
    "register_blueprint": lambda app: app.register_blueprint(Blueprint("late", __name__)),
    "before_request": lambda app: app.before_request(hook),
    "after_request": lambda app: app.after_request(hook),
    "teardown_request": lambda app: app.teardown_request(hook),
    "before_websocket": lambda app: app.before_websocket(hook),
    "after_websocket": lambda app: app.after_websocket(hook),
    "teardown_websocket": lambda app: app.teardown_websocket(hook),
    "errorhandler": lambda app: app.errorhandler(404)(hook),
    "register_error_handler": lambda app: app.register_error_handler(404, hook),
    "context_processor": lambda app: app.context_processor(hook),
    "url_defaults": lambda app: app.url_defaults(plain_hook),
    "url_value_preprocessor": lambda app: app.url_value_preprocessor(plain_hook),
    "before_serving": lambda app: app.before_serving(hook),
    "after_serving": lambda app: app.after_serving(hook),
    "teardown_appcontext": lambda app: app.teardown_appcontext(hook),
    "while_serving": lambda app: app.while_serving(generator_hook),
    "template_filter": lambda app: app.template_filter()(hook),
    "add_template_filter": lambda app: app.add_template_filter(hook),
    "template_test": lambda app: app.template_test()(hook),
    "add_template_test": lambda app: app.add_template_test(hook),
    "template_global": lambda app: app.template_global()(hook),
    "add_template_global": lambda app: app.add_template_global(hook),
}

#: Each registration method of a blueprint.
BLUEPRINT_REGISTRATIONS: dict[str, Callable[[Blueprint], object]] = {
    "add_url_rule": lambda bp: bp.add_url_rule("/late", "late", hook),
    "route": lambda bp: bp.route("/late")(hook),
    "websocket": lambda bp: bp.websocket("/late")(hook),
    "register_blueprint": lambda bp: bp.register_blueprint(Blueprint("late", __name__)),
    "record": lambda bp: bp.record(hook),
    "before_request": lambda bp: bp.before_request(hook),
    "after_request": lambda bp: bp.after_request(hook),
    "teardown_request": lambda bp: bp.teardown_request(hook),
    "before_websocket": lambda bp: bp.before_websocket(hook),
    "after_websocket": lambda bp: bp.after_websocket(hook),
    "teardown_websocket": lambda bp: bp.teardown_websocket(hook),
    "errorhandler": lambda bp: bp.errorhandler(404)(hook),
    "context_processor": lambda bp: bp.context_processor(hook),
    "url_defaults": lambda bp: bp.url_defaults(plain_hook),
    "url_value_preprocessor": lambda bp: bp.url_value_preprocessor(plain_hook),
    "app_url_defaults": lambda bp: bp.app_url_defaults(plain_hook),
    "app_url_value_preprocessor": lambda bp: bp.app_url_value_preprocessor(plain_hook),
    "before_app_request": lambda bp: bp.before_app_request(hook),
    "after_app_request": lambda bp: bp.after_app_request(hook),
    "teardown_app_request": lambda bp: bp.teardown_app_request(hook),
    "before_app_websocket": lambda bp: bp.before_app_websocket(hook),
    "after_app_websocket": lambda bp: bp.after_app_websocket(hook),
    "teardown_app_websocket": lambda bp: bp.teardown_app_websocket(hook),
    "app_context_processor": lambda bp: bp.app_context_processor(hook),
    "app_template_filter": lambda bp: bp.app_template_filter()(hook),
    "app_template_test": lambda bp: bp.app_template_test()(hook),
    "app_template_global": lambda bp: bp.app_template_global()(hook),
    "before_app_serving": lambda bp: bp.before_app_serving(hook),
    "after_app_serving": lambda bp: bp.after_app_serving(hook),
    "while_app_serving": lambda bp: bp.while_app_serving(generator_hook),
    "app_errorhandler": lambda bp: bp.app_errorhandler(404)(hook),
}


@pytest.mark.parametrize("method", list(APP_REGISTRATIONS))
async def test_every_app_registration_is_refused_once_serving(method: str) -> None:
    register = APP_REGISTRATIONS[method]
    fresh = Trioframe(__name__)
    register(fresh)  # allowed during setup

    app = Trioframe(__name__)
    await app.test_client().get("/")
    with pytest.raises(SetupError, match="after it handled its first request") as refused:
        register(app)
    assert "() was called on" in str(refused.value)


@pytest.mark.parametrize("method", list(BLUEPRINT_REGISTRATIONS))
def test_every_blueprint_registration_is_refused_once_registered(method: str) -> None:
    register = BLUEPRINT_REGISTRATIONS[method]
    register(Blueprint("fresh", __name__))  # allowed during setup

    bp = Blueprint("bp", __name__)
    Trioframe(__name__).register_blueprint(bp)
    with pytest.raises(SetupError, match="after it was registered on an app"):
        register(bp)


def test_a_setup_method_names_itself_in_the_refusal() -> None:
    bp = Blueprint("bp", __name__)
    Trioframe(__name__).register_blueprint(bp)
    with pytest.raises(SetupError, match=r"^app_template_filter\(\) was called"):
        bp.app_template_filter("shout")(hook)
