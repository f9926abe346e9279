"""Background upkeep, run at start-up and then every few seconds by the composition root.

Each part asks the store for the work that is due, and one failing part (or one failing item)
never stops the others: `Upkeep.run` reports what failed and carries on.

- **Expiry**: approval stages past their timeout expire (`RequestService.expire_due`).
- **Recovery**: requests left in ``approved`` or ``issuing`` for longer than a lease (a crash,
  a killed instance) are failed; any pass they may have created is deleted; the requester is
  told. The lease keeps one instance from failing a request another is still working on.
- **Pending deletions**: failed requests whose pass could not be deleted yet are retried until
  the pass is gone or has expired on its own.
- **Redaction**: delivered passes are removed from their chat messages when due. An edit that
  keeps failing is retried each round and abandoned (audited) a day after the pass expired.
- **Rate-limit events** older than a day are forgotten.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.audit import Auditor
from bot.domain.cleanup import CLOCK_SKEW, LONGEST_CREATION, PassCleanup
from bot.domain.errors import DeliveryFailed, StoreConflict
from bot.domain.issuing import MAYBE_CREATED, UNDELETED
from bot.domain.model import RequestState, ScheduledEdit, TapRequest
from bot.domain.ports import Clock, PassDelivery, Store

# Longer than the longest a healthy instance spends issuing: Graph retries plus delivery.
ISSUING_LEASE = timedelta(minutes=10)
GIVE_UP_REDACTING_AFTER = timedelta(days=1)
RATE_EVENTS_KEPT = timedelta(days=1)
# How many due items one round takes on per part; the rest wait for the next round.
BATCH = 100

Part = Callable[[], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class RoundReport:
    """What one round did (items per part) and which parts failed, with the error's type."""

    done: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


class Upkeep:
    def __init__(
        self,
        *,
        store: Store,
        delivery: PassDelivery,
        cleanup: PassCleanup,
        auditor: Auditor,
        clock: Clock,
        expire: Part | None = None,
        lease: timedelta = ISSUING_LEASE,
    ) -> None:
        self._store = store
        self._delivery = delivery
        self._cleanup = cleanup
        self._audit = auditor
        self._clock = clock
        self._expire = expire
        self._lease = lease

    async def run(self) -> RoundReport:
        """One round of every part; a part that raises is reported, and the others still run."""
        parts: dict[str, Part] = {
            "recover": self.recover,
            "retry_deletions": self.retry_deletions,
            "redact_due": self.redact_due,
            "prune_rate_events": self.prune_rate_events,
        }
        if self._expire is not None:
            parts = {"expire": self._expire, **parts}
        report = RoundReport()
        for name, part in parts.items():
            try:
                report.done[name] = await part()
            except Exception as exc:  # isolation is this method's contract; the caller logs
                report.failed[name] = type(exc).__name__
        return report

    async def recover(self) -> int:
        """Fail requests stuck past the lease, delete their passes, tell the requesters."""
        now = self._clock.now()
        stuck = await self._store.list_requests(
            states=(RequestState.ISSUING, RequestState.APPROVED),
            updated_before=now - self._lease,
            oldest_first=True,
            limit=BATCH,
        )
        recovered = 0
        for request in stuck:
            if request.issuing_started_at is not None and request.issuing_ended_at is None:
                # The creation's end was never recorded: it cannot have gone on past this.
                request = await self._store.update_request(
                    request.id,
                    changes={
                        "issuing_ended_at": min(now, request.issuing_started_at + LONGEST_CREATION)
                    },
                )
            gone = (
                await self._cleanup.delete(request, request.pass_id)
                if request.pass_id
                else await self._cleanup.delete_from_window(request)
            )
            reason = "interrupted" if gone else (UNDELETED if request.pass_id else MAYBE_CREATED)
            try:
                failed = await self._store.transition(
                    request.id,
                    expected=(request.state,),
                    new_state=RequestState.FAILED,
                    at=now,
                    changes={"reason": reason},
                )
            except StoreConflict:
                continue  # another instance moved it on
            recovered += 1
            await self._audit.record(
                "request",
                "failed",
                actor_id="tapbot",
                target_id=failed.target_id,
                request_id=failed.id,
                reason=reason,
            )
            await self._delivery.notify(failed.requester_id, _interrupted_text(failed, gone))
        return recovered

    async def retry_deletions(self) -> int:
        """Try again to delete passes of failed requests that may still be valid; give up on a
        pass once it has expired on its own (audited)."""
        now = self._clock.now()
        pending = await self._store.list_requests(
            states=(RequestState.FAILED,),
            reasons=(UNDELETED, MAYBE_CREATED),
            oldest_first=True,
            limit=BATCH,
        )
        done = 0
        for request in pending:
            if now > _last_possible_end(request):
                await self._settle(request, "pass_expired_undeleted")
                continue
            gone = (
                await self._cleanup.delete(request, request.pass_id)
                if request.reason == UNDELETED and request.pass_id
                else await self._cleanup.delete_from_window(request)
            )
            if gone:
                await self._settle(request, "pass_deleted_later")
                done += 1
        return done

    async def redact_due(self) -> int:
        """Redact every pass message whose time has come; return how many were redacted."""
        now = self._clock.now()
        redacted = 0
        for edit in await self._store.due_edits(now, limit=BATCH):
            try:
                await self._delivery.redact(edit)
            except DeliveryFailed as failure:
                if now > _ends_at(edit) + GIVE_UP_REDACTING_AFTER:
                    await self._finish(edit, "redaction_abandoned", failure.reason)
                continue
            await self._finish(edit, "redacted", "")
            redacted += 1
        return redacted

    async def prune_rate_events(self) -> int:
        """Forget rate-limit events no window looks at any more."""
        return await self._store.prune_rate_events(self._clock.now() - RATE_EVENTS_KEPT)

    async def _settle(self, request: TapRequest, reason: str) -> None:
        await self._store.update_request(request.id, changes={"reason": reason})
        await self._audit.record(
            "pass", reason, actor_id="tapbot", target_id=request.target_id, request_id=request.id
        )

    async def _finish(self, edit: ScheduledEdit, outcome: str, why: str) -> None:
        if await self._store.mark_edit_done(edit.id):
            await self._audit.record(
                "delivery",
                outcome,
                actor_id="tapbot",
                request_id=str(edit.payload.get("request_id", "")) or None,
                detail={"why": why} if why else None,
            )


def _last_possible_end(request: TapRequest) -> datetime:
    """After this moment no pass of *request* can still be valid."""
    if request.pass_ends_at is not None:
        return request.pass_ends_at + CLOCK_SKEW
    begun = request.start_at or request.issuing_started_at or request.updated_at
    if request.issuing_started_at is not None:
        begun = max(begun, request.issuing_started_at + LONGEST_CREATION)
    return begun + timedelta(minutes=request.lifetime_minutes) + CLOCK_SKEW


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
