"""Background upkeep, run at start-up and then every few seconds by the composition root.

- **Recovery**: requests left in ``approved`` or ``issuing`` for longer than a lease (a crash,
  a killed instance) are failed; any pass they may have created is deleted; the requester is
  told. The lease keeps one instance from failing a request another is still working on.
- **Pending deletions**: failed requests whose pass could not be deleted yet are retried.
- **Redaction**: delivered passes are removed from their chat messages when due. An edit that
  keeps failing is retried each round and abandoned (audited) a day after the pass expired.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.audit import Auditor
from bot.domain.cleanup import PassCleanup
from bot.domain.errors import DeliveryFailed, StoreConflict
from bot.domain.model import RequestState, ScheduledEdit, TapRequest
from bot.domain.ports import Clock, PassDelivery, Store

# Longer than the longest a healthy instance spends issuing: Graph retries plus delivery.
ISSUING_LEASE = timedelta(minutes=10)
GIVE_UP_REDACTING_AFTER = timedelta(days=1)
# Reasons of failed requests whose pass may still exist.
UNDELETED = "pass_not_deleted"
MAYBE_CREATED = "pass_unknown"


class Upkeep:
    def __init__(
        self,
        *,
        store: Store,
        delivery: PassDelivery,
        cleanup: PassCleanup,
        auditor: Auditor,
        clock: Clock,
        lease: timedelta = ISSUING_LEASE,
    ) -> None:
        self._store = store
        self._delivery = delivery
        self._cleanup = cleanup
        self._audit = auditor
        self._clock = clock
        self._lease = lease

    async def run(self) -> None:
        """One round of everything; each part's failures stay within it."""
        await self.recover()
        await self.retry_deletions()
        await self.redact_due()

    async def recover(self) -> int:
        """Fail requests stuck past the lease, delete their passes, tell the requesters."""
        stale_before = self._clock.now() - self._lease
        stuck = [
            request
            for request in await self._store.list_requests(
                states=(RequestState.ISSUING, RequestState.APPROVED), limit=1000
            )
            if request.updated_at < stale_before
        ]
        for request in stuck:
            gone = (
                await self._cleanup.delete(request, request.pass_id)
                if request.pass_id
                else await self._cleanup.delete_created_since(request)
            )
            reason = "interrupted" if gone else (UNDELETED if request.pass_id else MAYBE_CREATED)
            try:
                failed = await self._store.transition(
                    request.id,
                    expected=(request.state,),
                    new_state=RequestState.FAILED,
                    at=self._clock.now(),
                    changes={"reason": reason},
                )
            except StoreConflict:
                continue  # another instance moved it on
            await self._audit.record(
                "request",
                "failed",
                actor_id="tapbot",
                target_id=failed.target_id,
                request_id=failed.id,
                reason=reason,
            )
            await self._delivery.notify(failed.requester_id, _interrupted_text(failed, gone))
        return len(stuck)

    async def retry_deletions(self) -> int:
        """Try again to delete passes of failed requests that may still be valid."""
        pending = [
            request
            for request in await self._store.list_requests(
                states=(RequestState.FAILED,), limit=1000
            )
            if request.reason in (UNDELETED, MAYBE_CREATED)
        ]
        done = 0
        for request in pending:
            gone = (
                await self._cleanup.delete(request, request.pass_id)
                if request.reason == UNDELETED and request.pass_id
                else await self._cleanup.delete_created_since(request)
            )
            if gone:
                await self._store.update_request(
                    request.id, changes={"reason": "pass_deleted_later"}
                )
                done += 1
        return done

    async def redact_due(self) -> int:
        """Redact every pass message whose time has come; return how many were redacted."""
        now = self._clock.now()
        redacted = 0
        for edit in await self._store.due_edits(now):
            try:
                await self._delivery.redact(edit)
            except DeliveryFailed as failure:
                if now > _ends_at(edit) + GIVE_UP_REDACTING_AFTER:
                    await self._finish(edit, "redaction_abandoned", failure.reason)
                continue
            await self._finish(edit, "redacted", "")
            redacted += 1
        return redacted

    async def _finish(self, edit: ScheduledEdit, outcome: str, why: str) -> None:
        if await self._store.mark_edit_done(edit.id):
            await self._audit.record(
                "delivery",
                outcome,
                actor_id="tapbot",
                request_id=str(edit.payload.get("request_id", "")) or None,
                detail={"why": why} if why else None,
            )


def _ends_at(edit: ScheduledEdit) -> datetime:
    try:
        return datetime.fromisoformat(str(edit.payload.get("ends_at")))
    except ValueError:
        return edit.due_at


def _interrupted_text(request: TapRequest, gone: bool) -> str:
    if gone:
        return (
            f"Your pass request for {request.target_name} was interrupted before the pass "
            "reached you. No pass from it is valid; please request again."
        )
    return (
        f"Your pass request for {request.target_name} was interrupted before the pass reached "
        "you, and I couldn't yet make sure no pass from it is left. Don't use one if you see "
        "it; I keep trying to delete it. Please request again."
    )
