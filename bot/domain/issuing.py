"""From a claimed request to a delivered pass, and undoing it when delivery fails.

The caller (`RequestService`) has moved the request to ``issuing`` (which claims the one slot per
person: a second request for the same target cannot be issuing at the same time) and checked the
rules. Here: list the target's passes once more right before creating (a pass made since the
check is never silently replaced) while asking the delivery whether it can still reach the
person (a number or address may have gone while an approval waited: then no pass is made at
all), create the pass, deliver it, schedule its redaction. The pass
value lives only between `PassIssuer.create_pass` and `PassDelivery.deliver`; a pass that could
not be delivered is deleted again, and a creation whose answer was lost is looked for within the
request's issuing window (`bot.domain.cleanup`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from bot.domain.audit import Auditor
from bot.domain.cleanup import PassCleanup
from bot.domain.delivery_options import by_method
from bot.domain.errors import DeliveryFailed, DirectoryError, DirectoryUnavailable, StoreConflict
from bot.domain.model import (
    DeliveryReceipt,
    PassInfo,
    RequestState,
    ScheduledEdit,
    TapRequest,
)
from bot.domain.outcomes import ConfirmReplace, Failed, Issued, Outcome, directory_failure_text
from bot.domain.policy import existing_pass_needs_confirmation
from bot.domain.ports import Clock, PassDelivery, PassIssuer, Store

REDACT_KIND = "redact_pass"
# Reasons of failed requests whose pass may still exist (retried by `Upkeep`).
UNDELETED = "pass_not_deleted"
MAYBE_CREATED = "pass_unknown"
# The delivery chosen could not reach the person when the pass was about to be created.
UNDELIVERABLE = "undeliverable"
# States a request can fail from.
_FAILABLE = (
    RequestState.ISSUING,
    RequestState.APPROVED,
    RequestState.PENDING_APPROVAL,
    RequestState.DRAFT,
)


class PassIssuing:
    """Create, deliver and, when needed, undo the pass of one claimed request."""

    def __init__(
        self,
        *,
        pass_issuer: PassIssuer,
        delivery: PassDelivery,
        store: Store,
        auditor: Auditor,
        clock: Clock,
        cleanup: PassCleanup,
        redact_after: timedelta,
    ) -> None:
        self._issuer = pass_issuer
        self._delivery = delivery
        self._store = store
        self._audit = auditor
        self._clock = clock
        self._cleanup = cleanup
        self._redact_after = redact_after

    async def create_and_deliver(self, request: TapRequest) -> Outcome:
        """Issue *request* (state ``issuing``, rules just checked). A live pass found now that the
        requester has not agreed to replace turns the request back into a question; a delivery
        that cannot reach the person fails the request before any pass exists."""
        listed, why_not = await asyncio.gather(
            self._issuer.list_passes(request.target_id),
            self._delivery.cannot_deliver(request),
            return_exceptions=True,
        )
        if isinstance(listed, DirectoryError):
            return await self.directory_failed(request, listed)
        if isinstance(listed, BaseException):
            raise listed
        if isinstance(why_not, BaseException):
            raise why_not
        live = existing_pass_needs_confirmation(listed, self._clock.now())
        if live is not None and not request.replace_existing:
            return await self._ask_first(request, live)
        if why_not is not None:
            return await self._undeliverable(request, why_not)
        try:
            issued = await self._issuer.create_pass(
                request.target_id,
                lifetime_minutes=request.lifetime_minutes,
                is_usable_once=request.is_usable_once,
                start_at=request.start_at,
            )
        except DirectoryUnavailable as error:
            # A timeout or 5xx may hide a pass that was created: never leave it valid.
            request = await self._store.update_request(
                request.id, changes={"issuing_ended_at": self._clock.now()}
            )
            if not await self._cleanup.delete_from_window(request):
                failed = await self.fail(request, MAYBE_CREATED, detail=error.code)
                return Failed(
                    failed,
                    "Microsoft Entra stopped answering while creating the pass, so I can't "
                    "tell whether it made one. If it did, I'll delete it as soon as Entra "
                    "answers again: don't use any pass from this request. Please try again "
                    "in a few minutes.",
                )
            return await self.directory_failed(request, error)
        except DirectoryError as error:
            return await self.directory_failed(request, error)
        info = issued.info
        try:
            request = await self._store.transition(
                request.id,
                expected=(RequestState.ISSUING,),
                new_state=RequestState.ISSUING,
                at=self._clock.now(),
                changes={
                    "pass_id": info.id,
                    "pass_ends_at": info.ends_at,
                    "issuing_ended_at": self._clock.now(),
                },
            )
            await self._audit.record(
                "pass",
                "issued",
                actor_id=request.requester_id,
                target_id=request.target_id,
                request_id=request.id,
                detail={"pass_id": info.id, "ends_at": info.ends_at.isoformat()},
            )
            receipt = await self._delivery.deliver(request, issued)
        except StoreConflict:
            return await self._undo(request, info, "interrupted", "it took too long")
        except DeliveryFailed as failure:
            return await self._undo(request, info, "delivery_failed", failure.reason)
        except BaseException:
            # Anything else between creating and delivering: the pass must not stay valid.
            await self._cleanup.delete(request, info.id)
            raise
        return await self._delivered(request, info, receipt)

    async def fail(self, request: TapRequest, reason: str, *, detail: str = "") -> TapRequest:
        """Move *request* to ``failed`` with *reason* and audit it. A request that has already
        ended (upkeep's recovery gave up on an issue slower than its lease) is returned as it
        stands, unchanged."""
        try:
            failed = await self._store.transition(
                request.id,
                expected=_FAILABLE,
                new_state=RequestState.FAILED,
                at=self._clock.now(),
                changes={"reason": reason},
            )
        except StoreConflict:
            # Nobody else moves a request this call has claimed, except recovery ending it.
            current = await self._store.get_request(request.id)
            if current is None:
                raise
            return current
        await self._audit.record(
            "request",
            "failed",
            actor_id=request.requester_id,
            target_id=request.target_id,
            request_id=request.id,
            reason=reason,
            detail={"why": detail} if detail else None,
        )
        return failed

    async def directory_failed(self, request: TapRequest, error: DirectoryError) -> Failed:
        """Fail *request* because the directory failed, in words for the requester."""
        failed = await self.fail(request, "directory_error", detail=error.code or "")
        return Failed(failed, directory_failure_text(error))

    async def _undeliverable(self, request: TapRequest, why: str) -> Failed:
        failed = await self.fail(request, UNDELIVERABLE, detail=why)
        how = by_method(request.delivery, target_name=request.target_name)
        return Failed(
            failed,
            f"I can't deliver the pass {how}: {why}. No pass was issued; please request again "
            "and choose another way.",
        )

    async def _ask_first(self, request: TapRequest, live: PassInfo) -> Outcome:
        asking = await self._store.transition(
            request.id,
            expected=(RequestState.ISSUING,),
            new_state=RequestState.DRAFT,
            at=self._clock.now(),
            changes={
                "reason": "existing_pass",
                "issuing_started_at": None,
                # What the requester's card asks about: without it the card (redrawn from the
                # store) cannot ask, and an approved request would wait in draft for good.
                "context": dataclasses.replace(request.context, existing_pass_ends_at=live.ends_at),
            },
        )
        await self._audit.record(
            "request",
            "confirmation_asked",
            actor_id=request.requester_id,
            target_id=request.target_id,
            request_id=request.id,
            reason="existing_pass",
        )
        return ConfirmReplace(asking, live)

    async def _delivered(
        self, request: TapRequest, info: PassInfo, receipt: DeliveryReceipt
    ) -> Outcome:
        if receipt.activity_id:
            # Scheduled before the request is marked delivered, so no crash can skip it.
            await self._store.schedule_edit(
                ScheduledEdit(
                    id=f"redact:{request.id}",
                    due_at=min(info.ends_at, self._clock.now() + self._redact_after),
                    conversation_key=receipt.conversation_key,
                    activity_id=receipt.activity_id,
                    kind=REDACT_KIND,
                    payload={
                        "request_id": request.id,
                        "target_name": request.target_name,
                        "ends_at": info.ends_at.isoformat(),
                    },
                )
            )
        try:
            delivered = await self._store.transition(
                request.id,
                expected=(RequestState.ISSUING,),
                new_state=RequestState.DELIVERED,
                at=self._clock.now(),
                changes={"delivered_to": receipt.destination},
            )
        except StoreConflict:
            # Recovery elsewhere gave up on this request meanwhile: it must not stay valid.
            return await self._undo(request, info, "interrupted", "it took too long")
        await self._audit.record(
            "delivery",
            "delivered",
            actor_id=request.requester_id,
            target_id=request.target_id,
            request_id=request.id,
            detail={"method": receipt.method},
        )
        return Issued(delivered)

    async def _undo(self, request: TapRequest, info: PassInfo, reason: str, why: str) -> Failed:
        """Delete a pass that could not be delivered, fail the request and say so truly."""
        gone = await self._cleanup.delete(request, info.id)
        failed = await self.fail(request, reason if gone else UNDELETED, detail=why)
        if not gone and (failed.reason, failed.pass_id) != (UNDELETED, info.id):
            # Recovery ended the request before this pass existed, so nothing records it:
            # without this, upkeep never retries the deletion and the pass stays valid.
            failed = await self._store.update_request(
                request.id,
                changes={"reason": UNDELETED, "pass_id": info.id, "pass_ends_at": info.ends_at},
            )
        name = request.target_name
        how = by_method(request.delivery, target_name=name)
        if gone:
            text = (
                f"I created the pass but could not deliver it {how} ({why}), so I deleted it "
                "again. No pass is valid; please try again."
            )
        else:
            text = (
                f"I created the pass but could not deliver it {how} ({why}), and Microsoft "
                f"Entra didn't let me delete it yet. Don't use any pass for {name} from this "
                "request: I keep trying to delete it. Tell your IT team if it is urgent."
            )
        return Failed(failed, text)
