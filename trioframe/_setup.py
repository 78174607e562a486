"""What registration checks: the guard that ends setup, and the validation of what is
registered, so that a mistake is a `SetupError` at registration rather than a failure
per request."""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, TypeVar, cast

import werkzeug.exceptions

from ._exceptions import HTTPException, SetupError

if TYPE_CHECKING:
    from collections.abc import Callable

F = TypeVar("F", bound="Callable[..., Any]")


def setupmethod(method: F) -> F:
    """Mark ``method`` as part of setting up an app or blueprint.

    Once setup is over (an app handled its first request, a blueprint was registered),
    calling it raises `SetupError` naming the method, instead of changing what a running
    app does halfway, as Flask's decorator of the same name does.
    """
    name = method.__name__

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._check_setup_finished(name)
        return method(self, *args, **kwargs)

    return cast("F", guarded)


def check_while_serving(func: object) -> None:
    """Refuse a ``while_serving`` function that is not an async generator function.

    Raises:
        SetupError: it is not.
    """
    if not inspect.isasyncgenfunction(func):
        raise SetupError(
            f"while_serving needs an async generator function (async def with one yield), "
            f"not {func!r}"
        )


def check_plain(func: object, registration: str) -> None:
    """Refuse an ``async def`` function where a plain one is called synchronously.

    Raises:
        SetupError: ``func`` is an ``async def`` function.
    """
    if inspect.iscoroutinefunction(func):
        name = getattr(func, "__qualname__", repr(func))
        raise SetupError(
            f"{registration} functions are called synchronously, as Flask's are, and {name} is "
            "an 'async def' function; make it a plain def"
        )


def error_handler_key(key: type[BaseException] | int) -> tuple[type[Exception], int | None]:
    """The (exception class, status code) an ``errorhandler`` argument stands for.

    Raises:
        SetupError: the key is neither an error status code nor an ``Exception`` subclass.
    """
    candidate: object = key  # checked at run time: callers are not always type-checked
    if isinstance(candidate, int):
        if not 400 <= candidate <= 599:
            raise SetupError(
                f"errorhandler({candidate}): a status code must be an error code between "
                "400 and 599"
            )
        return HTTPException, candidate
    if isinstance(candidate, type) and issubclass(candidate, HTTPException):
        return candidate, candidate.code if candidate is not HTTPException else None
    if isinstance(candidate, type) and issubclass(candidate, werkzeug.exceptions.HTTPException):
        # Code written for Flask or Quart names werkzeug's classes; they mean the status code
        # (and werkzeug's base class means every HTTP error).
        if candidate is werkzeug.exceptions.HTTPException:
            return HTTPException, None
        return HTTPException, candidate.code
    if isinstance(candidate, type) and issubclass(candidate, Exception):
        return candidate, None
    raise SetupError(
        f"errorhandler({key!r}): pass an error status code or an Exception subclass "
        "(BaseException subclasses such as trio.Cancelled cannot be handled)"
    )
