"""structlog set-up: readable console lines in development, one JSON object per line in production.

Context (service, message id, correlation id, room id) is bound with structlog contextvars at
each entry point, so every line written while handling a message carries it. The gateway's
request id has a context variable of its own (`REQUEST_ID`): one `set` per request instead of a
bind and an unbind, on a path answered thousands of times a second.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog

REQUEST_ID: ContextVar[str | None] = ContextVar("onair_request_id", default=None)


def add_request_id(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def configure_logging(service: str, fmt: str = "console", level: str = "INFO") -> None:
    renderer: structlog.types.Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_request_id,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    # Libraries (aio-pika, aiohttp) log through the standard library: keep their warnings.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
