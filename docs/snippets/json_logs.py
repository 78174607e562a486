"""The logging guide's JSON logs: one JSON object per line, for a log collector."""

from __future__ import annotations

import json
import logging
import logging.config

from trioframe import Trioframe


# docs: start json
class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry)


logging.config.dictConfig(
    {
        "version": 1,
        "disable_existing_loggers": False,  # keep trioframe's and the server's loggers on
        "formatters": {"json": {"()": JsonLines}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": "INFO"},
    }
)
# docs: end json

app = Trioframe(__name__)


@app.get("/")
async def index() -> str:
    app.logger.info("Served the index")
    return "hello"


@app.get("/fail")
async def fail() -> str:
    raise RuntimeError("the view failed on purpose")
