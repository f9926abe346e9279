"""What the SMS providers share: their error, and one retry policy.

Retries. Throttling (429), server errors (5xx) and lost or refused connections are retried up
to *max_retries* times, waiting what ``Retry-After`` says or else an exponential backoff with
jitter; a wait longer than *max_wait* is not slept (the request fails at once). A text message
is not idempotent the way a read is: a request that reached Twilio and then lost its answer
may have been sent, and a retry can deliver the same text twice. That is accepted here,
because the second message carries the same pass to the same number (nothing new leaks), and
failing instead would delete a pass the person may already hold. Azure Communication Services
drops such duplicates itself (`AcsSms` repeats the request with the same repeatability id).
"""

from __future__ import annotations

import asyncio
import random as random_module
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
import structlog

from bot.domain.errors import DeliveryFailed
from bot.graph.errors import backoff_delay, parse_retry_after

log = structlog.get_logger(__name__)

T = TypeVar("T")
# Twilio: at most 1,600 characters; ACS: at most 2,048. Ours stay far below either.
MAX_SMS_LENGTH = 1600


class SmsFailed(DeliveryFailed):
    """A text message was not sent. *reason* names the provider and why, in words for the
    requester; *code* is the provider's error code (or HTTP status) for the audit trail."""

    def __init__(self, reason: str, *, provider: str, code: str = "", status: int = 0) -> None:
        super().__init__(reason)
        self.provider = provider
        self.code = code
        self.status = status


class Transient(Exception):  # a signal inside the retry loop, not an error
    """Raised by an attempt that may succeed if repeated; *failure* is what to raise when the
    retries are spent; *retry_after* the provider's wait hint in seconds, if any."""

    def __init__(self, failure: SmsFailed, retry_after: float | None = None) -> None:
        super().__init__(failure.reason)
        self.failure = failure
        self.retry_after = retry_after


class SmsRetry:
    """Runs an attempt under the module's retry policy. *sleep* and *random* are injectable
    so tests do not wait."""

    def __init__(
        self,
        *,
        max_retries: int = 3,
        max_wait: float = 20.0,
        backoff_base: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        self._max_retries = max_retries
        self._max_wait = max_wait
        self._backoff_base = backoff_base
        self._sleep = sleep
        self._random = random

    async def run(self, provider: str, attempt: Callable[[int], Awaitable[T]]) -> T:
        """Call *attempt* (with the attempt number, from 0) until it returns, raises anything
        but `Transient`, or the retries are spent (then its `SmsFailed` is raised)."""
        number = 0
        while True:
            try:
                return await attempt(number)
            except Transient as transient:
                wait = transient.retry_after
                if wait is None:
                    wait = backoff_delay(
                        number, base=self._backoff_base, cap=self._max_wait, random=self._random()
                    )
                if number >= self._max_retries or wait > self._max_wait:
                    raise transient.failure from None
                log.info(
                    "sms retry",
                    provider=provider,
                    code=transient.failure.code,
                    attempt=number + 1,
                    wait=wait,
                )
                await self._sleep(wait)
                number += 1


def retry_after(response: httpx.Response) -> float | None:
    """The wait a provider asked for in ``Retry-After``, in seconds, if any."""
    return parse_retry_after(response.headers.get("Retry-After"))


def connection_failure(provider: str, name: str, exc: httpx.TransportError) -> Transient:
    """A lost, refused or timed-out connection to *provider* (named *name* for people)."""
    what = (
        "did not answer in time"
        if isinstance(exc, httpx.TimeoutException)
        else "could not be reached"
    )
    return Transient(
        SmsFailed(
            f"{name} could not send the text message: the service {what}",
            provider=provider,
            code=type(exc).__name__,
        )
    )


def too_long(provider: str, name: str, text: str) -> SmsFailed | None:
    """The failure for a message over the length every provider accepts, else None."""
    if len(text) <= MAX_SMS_LENGTH:
        return None
    return SmsFailed(
        f"{name} could not send the text message: it is longer than {MAX_SMS_LENGTH} characters",
        provider=provider,
        code="too_long",
    )
