"""Graph error responses to domain errors, and when (and how long) to wait before retrying.

    404          DirectoryObjectNotFound
    401, 403     DirectoryAccessDenied
    429          DirectoryThrottled(retry_after), once our retries are spent
    5xx          DirectoryUnavailable
    other 4xx    DirectoryRejected (400 and 409 above all), with Graph's ``code``

Messages name the operation, the status, Graph's code and Graph's message (shortened, with
anything shaped like a token removed). Graph never echoes a pass value in an error, and we never
put a request body or header into one.
"""

from __future__ import annotations

import email.utils
import math
import re
from datetime import UTC, datetime

import httpx

from bot.domain.errors import (
    DirectoryAccessDenied,
    DirectoryError,
    DirectoryObjectNotFound,
    DirectoryRejected,
    DirectoryThrottled,
    DirectoryUnavailable,
)

# A DirectoryUnavailable with this code means the request may have been carried out: it was
# sent, and then the connection failed or timed out before an answer came. For a pass
# creation that means a pass may exist whose value nobody has seen.
OUTCOME_UNKNOWN = "outcome_unknown"
TIMEOUT = "timeout"
CONNECTION_FAILED = "connection_failed"
INVALID_RESPONSE = "invalid_response"

_MESSAGE_LIMIT = 300
_TOKEN_SHAPED = re.compile(r"(?i)bearer\s+\S+|eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*")


def safe_text(text: str) -> str:
    """*text* shortened, on one line, with anything shaped like a bearer token removed."""
    one_line = " ".join(text.split())
    cleaned = _TOKEN_SHAPED.sub("[redacted]", one_line)
    if len(cleaned) > _MESSAGE_LIMIT:
        cleaned = cleaned[: _MESSAGE_LIMIT - 1] + "…"
    return cleaned


def graph_error_fields(response: httpx.Response) -> tuple[str, str]:
    """Return Graph's ``error.code`` and ``error.message``, or empty strings."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    code, message = error.get("code"), error.get("message")
    return (
        code if isinstance(code, str) else "",
        message if isinstance(message, str) else "",
    )


def error_for(
    response: httpx.Response, operation: str, *, retry_after: float | None = None
) -> DirectoryError:
    """The domain error for Graph's error *response* to *operation*."""
    status = response.status_code
    code, message = graph_error_fields(response)
    text = f"Graph {operation}: HTTP {status}"
    if code:
        text += f" {code}"
    if message:
        text += f": {safe_text(message)}"
    if status == 404:
        return DirectoryObjectNotFound(text, code=code, status=status)
    if status in (401, 403):
        return DirectoryAccessDenied(text, code=code, status=status)
    if status == 429:
        return DirectoryThrottled(
            text, retry_after=retry_after if retry_after is not None else 0.0, code=code
        )
    if status >= 500:
        return DirectoryUnavailable(text, code=code, status=status)
    return DirectoryRejected(text, code=code, status=status)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds (Graph sends ``2.128`` as
    well as ``10``) or an HTTP date. None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def backoff_delay(attempt: int, *, base: float, cap: float, random: float) -> float:
    """Exponential backoff with jitter for retry number *attempt* (0 for the first retry).

    Half the delay is fixed and half is random (*random* in [0, 1)), so retries from many
    callers spread out but none comes back immediately.
    """
    ceiling = min(cap, base * 2.0**attempt)
    return ceiling / 2 + random * ceiling / 2
