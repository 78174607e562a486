"""Logging that works out of the box and never prints a line twice.

``app.logger`` gets `default_handler`, as Flask's does, and trioframe's serving gives it to
hypercorn's error logger and to trioframe's own loggers too; `access_handler` writes
hypercorn's access log. Both are *default* handlers: each writes a record only when no other
handler on the record's way up the logger tree would take it. So ``logging.basicConfig()``,
a ``dictConfig`` or a handler of the user's own replaces them without anything to remove,
and no line appears once from trioframe's handler and again from the user's.

A logger's level follows ``DEBUG`` (DEBUG when it is on, INFO when it is off) until the
user sets a level of their own, which trioframe then leaves alone.
"""

from __future__ import annotations

import logging
import sys
import weakref
from typing import TYPE_CHECKING, Literal, TextIO

if TYPE_CHECKING:
    from ._app import Trioframe

#: How `default_handler` writes a record: time, process (one of several workers, say),
#: level, logger name, message.
DEFAULT_FORMAT = "[%(asctime)s] [%(process)d] %(levelname)s in %(name)s: %(message)s"
#: hypercorn's access lines carry their own time, so they are written as they come.
ACCESS_FORMAT = "%(message)s"
#: The loggers of the server under trioframe's serving.
SERVER_LOGGER, ACCESS_LOGGER = "hypercorn.error", "hypercorn.access"

if TYPE_CHECKING:
    _StreamHandler = logging.StreamHandler[TextIO]
else:
    _StreamHandler = logging.StreamHandler


class DefaultHandler(_StreamHandler):
    """A handler that writes to the *current* ``sys.stderr`` or ``sys.stdout`` (so output
    redirected later, as pytest's capture does, is followed), and only records that no
    other handler will write.

    It steps aside for a record when a handler that is not a default one, on the record's
    logger or an ancestor it propagates to, accepts the record's level; a record reaching
    it from several loggers is written once.
    """

    def __init__(self, stream: Literal["stderr", "stdout"], format: str) -> None:
        super().__init__(getattr(sys, stream))
        self._stream_name = stream
        self.setFormatter(logging.Formatter(format))
        self._last_written: weakref.ref[logging.LogRecord] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._last_written is not None and self._last_written() is record:
            return
        if self._taken_elsewhere(record):
            return
        self._last_written = weakref.ref(record)
        self.stream = getattr(sys, self._stream_name)
        super().emit(record)

    def _taken_elsewhere(self, record: logging.LogRecord) -> bool:
        logger = logging.root.manager.loggerDict.get(record.name)
        if record.name == logging.root.name:
            logger = logging.root
        while isinstance(logger, logging.Logger):
            for handler in logger.handlers:
                # Default handlers never count: two stepping aside for each other
                # would lose the line.
                if not isinstance(handler, DefaultHandler) and record.levelno >= handler.level:
                    return True
            if not logger.propagate:
                return False
            logger = logger.parent
        return False


#: The handler ``app.logger``, trioframe's loggers and the server's error log start with:
#: standard error, with time, level and logger name. ``app.logger.removeHandler(
#: default_handler)`` removes it; configuring logging makes it step aside by itself.
default_handler = DefaultHandler("stderr", DEFAULT_FORMAT)
#: The handler of hypercorn's access log under trioframe's serving: standard output.
access_handler = DefaultHandler("stdout", ACCESS_FORMAT)

# Loggers whose level trioframe chose, with that level: a level the user set differs.
_chosen_levels: dict[str, int] = {}


def app_logger(app: Trioframe) -> logging.Logger:
    """The logger named after ``app``: `default_handler` the first time, its level
    following ``app.debug`` for as long as the user has not set one."""
    return _prepared(app.name, default_handler, debug=app.debug)


def prepare_server_loggers(app: Trioframe, *, access_log: bool) -> None:
    """Give the server's loggers and trioframe's own the default handlers, for serving
    ``app`` (in this process, or in a worker process)."""
    _prepared(SERVER_LOGGER, default_handler, debug=app.debug)
    _prepared("trioframe", default_handler, debug=app.debug)
    if access_log:
        _prepared(ACCESS_LOGGER, access_handler, debug=False)


def _prepared(name: str, handler: DefaultHandler, *, debug: bool) -> logging.Logger:
    logger = logging.getLogger(name)
    level = logging.DEBUG if debug else logging.INFO
    chosen = _chosen_levels.get(name)
    if chosen is None:
        # The first time: the handler, and a level unless the user set one already.
        logger.addHandler(handler)
        if logger.level == logging.NOTSET:
            logger.setLevel(level)
            _chosen_levels[name] = level
        else:
            _chosen_levels[name] = logging.NOTSET
    elif chosen != level and logger.level == chosen:
        logger.setLevel(level)
        _chosen_levels[name] = level
    return logger
