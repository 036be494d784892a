"""Structured JSON logs (structlog) with the call UUID bound on every line of a call.

Under ``gevent.monkey.patch_all()`` context variables are per greenlet, so
``bind_call`` in a call's greenlet tags only that call's lines.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


def configure(level: str = "info", fmt: str = "json") -> None:
    """Lines to stdout: timestamp, level, event, bound context; JSON, or aligned for a console."""
    logging.basicConfig(stream=sys.stdout, level=_LEVELS.get(level, 20), format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer()
            if fmt == "json"
            else structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, 20)),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )


def get_logger(**context: Any) -> Any:
    return structlog.get_logger("huntsman.controller").bind(**context)


def bind_call(call_uuid: str) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(call_uuid=call_uuid)


def clear_call() -> None:
    structlog.contextvars.clear_contextvars()
