"""Writing the audit trail: one append-only event per request, check, decision and refusal."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.model import AuditEvent
from bot.domain.ports import Clock, Store


class Auditor:
    """Append audit events stamped with the clock's time. Never pass a pass value in *detail*."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def record(
        self,
        action: str,
        outcome: str,
        *,
        actor_id: str,
        target_id: str | None = None,
        request_id: str | None = None,
        reason: str | None = None,
        detail: Mapping[str, str] | None = None,
    ) -> AuditEvent:
        """Append one event and return it as stored (with its id)."""
        event = AuditEvent(
            at=self._clock.now(),
            action=action,
            outcome=outcome,
            actor_id=actor_id,
            target_id=target_id,
            request_id=request_id,
            reason=reason,
            detail=dict(detail or {}),
        )
        return await self._store.append_audit(event)
