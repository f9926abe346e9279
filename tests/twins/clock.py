"""`ManualClock`: the `Clock` port, moved by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """Starts at *at* (default: the real time now, so tokens and certificates stay valid)."""

    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)
