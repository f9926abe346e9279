"""Reading the audit trail page by page: the keyset cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.model import AuditEvent


@dataclass(frozen=True, slots=True)
class AuditCursor:
    """A position in the audit trail: the (at, id) of the last event a page held.

    Events are ordered by (at, id). Paging on the pair, not on the time alone, neither skips
    nor repeats events that share a timestamp, however a page boundary falls among them.
    """

    at: datetime
    id: int

    @classmethod
    def after(cls, event: AuditEvent) -> AuditCursor:
        """The cursor just past *event* (which must have been read from a store)."""
        if event.id is None:
            raise ValueError("an audit event without an id was never stored")
        return cls(event.at, event.id)
