"""A record of the Graph calls the fake tenant answered, for benchmarks and tests.

``GET /_sandbox/calls.json`` lists them (operation, start and end in seconds on the tenant's
monotonic clock); ``DELETE /_sandbox/calls`` forgets them. Only the newest entries are kept.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from aiohttp import web

MAX_CALLS = 100_000


@dataclass(frozen=True, slots=True)
class Call:
    operation: str
    started: float
    ended: float
    status: int


class CallLog:
    def __init__(self) -> None:
        self.calls: deque[Call] = deque(maxlen=MAX_CALLS)

    def record(self, operation: str, started: float, status: int) -> None:
        self.calls.append(Call(operation, started, time.monotonic(), status))

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/_sandbox/calls.json", self._list)
        app.router.add_delete("/_sandbox/calls", self._clear)

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "value": [
                    {"operation": c.operation, "started": c.started, "ended": c.ended,
                     "status": c.status}
                    for c in self.calls
                ]
            }
        )  # fmt: skip

    async def _clear(self, request: web.Request) -> web.Response:
        self.calls.clear()
        return web.Response(status=204)
