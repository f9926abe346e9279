"""SMS clients on httpx.MockTransport: requests recorded, sleeps recorded instead of slept."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from bot.delivery.sms import SmsRetry

Handler = Callable[[httpx.Request], httpx.Response]


class Wire:
    """One MockTransport: the handler answers, `requests` and `sleeps` record."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        self.handler: Handler = lambda request: httpx.Response(500)
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(self._answer))

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def answers(self, *responses: httpx.Response | Exception) -> None:
        """Answer with *responses* in turn (an exception is raised as the transport's)."""
        queue = list(responses)

        def handler(request: httpx.Request) -> httpx.Response:
            answer = queue.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        self.handler = handler

    def retry(self, **options: Any) -> SmsRetry:
        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        return SmsRetry(sleep=sleep, random=lambda: 0.5, **options)


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    the_wire = Wire()
    yield the_wire
    await the_wire.http.aclose()
