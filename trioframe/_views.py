"""Class-based views, as Flask's and Quart's: `View` and `MethodView`.

Register one with ``app.add_url_rule("/items", view_func=ItemAPI.as_view("items"))``.
Methods are ``async def`` (a plain ``def`` runs in a worker thread, as plain views do).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ._concurrency import call_maybe_async
from ._context import request
from ._exceptions import MethodNotAllowed

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Collection

    from ._types import ResponseReturnValue

#: The methods a `MethodView` looks for, as lower-case method names.
HTTP_METHOD_FUNCS = frozenset({"get", "post", "head", "options", "delete", "put", "trace", "patch"})


class ViewFunction(Protocol):
    """What `View.as_view` returns: a view function that remembers its class."""

    __name__: str
    #: The class the function makes instances of.
    view_class: type[View]
    #: The class's ``methods``, which ``add_url_rule`` reads.
    methods: Collection[str] | None
    #: The class's ``provide_automatic_options``, which ``add_url_rule`` reads.
    provide_automatic_options: bool | None

    def __call__(self, **kwargs: Any) -> Awaitable[Any]: ...


class View:
    """A view written as a class: subclass it, implement `dispatch_request`, and register
    ``YourView.as_view(name)``.

    Class attributes shape the registration and the instances:

    - ``methods``: the methods the rule accepts (``GET`` when not given);
    - ``provide_automatic_options``: whether ``OPTIONS`` is answered for you;
    - ``decorators``: decorators applied to the view function ``as_view`` makes, first
      innermost;
    - ``init_every_request``: make a new instance per request (``True``, the default) or
      one shared by every request, whose attributes must then not hold request data.
    """

    methods: ClassVar[Collection[str] | None] = None
    provide_automatic_options: ClassVar[bool | None] = None
    decorators: ClassVar[list[Callable[..., Any]]] = []
    init_every_request: ClassVar[bool] = True

    async def dispatch_request(self, *args: Any, **kwargs: Any) -> ResponseReturnValue:
        """Answer the request; the URL variables come as keyword arguments. Subclasses
        implement it, with the arguments their rule has."""
        raise NotImplementedError

    @classmethod
    def as_view(cls, name: str, *class_args: Any, **class_kwargs: Any) -> ViewFunction:
        """The view function to register: it makes an instance with ``class_args`` and
        ``class_kwargs`` (per request, or once) and calls `dispatch_request`.

        Args:
            name: The endpoint name.
        """
        if cls.init_every_request:

            async def view(**kwargs: Any) -> Any:
                instance = cls(*class_args, **class_kwargs)
                return await call_maybe_async(instance.dispatch_request, **kwargs)

        else:
            shared = cls(*class_args, **class_kwargs)

            async def view(**kwargs: Any) -> Any:
                return await call_maybe_async(shared.dispatch_request, **kwargs)

        function: Any = view
        if cls.decorators:
            function.__name__ = name
            function.__module__ = cls.__module__
            for decorator in cls.decorators:
                function = decorator(function)
        # Read by add_url_rule, and by code that inspects views, as in Flask.
        function.view_class = cls
        function.__name__ = name
        function.__doc__ = cls.__doc__
        function.__module__ = cls.__module__
        function.methods = cls.methods
        function.provide_automatic_options = cls.provide_automatic_options
        return function  # type: ignore[no-any-return]


class MethodView(View):
    """A view whose methods answer the HTTP methods of the same name: ``async def get``,
    ``post``, ``put``, ... ``HEAD`` falls back to ``get``. ``methods`` is set from the
    methods defined, unless the class sets it."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "methods" not in cls.__dict__:
            methods: set[str] = set()
            for base in cls.__bases__:
                methods.update(getattr(base, "methods", None) or ())
            methods.update(name.upper() for name in HTTP_METHOD_FUNCS if hasattr(cls, name))
            if methods:
                cls.methods = methods

    async def dispatch_request(self, *args: Any, **kwargs: Any) -> ResponseReturnValue:
        """Call the method named after the request's, with the URL variables.

        Raises:
            MethodNotAllowed: the class has no method for it (routing normally answers
                405 before this is reached).
        """
        handler = getattr(self, request.method.lower(), None)
        if handler is None and request.method == "HEAD":
            handler = getattr(self, "get", None)
        if handler is None:
            raise MethodNotAllowed(sorted(self.methods or ()))
        return await call_maybe_async(handler, *args, **kwargs)  # type: ignore[no-any-return]
