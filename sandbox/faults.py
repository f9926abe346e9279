"""Fault injection, switchable per route at run time (``POST /_sandbox/faults``).

A fault names its *route*: an operation name (the aiohttp route name, e.g. ``create_pass``,
``list_users``, ``token``; see `sandbox.graph_routes`), a path prefix starting with ``/``
(``/v1.0/users``), or ``*`` for every route except ``/_sandbox/`` and the pages. Kinds:

- ``latency``: wait *seconds*, then answer normally;
- ``throttle``: 429 ``TooManyRequests`` with ``Retry-After: <retry_after>`` (default ``1``);
- ``error``: *status* (default 503) with a Graph error body (*code*, if given, is its code), and
  ``Retry-After`` if given; on the SMS routes the provider's error body, with *code* the
  provider's (Twilio's numeric codes such as ``21610``, ACS's ``error.code``);
- ``timeout``: wait *seconds* (default 30), then carry the request out and answer (a client that
  gave up meanwhile does not know the outcome);
- ``drop``: carry the request out, then close the connection without an answer;
- ``unreadable``: 200 with a body that is not Graph's JSON (an HTML page from a proxy).
- ``rate``: throttling as Graph does it, a budget of *limit* requests per *per_seconds*
  (a token bucket holding *limit*, refilled evenly): within it a request goes on to the other
  faults and the route; beyond it, 429 ``TooManyRequests`` with ``Retry-After`` the whole
  seconds until a request fits again (at least 1). *count* does not apply.

An ``error`` with status 403 answers with the route's own permission error (the shapes in
`sandbox.graph_routes.forbidden`). *skip* lets that many matching requests through first (the
second page of a list fails: ``skip`` 1). *count* is how many requests the fault hits after
that before it is spent; absent or null: until cleared. Faults are checked in the order they
were added; the first that matches applies.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("latency", "throttle", "error", "timeout", "drop", "unreadable", "rate")


@dataclass
class Fault:
    route: str
    kind: str
    count: int | None = None
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    skip: int = 0
    code: str | None = None
    limit: int = 0
    per_seconds: float = 10.0
    _tokens: float = field(default=-1.0, repr=False, compare=False)
    _refilled: float = field(default=0.0, repr=False, compare=False)

    def admit(self, now: float) -> float | None:
        """For a ``rate`` fault: None when a request fits the budget now (and spend it), else
        the seconds until one does."""
        rate = self.limit / self.per_seconds
        if self._tokens < 0:
            self._tokens, self._refilled = float(self.limit), now
        self._tokens = min(float(self.limit), self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return (1 - self._tokens) / rate

    def matches(self, operation: str | None, path: str) -> bool:
        if self.route == "*":
            return True
        if self.route.startswith("/"):
            return path.startswith(self.route)
        return operation == self.route

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


def fault_from_json(spec: object) -> Fault:
    """Validate a fault description; ValueError names the problem."""
    if not isinstance(spec, dict):
        raise ValueError("a fault is a JSON object")
    route, kind = spec.get("route"), spec.get("kind")
    if not isinstance(route, str) or not route:
        raise ValueError("'route' must be an operation name, a path prefix or '*'")
    if kind not in KINDS:
        raise ValueError(f"'kind' must be one of {', '.join(KINDS)}")
    count = spec.get("count")
    if count is not None and (not isinstance(count, int) or count < 1):
        raise ValueError("'count' must be a positive integer or null")
    status = spec.get("status", 429 if kind == "throttle" else 503)
    if not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError("'status' must be an HTTP error status")
    retry_after = spec.get("retry_after", "1" if kind == "throttle" else None)
    if retry_after is not None:
        retry_after = str(retry_after)
    default_seconds = 30.0 if kind == "timeout" else 0.0
    seconds = spec.get("seconds", default_seconds)
    if not isinstance(seconds, int | float) or seconds < 0:
        raise ValueError("'seconds' must be a non-negative number")
    skip = spec.get("skip", 0)
    if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
        raise ValueError("'skip' must be a non-negative integer")
    code = spec.get("code")
    if code is not None and (not isinstance(code, str | int) or isinstance(code, bool)):
        raise ValueError("'code' must be a string or a number")
    limit = spec.get("limit", 0)
    per_seconds = spec.get("per_seconds", 10.0)
    if kind == "rate" and (
        not isinstance(limit, int)
        or limit < 1
        or not isinstance(per_seconds, int | float)
        or per_seconds <= 0
    ):
        raise ValueError("a 'rate' fault needs 'limit' (requests) and 'per_seconds' above 0")
    return Fault(
        route,
        str(kind),
        None if kind == "rate" else count,
        status,
        retry_after,
        float(seconds),
        skip,
        str(code) if code is not None else None,
        int(limit),
        float(per_seconds),
    )


class FaultBoard:
    """The active faults."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.hits = 0

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def clear(self) -> None:
        self.faults.clear()

    def take(self, operation: str | None, path: str) -> Fault | None:
        """The fault that applies to this request, spending one of its count."""
        for fault in self.faults:
            if fault.matches(operation, path) and fault.kind == "rate":
                wait = fault.admit(time.monotonic())
                if wait is None:
                    continue  # within the budget: later faults may still apply
                self.hits += 1
                return Fault(fault.route, "throttle", retry_after=str(max(1, math.ceil(wait))))
            if fault.matches(operation, path):
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                self.hits += 1
                return fault
        return None
