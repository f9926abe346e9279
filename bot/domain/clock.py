"""The real clock. Tests pass their own `Clock`."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """`Clock` reading the system time, always in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
