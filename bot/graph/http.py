"""`GraphHttp`: one Graph request with our retry policy, and collections read across pages.

Retries. 429, 503 and 504 are retried up to *max_retries* times, waiting what ``Retry-After``
says (seconds, fractional allowed, or an HTTP date) or else an exponential backoff with jitter.
A wait longer than *max_retry_wait* is not slept: we give up at once, since an earlier retry
would only be throttled again, and the caller gets `DirectoryThrottled` with Graph's
``retry_after`` to reschedule. A connection that could not be opened is retried like a 503.
A request that was sent and then timed out or lost its connection is retried only when it is
safe to repeat (*idempotent*: reads, deletes, app installation, whose repeat answers 409).

Pass creation and mail are not safe to repeat blindly: the first attempt may have worked. A
repeated creation would replace that pass with a new one (Entra keeps one per user), so no
second pass would exist, but if the repeat then failed, a valid pass whose value nobody saw
would be left behind; a repeated mail may reach the person twice. So after such a failure we
raise `DirectoryUnavailable` with code `OUTCOME_UNKNOWN` and let the workflow, which knows the
request, decide (list and delete the orphan pass, then issue again or fail). 429 and 503 are
still retried for them: Graph refused those requests before carrying them out.
"""

from __future__ import annotations

import asyncio
import random as random_module
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import structlog

from bot.domain.errors import DirectoryUnavailable
from bot.graph.errors import (
    CONNECTION_FAILED,
    INVALID_RESPONSE,
    OUTCOME_UNKNOWN,
    TIMEOUT,
    backoff_delay,
    error_for,
    parse_retry_after,
)

log = structlog.get_logger(__name__)

Json = dict[str, Any]
_RETRYABLE_STATUSES = frozenset({429, 503, 504})
# Failures that happen before a request leaves this machine: always safe to repeat.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# OData punctuation stays readable in query strings; everything else is percent-encoded.
_QUERY_SAFE = "$,'()/:"


class GraphHttp:
    """Sends Graph requests on an injected `httpx.AsyncClient` (see the module docstring).

    *auth*, when given, authenticates each request, since the shared client may serve other
    APIs too. *sleep* and *random* are injectable so tests do not wait.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        auth: httpx.Auth | None = None,
        max_retries: int = 4,
        max_retry_wait: float = 30.0,
        backoff_base: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        self._http = http
        self.base = base_url.rstrip("/")
        self._origin = str(httpx.URL(self.base).copy_with(path="/", query=None, fragment=None))
        self._auth = auth
        self._max_retries = max_retries
        self._max_retry_wait = max_retry_wait
        self._backoff_base = backoff_base
        self._sleep = sleep
        self._random = random

    def url(self, *segments: str, params: Mapping[str, str] | None = None) -> str:
        """The URL of *segments* under the base, each quoted (a guest's UPN holds '#EXT#')."""
        url = self.base + "/" + "/".join(quote(s, safe="@") for s in segments)
        if params:
            url += "?" + urlencode(params, quote_via=quote, safe=_QUERY_SAFE)
        return url

    async def get_json(
        self, operation: str, url: str, headers: Mapping[str, str] | None = None
    ) -> Json:
        """GET *url* and return its JSON object."""
        response = await self.send(operation, "GET", url, headers, idempotent=True)
        return json_object(response, operation)

    async def collect(
        self,
        operation: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        limit: int | None = None,
    ) -> list[Json]:
        """Return the items of the collection at *url*, following ``@odata.nextLink`` (with
        the same *headers*) until the last page or *limit* items."""
        items: list[Json] = []
        async for page in self.pages(operation, url, headers):
            items.extend(page)
            if limit is not None and len(items) >= limit:
                return items[:limit]
        return items

    async def pages(
        self, operation: str, url: str, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[list[Json]]:
        """Yield the collection at *url* one page of items at a time, following
        ``@odata.nextLink`` (with the same *headers*); the next page is read only when asked
        for, so a caller that keeps no page holds one at a time."""
        next_url: str | None = url
        seen: set[str] = set()
        while next_url is not None:
            seen.add(next_url)
            body = await self.get_json(operation, next_url, headers)
            values = body.get("value")
            if not isinstance(values, list):
                raise DirectoryUnavailable(
                    f"Graph {operation}: answer has no value list", code=INVALID_RESPONSE
                )
            next_url = self._next_link(body, operation, seen)
            yield [v for v in values if isinstance(v, dict)]

    def _next_link(self, body: Json, operation: str, seen: set[str]) -> str | None:
        link = body.get("@odata.nextLink")
        if link is None:
            return None
        # Never round in a circle.
        if not self.is_graph_link(link) or link in seen:
            raise DirectoryUnavailable(
                f"Graph {operation}: unusable @odata.nextLink", code=INVALID_RESPONSE
            )
        assert isinstance(link, str)
        return link

    def is_graph_link(self, link: object) -> bool:
        """Tell whether *link* (a next or delta link) points at this Graph endpoint. The bearer
        token goes with every request: links are followed only to Graph itself."""
        return isinstance(link, str) and link.startswith(self._origin)

    async def send(
        self,
        operation: str,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        json: Any = None,
        idempotent: bool,
    ) -> httpx.Response:
        """Send one request under the retry policy; return a 2xx or 3xx response or raise the
        DirectoryError matching Graph's answer. *operation* names the call in messages."""
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method,
                    url,
                    json=json,
                    headers=headers,
                    auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TransportError as exc:
                sent = not isinstance(exc, _NOT_SENT)
                code = TIMEOUT if isinstance(exc, httpx.TimeoutException) else CONNECTION_FAILED
                if sent and not idempotent:
                    raise DirectoryUnavailable(
                        f"Graph {operation}: {type(exc).__name__} after sending; "
                        "it may have been carried out",
                        code=OUTCOME_UNKNOWN,
                    ) from exc
                if attempt >= self._max_retries:
                    raise DirectoryUnavailable(
                        f"Graph {operation}: {type(exc).__name__} on {attempt + 1} attempts",
                        code=code,
                    ) from exc
                wait, status = self._backoff(attempt), 0
            else:
                status = response.status_code
                if status < 400:
                    return response
                if status == 504 and not idempotent:
                    # A gateway gave up waiting; the service behind it may have finished.
                    raise DirectoryUnavailable(
                        f"Graph {operation}: HTTP 504; it may have been carried out",
                        code=OUTCOME_UNKNOWN,
                        status=504,
                    )
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                wait = retry_after if retry_after is not None else self._backoff(attempt)
                if (
                    status not in _RETRYABLE_STATUSES
                    or attempt >= self._max_retries
                    or wait > self._max_retry_wait
                ):
                    raise error_for(response, operation, retry_after=wait)
            log.info(
                "graph retry", operation=operation, status=status, attempt=attempt + 1, wait=wait
            )
            await self._sleep(wait)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(
            attempt, base=self._backoff_base, cap=self._max_retry_wait, random=self._random()
        )


def json_object(response: httpx.Response, operation: str) -> Json:
    """The JSON object in *response*; DirectoryUnavailable when it holds anything else."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DirectoryUnavailable(
            f"Graph {operation}: answer is not a JSON object",
            code=INVALID_RESPONSE,
            status=response.status_code,
        )
    return body
