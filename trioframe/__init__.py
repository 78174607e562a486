"""trioframe: a Trio-native web framework with a Flask/Quart-shaped API."""

from __future__ import annotations

#: This release of trioframe; ``trioframe --version`` prints it with its dependencies'.
__version__ = "0.1.0.dev0"

from ._app import Trioframe as Trioframe
from ._blueprint import Blueprint as Blueprint
from ._config import Config as Config
from ._context import current_app as current_app
from ._context import g as g
from ._context import has_app_context as has_app_context
from ._context import has_request_context as has_request_context
from ._context import has_websocket_context as has_websocket_context
from ._context import request as request
from ._context import session as session
from ._context import websocket as websocket
from ._context_tools import after_this_request as after_this_request
from ._context_tools import copy_current_app_context as copy_current_app_context
from ._context_tools import copy_current_request_context as copy_current_request_context
from ._context_tools import copy_current_websocket_context as copy_current_websocket_context
from ._context_tools import stream_with_context as stream_with_context
from ._exceptions import BadRequest as BadRequest
from ._exceptions import BuildError as BuildError
from ._exceptions import Conflict as Conflict
from ._exceptions import Forbidden as Forbidden
from ._exceptions import Gone as Gone
from ._exceptions import HTTPException as HTTPException
from ._exceptions import InternalServerError as InternalServerError
from ._exceptions import LengthRequired as LengthRequired
from ._exceptions import MethodNotAllowed as MethodNotAllowed
from ._exceptions import NotAcceptable as NotAcceptable
from ._exceptions import NotFound as NotFound
from ._exceptions import OutsideContextError as OutsideContextError
from ._exceptions import PreconditionFailed as PreconditionFailed
from ._exceptions import RangeNotSatisfiable as RangeNotSatisfiable
from ._exceptions import RequestEntityTooLarge as RequestEntityTooLarge
from ._exceptions import RequestRedirect as RequestRedirect
from ._exceptions import RequestTimeout as RequestTimeout
from ._exceptions import ServiceUnavailable as ServiceUnavailable
from ._exceptions import SetupError as SetupError
from ._exceptions import TooManyRequests as TooManyRequests
from ._exceptions import TrioframeError as TrioframeError
from ._exceptions import Unauthorized as Unauthorized
from ._exceptions import UnprocessableEntity as UnprocessableEntity
from ._exceptions import UnsupportedMediaType as UnsupportedMediaType
from ._exceptions import UpgradeRequired as UpgradeRequired
from ._exceptions import WebsocketDisconnect as WebsocketDisconnect
from ._exceptions import abort as abort
from ._files import send_file as send_file
from ._files import send_from_directory as send_from_directory
from ._formparser import FileStorage as FileStorage
from ._json import JSONProvider as JSONProvider
from ._request import Body as Body
from ._request import Request as Request
from ._response import Response as Response
from ._response import jsonify as jsonify
from ._response import make_response as make_response
from ._response import redirect as redirect
from ._routing import url_for as url_for
from ._sessions import NullSession as NullSession
from ._sessions import SecureCookieSessionInterface as SecureCookieSessionInterface
from ._sessions import Session as Session
from ._sessions import SessionInterface as SessionInterface
from ._sessions import flash as flash
from ._sessions import get_flashed_messages as get_flashed_messages
from ._sse import ServerSentEvent as ServerSentEvent
from ._sse import event_stream as event_stream
from ._streaming import BodyProducer as BodyProducer
from ._templating import render_template as render_template
from ._templating import render_template_string as render_template_string
from ._templating import stream_template as stream_template
from ._templating import stream_template_string as stream_template_string
from ._types import CloseCode as CloseCode
from ._websocket import Websocket as Websocket

__all__ = [
    "BadRequest",
    "Blueprint",
    "Body",
    "BodyProducer",
    "BuildError",
    "CloseCode",
    "Config",
    "Conflict",
    "FileStorage",
    "Forbidden",
    "Gone",
    "HTTPException",
    "InternalServerError",
    "JSONProvider",
    "LengthRequired",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "NullSession",
    "OutsideContextError",
    "PreconditionFailed",
    "RangeNotSatisfiable",
    "Request",
    "RequestEntityTooLarge",
    "RequestRedirect",
    "RequestTimeout",
    "Response",
    "SecureCookieSessionInterface",
    "ServerSentEvent",
    "ServiceUnavailable",
    "Session",
    "SessionInterface",
    "SetupError",
    "TooManyRequests",
    "Trioframe",
    "TrioframeError",
    "Unauthorized",
    "UnprocessableEntity",
    "UnsupportedMediaType",
    "UpgradeRequired",
    "Websocket",
    "WebsocketDisconnect",
    "abort",
    "after_this_request",
    "copy_current_app_context",
    "copy_current_request_context",
    "copy_current_websocket_context",
    "current_app",
    "event_stream",
    "flash",
    "g",
    "get_flashed_messages",
    "has_app_context",
    "has_request_context",
    "has_websocket_context",
    "jsonify",
    "make_response",
    "redirect",
    "render_template",
    "render_template_string",
    "request",
    "send_file",
    "send_from_directory",
    "session",
    "stream_template",
    "stream_template_string",
    "stream_with_context",
    "url_for",
    "websocket",
]

# Tracebacks and reprs show the public path, not the private module.
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type):
        _value.__module__ = __name__
del _name, _value
