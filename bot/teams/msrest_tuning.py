"""One measured fix to msrest 0.7.1, the HTTP layer under botbuilder's connector clients.

botbuilder builds two connector clients per turn, and each builds a ``ClientRetryPolicy``
whose ``__init__`` tests 999 status codes for membership in a 501-item *list*: 4-5 ms of CPU
every time, the largest single cost of a turn here (shared/facts/performance-baseline.md, and
py-spy on `make bench`). A frozenset with the same members gives the same retry policy.
"""

from __future__ import annotations

from msrest.universal_http.requests import ClientRetryPolicy


def make_retry_policy_cheap() -> None:
    """Make ``ClientRetryPolicy()`` cheap; idempotent, and the policy it builds is unchanged."""
    codes = ClientRetryPolicy.safe_codes
    if not isinstance(codes, frozenset):
        ClientRetryPolicy.safe_codes = frozenset(codes)  # type: ignore[assignment]  # only `in` is used
