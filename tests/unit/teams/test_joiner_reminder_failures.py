"""What a connector failure means for a joiner reminder: certainly not sent, or maybe sent."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import requests
from msrest.exceptions import ClientRequestError, HttpOperationError
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from bot.teams.joiner_reminders import _undeliverable


def _http_error(status: int) -> HttpOperationError:
    error = HttpOperationError.__new__(HttpOperationError)
    error.response = SimpleNamespace(status_code=status)
    return error


def _request_error(inner: Exception) -> ClientRequestError:
    return ClientRequestError("Error occurred in request.", inner_exception=inner)


def _refused() -> Exception:
    reason = NewConnectionError(None, "Failed to establish a new connection: refused")
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/v3", reason))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "maybe_sent"),
    [
        (_http_error(403), False),  # the user blocked the bot: refused, not delivered
        (_http_error(404), False),
        (_http_error(502), True),
        (_request_error(_refused()), False),
        (_request_error(requests.exceptions.ReadTimeout("read timed out")), True),
        (_request_error(requests.exceptions.ConnectionError(ProtocolError("aborted"))), True),
        (RuntimeError("anything else"), True),
    ],
)
def test_only_failures_before_sending_are_safe_to_retry(error: Any, maybe_sent: bool) -> None:
    assert _undeliverable(error, "send_failed").maybe_sent is maybe_sent
