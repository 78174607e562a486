"""Jinja2 templates, rendered asynchronously.

Templates render with Jinja's async mode (``render_async``), so a template may await
(an async function passed in the context is called and awaited where it is used). Loading
a template reads a file: the first load of each template runs in a worker thread, and Jinja
keeps it cached, so rendering never blocks the event loop on the disk. (A template pulled
in by ``{% include %}`` or ``{% extends %}`` is loaded by Jinja during rendering; once
loaded, it is cached too.)

The app's ``templates`` folder is searched first, then each blueprint's ``template_folder``
in registration order.
"""

from __future__ import annotations

from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, cast

import jinja2

from ._concurrency import call_maybe_async, in_thread
from ._context import (
    current_app_context,
    current_request_context,
    current_websocket_context,
    g,
    has_request_context,
    has_websocket_context,
    request,
    session,
    websocket,
)
from ._sessions import get_flashed_messages
from ._setup import setupmethod

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from ._app import Trioframe
    from ._config import Config
    from ._scaffold import T_template_callable
    from ._types import TemplateContextProcessor

#: File extensions whose templates are autoescaped (HTML and XML).
AUTOESCAPED_EXTENSIONS = (".html", ".htm", ".xml", ".xhtml", ".svg")


class Environment(jinja2.Environment):
    """The app's Jinja environment: async, autoescaping HTML, loading from the app and its
    blueprints, with ``url_for``, ``config``, ``request``, ``websocket``, ``session`` and
    ``g`` available in every template."""

    def __init__(self, app: Trioframe, **options: Any) -> None:
        options.setdefault("loader", DispatchingLoader(app))
        options.setdefault("autoescape", app.select_jinja_autoescape)
        options.setdefault("auto_reload", app.templates_auto_reload)
        options["enable_async"] = True
        super().__init__(**options)
        self.globals.update(
            url_for=app.url_for,
            get_flashed_messages=get_flashed_messages,
            config=app.config,
            request=request,
            websocket=websocket,
            session=session,
            g=g,
        )


class DispatchingLoader(jinja2.BaseLoader):
    """Finds a template in the app's folder, then in the blueprints' folders, in order."""

    def __init__(self, app: Trioframe) -> None:
        self.app = app

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        for loader in self._loaders():
            try:
                return loader.get_source(environment, template)
            except jinja2.TemplateNotFound:
                continue
        raise jinja2.TemplateNotFound(template)

    def list_templates(self) -> list[str]:
        """Every template name the app and its blueprints provide."""
        return sorted({name for loader in self._loaders() for name in loader.list_templates()})

    def _loaders(self) -> Iterator[jinja2.BaseLoader]:
        if self.app.jinja_loader is not None:
            yield self.app.jinja_loader
        for blueprint in self.app.iter_blueprints():
            if blueprint.jinja_loader is not None:
                yield blueprint.jinja_loader


class Templating:
    """The app's template API; `Trioframe` inherits it."""

    # Provided by Trioframe.
    config: Config
    template_context_processors: dict[str | None, list[TemplateContextProcessor]]

    #: Options for the Jinja environment (``trim_blocks``, ``extensions``, ...); set them
    #: before the first template is rendered.
    jinja_options: dict[str, Any] = {}  # noqa: RUF012  # replaced, never mutated

    @cached_property
    def jinja_env(self) -> Environment:
        """The Jinja environment, created when first used, from ``jinja_options``."""
        return Environment(cast("Trioframe", self), **self.jinja_options)

    @property
    def templates_auto_reload(self) -> bool:
        """Whether templates changed on disk are reloaded: ``TEMPLATES_AUTO_RELOAD``, by
        default on in ``DEBUG``."""
        value = self.config["TEMPLATES_AUTO_RELOAD"]
        return bool(value) if value is not None else bool(self.config["DEBUG"])

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        """Whether a template is autoescaped: HTML and XML files, and templates from strings."""
        return filename is None or filename.endswith(AUTOESCAPED_EXTENSIONS)

    @setupmethod
    def template_filter(
        self, name: str | None = None
    ) -> Callable[[T_template_callable], T_template_callable]:
        """Register the decorated function as a Jinja filter, ``{{ value|name }}``.

        Args:
            name: The filter's name; the function's name by default.
        """
        return _registering(self.add_template_filter, name)

    @setupmethod
    def add_template_filter(self, func: Callable[..., Any], name: str | None = None) -> None:
        """The non-decorator form of `template_filter`."""
        self.jinja_env.filters[name or func.__name__] = func

    @setupmethod
    def template_test(
        self, name: str | None = None
    ) -> Callable[[T_template_callable], T_template_callable]:
        """Register the decorated function as a Jinja test, ``{% if value is name %}``."""
        return _registering(self.add_template_test, name)

    @setupmethod
    def add_template_test(self, func: Callable[..., Any], name: str | None = None) -> None:
        """The non-decorator form of `template_test`."""
        self.jinja_env.tests[name or func.__name__] = func

    @setupmethod
    def template_global(
        self, name: str | None = None
    ) -> Callable[[T_template_callable], T_template_callable]:
        """Register the decorated function as a global every template can call."""
        return _registering(self.add_template_global, name)

    @setupmethod
    def add_template_global(self, func: Callable[..., Any], name: str | None = None) -> None:
        """The non-decorator form of `template_global`."""
        self.jinja_env.globals[name or func.__name__] = func


def _registering(
    add: Callable[[Callable[..., Any], str | None], object], name: str | None
) -> Callable[[T_template_callable], T_template_callable]:
    """A decorator that passes the function to ``add`` with ``name`` and returns it."""

    def decorator(func: T_template_callable) -> T_template_callable:
        add(func, name)
        return func

    return decorator


async def _template_context(app: Trioframe, context: dict[str, Any]) -> dict[str, Any]:
    """``context`` with the context processors' values under it (the caller's values win)."""
    chain: tuple[str | None, ...] = (None,)
    if has_request_context():
        chain = current_request_context().blueprint_chain
    elif has_websocket_context():
        chain = current_websocket_context().blueprint_chain
    merged: dict[str, Any] = {}
    for owner in reversed(chain):  # the app's first, so the innermost blueprint's win
        for processor in app.template_context_processors.get(owner, ()):
            merged.update(await call_maybe_async(processor))
    merged.update(context)
    return merged


async def _get_template(
    app: Trioframe, name: str | jinja2.Template | list[str | jinja2.Template]
) -> jinja2.Template:
    # The first load reads the file; a worker thread keeps that off the event loop.
    return await in_thread(partial(app.jinja_env.get_or_select_template, name))


async def render_template(
    template_name_or_list: str | jinja2.Template | list[str | jinja2.Template],
    **context: Any,
) -> str:
    """Render a template from the app's (or a blueprint's) template folders.

    Args:
        template_name_or_list: The template's name, or a list of names: the first that
            exists is rendered.
        context: The variables the template sees, besides the context processors' and
            ``url_for``, ``config``, ``request``, ``session`` and ``g``.

    Raises:
        jinja2.TemplateNotFound: no such template.
        OutsideContextError: there is no application context.
    """
    app = current_app_context().app
    template = await _get_template(app, template_name_or_list)
    return await template.render_async(await _template_context(app, context))


async def render_template_string(source: str, **context: Any) -> str:
    """Render a template given as a string; it is autoescaped like an HTML file.

    Raises:
        OutsideContextError: there is no application context.
    """
    app = current_app_context().app
    template = app.jinja_env.from_string(source)
    return await template.render_async(await _template_context(app, context))


async def stream_template(
    template_name_or_list: str | jinja2.Template | list[str | jinja2.Template],
    **context: Any,
) -> AsyncIterator[str]:
    """Render a template piece by piece: return the result from a view to stream it.

    The client gets the page as it renders, with backpressure; if it disconnects, rendering
    stops. Takes the arguments of `render_template`.
    """
    app = current_app_context().app
    template = await _get_template(app, template_name_or_list)
    return template.generate_async(await _template_context(app, context))


async def stream_template_string(source: str, **context: Any) -> AsyncIterator[str]:
    """`stream_template` for a template given as a string."""
    app = current_app_context().app
    template = app.jinja_env.from_string(source)
    return template.generate_async(await _template_context(app, context))
