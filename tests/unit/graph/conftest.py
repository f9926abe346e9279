"""A GraphClient wired to an in-test request handler through httpx.MockTransport."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from bot.graph.client import GraphClient

BASE = "https://graph.test/v1.0"  # also in the tests, which cannot import this module
Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


class Harness:
    """Builds GraphClients on MockTransports; records requests and the sleeps it was asked for.

    Its static helpers build Graph-shaped responses for the handlers tests write.
    """

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        self._http: list[httpx.AsyncClient] = []

    @staticmethod
    def ok(
        body: Any = None, status: int = 200, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return httpx.Response(status, json=body if body is not None else {}, headers=headers)

    @staticmethod
    def graph_error(
        status: int, code: str, message: str = "", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """A Graph error envelope (errors.md), with innerError as real responses carry it."""
        body = {
            "error": {
                "code": code,
                "message": message,
                "innerError": {"date": "2024-06-01T10:00:00", "request-id": "r-1"},
            }
        }
        return httpx.Response(status, json=body, headers=headers)

    @staticmethod
    def body_of(request: httpx.Request) -> Any:
        return json.loads(request.content)

    def client(self, handler: Handler, **options: Any) -> GraphClient:
        async def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            result = handler(request)
            return await result if inspect.isawaitable(result) else result

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        http = httpx.AsyncClient(transport=httpx.MockTransport(record))
        self._http.append(http)
        options.setdefault("sleep", sleep)
        options.setdefault("random", lambda: 0.5)
        return GraphClient(http, base_url=BASE, **options)

    def params(self, index: int = -1) -> dict[str, str]:
        return dict(self.requests[index].url.params)

    async def close(self) -> None:
        for http in self._http:
            await http.aclose()


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    yield h
    await h.close()
