"""Logs and metrics. Logs are structured (JSON in production) and pass through a redaction step."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram

_SECRET_KEYS = re.compile(
    r"(pass(word|code)?|temporaryaccesspass|secret|token|authorization|assertion|key)$", re.I
)
# A bearer token or JWT that slipped into a message; never a pass value, which is never logged.
_JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")
REDACTED = "[redacted]"


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Drop values of secret-looking keys and anything shaped like a token from *event*."""
    for key, value in list(event.items()):
        if _SECRET_KEYS.search(key):
            event[key] = REDACTED
        elif isinstance(value, str):
            event[key] = _JWT.sub(REDACTED, value)
    return event


def configure_logging(*, json_output: bool, level: str) -> None:
    """Configure structlog and the standard library's logging once, at start-up."""
    logging.basicConfig(stream=sys.stderr, level=level, format="%(message)s", force=True)
    renderer: Any = (
        structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Exceptions become text first, so the scrubbing sees (and cleans) their text too.
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )


class Metrics:
    """The bot's Prometheus metrics, in a registry of their own (one per app, none global)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.activities = Counter(
            "tapbot_activities_total",
            "Activities received on /api/messages, by type and HTTP status answered.",
            ["type", "status"],
            registry=self.registry,
        )
        self.turn_seconds = Histogram(
            "tapbot_turn_seconds",
            "Time to answer an activity on /api/messages.",
            registry=self.registry,
        )
