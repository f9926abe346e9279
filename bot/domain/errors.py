"""Errors the domain understands, raised by adapters at their boundary.

    TapbotError
    ├── DirectoryError                 Graph (or its twin) failed; the message is safe to log
    │   ├── DirectoryObjectNotFound    the user, manager or pass does not exist (404)
    │   ├── DirectoryAccessDenied      the app lacks a permission (401/403)
    │   ├── DirectoryThrottled         429 after our retries ran out; carries retry_after
    │   ├── DirectoryUnavailable       5xx, timeout or dropped connection after retries
    │   ├── DirectoryRejected          400/409: Graph refused the request; carries Graph's code
    │   └── DirectoryDeltaExpired      a delta link is no longer valid (410): start a new round
    ├── StoreError                     the database failed
    │   ├── StoreConflict              a compare-and-set lost its race
    │   └── LimitReached               an atomic count-and-insert found the limit reached
    └── ReminderUndeliverable          a joiner reminder reached nobody

Adapters translate their library's exceptions into these; handlers turn them into words for
the person. No message here ever contains a pass value.
"""

from __future__ import annotations


class TapbotError(Exception):
    """Base of every error tapbot raises on purpose."""


class DirectoryError(TapbotError):
    """A directory (Microsoft Graph) call failed.

    *code* is Graph's error code when there was one (``Request_ResourceNotFound``), else a short
    word of ours (``timeout``); *status* is the HTTP status, 0 when no response arrived.
    """

    def __init__(self, message: str, *, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class DirectoryObjectNotFound(DirectoryError):
    """The object asked for does not exist."""


class DirectoryAccessDenied(DirectoryError):
    """The app's identity lacks a permission or its token was refused."""


class DirectoryThrottled(DirectoryError):
    """Graph kept answering 429 until our retry budget ran out."""

    def __init__(
        self, message: str, *, retry_after: float, code: str = "", status: int = 429
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.retry_after = retry_after


class DirectoryUnavailable(DirectoryError):
    """Graph answered 5xx, timed out or dropped the connection, after retries."""


class DirectoryRejected(DirectoryError):
    """Graph refused the request as invalid (400, 409); ``code`` says why."""


class DirectoryDeltaExpired(DirectoryError):
    """A saved delta link can no longer be used (Graph answered 410 Gone, or the link is not
    for this Graph endpoint): the reader must start again with a full round."""


class StoreError(TapbotError):
    """The store could not complete an operation."""


class StoreConflict(StoreError):
    """A compare-and-set found the row in another state than expected."""


class LimitReached(StoreError):
    """A rate limit was reached: the count and the refused insert were one atomic step."""


class DeliveryFailed(TapbotError):
    """A pass could not be delivered. *reason* is a plain sentence for the requester; it never
    contains the pass."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReminderUndeliverable(TapbotError):
    """A joiner reminder could not be put in front of its recipient. *reason* is a short code
    for the audit trail (``no_chat``, ``blocked``…). *maybe_sent* is True when the message may
    have arrived all the same (the connection failed after sending), so it must not be sent
    again."""

    def __init__(self, reason: str, *, maybe_sent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.maybe_sent = maybe_sent
