"""The manager request flow: checks, the request lifecycle, issuing and delivering a pass.

Lifecycle (PRODUCT.md): ``draft → approved → issuing → delivered``, ending instead in
``cancelled`` or ``failed``. Every transition is a compare-and-set in the store, so a double
click, a retried invoke or two bot instances produce one pass. The rules are checked when the
form is submitted and again right before the pass is created, because the directory can change
in between. The pass value lives only between `PassIssuer.create_pass` and
`PassDelivery.deliver`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.domain.audit import Auditor
from bot.domain.cleanup import PassCleanup
from bot.domain.eligibility import gather_target_facts
from bot.domain.errors import (
    DeliveryFailed,
    DirectoryError,
    DirectoryUnavailable,
    StoreConflict,
)
from bot.domain.model import (
    DeliveryReceipt,
    DirectoryUser,
    PassInfo,
    RequestState,
    ScheduledEdit,
    TapPolicy,
    TapRequest,
)
from bot.domain.outcomes import (
    ConfirmReplace,
    Failed,
    Issued,
    Outcome,
    Refused,
    RequestFormData,
    TargetOption,
    Unchanged,
    directory_failure_text,
    request_id_for,
)
from bot.domain.policy import (
    REQUESTER_WINDOW,
    TARGET_WINDOW,
    PolicyConfig,
    Refusal,
    TargetFacts,
    allowed_lifetimes,
    check_pass_parameters,
    check_rate_limits,
    check_target,
    default_lifetime,
    existing_pass_needs_confirmation,
    needs_helpdesk_approval,
    one_time_forced,
)
from bot.domain.ports import Clock, Directory, PassDelivery, PassIssuer, Store
from bot.domain.refusals import message, refusal_message
from bot.domain.request_form import RequestForm
from bot.domain.upkeep import MAYBE_CREATED, UNDELETED

REDACT_KIND = "redact_pass"
_ISSUABLE = (RequestState.APPROVED,)
# How long "replace the existing pass?" may be answered.
CONFIRMATION_VALID = timedelta(minutes=15)


class ManagerRequests:
    """Flow 1: a manager requests a pass for a direct report, delivered in Teams chat."""

    def __init__(
        self,
        *,
        directory: Directory,
        pass_issuer: PassIssuer,
        delivery: PassDelivery,
        store: Store,
        auditor: Auditor,
        clock: Clock,
        config: PolicyConfig,
        redact_after: timedelta,
    ) -> None:
        self._directory = directory
        self._issuer = pass_issuer
        self._delivery = delivery
        self._store = store
        self._audit = auditor
        self._clock = clock
        self._config = config
        self._redact_after = redact_after
        self._cleanup = PassCleanup(pass_issuer, auditor)

    async def form_data(self, requester_id: str) -> RequestFormData:
        """The requester's direct reports, each marked eligible or not, and the policy's
        choices. Raise DirectoryError when the directory cannot be read."""
        reports, policy = await asyncio.gather(
            self._directory.list_direct_reports(requester_id), self._issuer.get_policy()
        )
        now = self._clock.now()
        limit = asyncio.Semaphore(8)

        async def option(user: DirectoryUser) -> TargetOption:
            async with limit:
                facts = await gather_target_facts(
                    self._directory, self._issuer, user.id, self._config, now, policy=policy
                )
            refusal = check_target(requester_id, facts, self._config) or (
                Refusal.NEEDS_HELPDESK_APPROVAL
                if needs_helpdesk_approval(facts, self._config, now)
                else None
            )
            text = refusal_message(refusal, facts, self._config) if refusal else ""
            return TargetOption(user, refusal, text)

        options = await asyncio.gather(*(option(user) for user in reports))
        ordered = sorted(options, key=lambda o: (o.refusal is not None, o.user.display_name))
        return RequestFormData(
            targets=ordered,
            lifetimes=allowed_lifetimes(policy, self._config),
            default_lifetime=default_lifetime(policy, self._config),
            one_time_forced=one_time_forced(policy, self._config),
            policy_enabled=policy.enabled,
        )

    async def refuse_input(self, requester_id: str, field: str, problem: str) -> Refused:
        """Refuse a malformed or tampered submission and audit it."""
        await self._audit.record(
            "request",
            "refused",
            actor_id=requester_id,
            reason=Refusal.INVALID_INPUT,
            detail={"field": field, "problem": problem},
        )
        return Refused(Refusal.INVALID_INPUT, refusal_message(Refusal.INVALID_INPUT, None))

    async def submit(self, requester_id: str, requester_name: str, form: RequestForm) -> Outcome:
        """Check *form* from *requester_id* (from the authenticated activity) and, when every
        rule holds, issue and deliver the pass. Never raises for a directory failure."""
        request_id = request_id_for(requester_id, form.form_id)
        known = await self._store.get_request(request_id)
        if known is not None:
            return Unchanged(known)
        try:
            checked = await self._check(requester_id, form_target=form.target_id, form=form)
        except DirectoryError as error:
            return await self._directory_failed(None, requester_id, form.target_id, error)
        if isinstance(checked, Refused):
            await self._refused(checked, requester_id, form.target_id, request_id)
            return checked
        facts, _policy = checked
        assert facts.user is not None  # check_target refuses a missing user
        now = self._clock.now()
        existing = existing_pass_needs_confirmation(facts.passes, now)
        request = TapRequest(
            id=request_id,
            requester_id=requester_id,
            requester_name=requester_name,
            target_id=facts.user.id,
            target_name=facts.user.display_name,
            lifetime_minutes=form.lifetime_minutes,
            is_usable_once=form.is_usable_once,
            start_at=form.start_at,
            delivery=form.delivery,
            justification=form.justification,
            state=RequestState.DRAFT if existing else RequestState.APPROVED,
            created_at=now,
            updated_at=now,
        )
        try:
            await self._store.add_request(request)
        except StoreConflict:
            stored = await self._store.get_request(request_id)
            if stored is not None:
                return Unchanged(stored)
            return await self._in_progress(
                requester_id, request.target_id, request.target_name, request_id
            )
        await self._audit.record(
            "request",
            "created",
            actor_id=requester_id,
            target_id=request.target_id,
            request_id=request.id,
            detail={
                "lifetime_minutes": str(request.lifetime_minutes),
                "one_time": str(request.is_usable_once).lower(),
                "delivery": request.delivery,
                "start": request.start_at.isoformat() if request.start_at else "now",
            },
        )
        if existing is not None:
            await self._audit.record(
                "request",
                "confirmation_asked",
                actor_id=requester_id,
                target_id=request.target_id,
                request_id=request.id,
                reason="existing_pass",
            )
            return ConfirmReplace(request, existing)
        # Every rule was checked a moment ago in this call: checking again adds only latency.
        return await self._issue(request, just_checked=True)

    async def confirm_replace(self, requester_id: str, request_id: str) -> Outcome:
        """The requester confirmed replacing the target's existing pass: issue."""
        request = await self._own_request(requester_id, request_id)
        if isinstance(request, Refused):
            return request
        if request.state is RequestState.DRAFT and (
            self._clock.now() - request.updated_at > CONFIRMATION_VALID
        ):
            # The question was about the pass that existed then; ask again about today's.
            await self.cancel(requester_id, request_id, reason="confirmation_expired")
            return Failed(
                await self._current(request.id),
                'That question has expired, so nothing was replaced. Type "request" to '
                "start again.",
            )
        try:
            approved = await self._store.transition(
                request.id,
                expected=(RequestState.DRAFT,),
                new_state=RequestState.APPROVED,
                at=self._clock.now(),
                changes={"replace_existing": True},
            )
        except StoreConflict:
            current = await self._current(request.id)
            if current.state is not RequestState.DRAFT:
                return Unchanged(current)
            return await self._in_progress(
                requester_id, current.target_id, current.target_name, current.id
            )
        return await self._issue(approved)

    async def cancel(
        self, requester_id: str, request_id: str, *, reason: str = "cancelled_by_requester"
    ) -> Outcome:
        """The requester chose not to replace the existing pass (or the question expired)."""
        request = await self._own_request(requester_id, request_id)
        if isinstance(request, Refused):
            return request
        try:
            cancelled = await self._store.transition(
                request.id,
                expected=(RequestState.DRAFT,),
                new_state=RequestState.CANCELLED,
                at=self._clock.now(),
                changes={"reason": reason},
            )
        except StoreConflict:
            return Unchanged(await self._current(request.id))
        await self._audit.record(
            "request", "cancelled", actor_id=requester_id, request_id=request.id, reason=reason
        )
        return Unchanged(cancelled)

    # Internals

    async def _check(
        self, requester_id: str, *, form_target: str, form: RequestForm | TapRequest
    ) -> Refused | tuple[TargetFacts, TapPolicy]:
        """Run every rule for *form* concurrently; return the refusal or the facts."""
        now = self._clock.now()
        policy = await self._issuer.get_policy()
        facts, by_requester, for_target = await asyncio.gather(
            gather_target_facts(
                self._directory, self._issuer, form_target, self._config, now, policy=policy
            ),
            self._store.count_requests(
                requester_id=requester_id, created_since=now - REQUESTER_WINDOW
            ),
            self._store.count_requests(target_id=form_target, created_since=now - TARGET_WINDOW),
        )
        refusal = (
            check_target(requester_id, facts, self._config)
            or check_pass_parameters(
                lifetime_minutes=form.lifetime_minutes,
                is_usable_once=form.is_usable_once,
                start_at=form.start_at,
                policy=policy,
                config=self._config,
                now=now,
            )
            or (
                Refusal.NEEDS_HELPDESK_APPROVAL
                if needs_helpdesk_approval(facts, self._config, now)
                else None
            )
        )
        if refusal is None and isinstance(form, RequestForm):
            refusal = check_rate_limits(
                by_requester_last_hour=by_requester,
                for_target_last_day=for_target,
                config=self._config,
            )
        if refusal is not None:
            return Refused(refusal, refusal_message(refusal, facts, self._config, policy=policy))
        return facts, policy

    async def _issue(self, request: TapRequest, *, just_checked: bool = False) -> Outcome:
        """Move *request* to issuing, check the rules again unless *just_checked*, then
        create and deliver the pass."""
        try:
            request = await self._store.transition(
                request.id,
                expected=_ISSUABLE,
                new_state=RequestState.ISSUING,
                at=self._clock.now(),
            )
        except StoreConflict:
            return Unchanged(await self._current(request.id))
        if just_checked:
            return await self._create_and_deliver(request)
        try:
            checked = await self._check(
                request.requester_id, form_target=request.target_id, form=request
            )
        except DirectoryError as error:
            return await self._directory_failed(
                request, request.requester_id, request.target_id, error
            )
        if isinstance(checked, Refused):
            await self._refused(checked, request.requester_id, request.target_id, request.id)
            failed = await self._fail(request, checked.reason)
            return Refused(checked.reason, checked.text, failed)
        facts, _ = checked
        if not request.replace_existing and existing_pass_needs_confirmation(
            facts.passes, self._clock.now()
        ):
            await self._fail(request, "existing_pass_appeared")
            return Failed(
                request,
                f"{request.target_name} got another pass while I was working on yours. Nothing "
                "was replaced; send the request again if you still want a new pass.",
            )
        return await self._create_and_deliver(request)

    async def _create_and_deliver(self, request: TapRequest) -> Outcome:
        try:
            issued = await self._issuer.create_pass(
                request.target_id,
                lifetime_minutes=request.lifetime_minutes,
                is_usable_once=request.is_usable_once,
                start_at=request.start_at,
            )
        except DirectoryUnavailable as error:
            # A timeout or 5xx may hide a pass that was created: never leave it valid.
            if not await self._cleanup.delete_created_since(request):
                failed = await self._fail(request, MAYBE_CREATED, detail=error.code)
                return Failed(
                    failed,
                    "Microsoft Entra stopped answering while creating the pass, so I can't "
                    "tell whether it made one. If it did, I'll delete it as soon as Entra "
                    "answers again: don't use any pass from this request. Please try again "
                    "in a few minutes.",
                )
            return await self._directory_failed(
                request, request.requester_id, request.target_id, error
            )
        except DirectoryError as error:
            return await self._directory_failed(
                request, request.requester_id, request.target_id, error
            )
        info = issued.info
        try:
            request = await self._store.transition(
                request.id,
                expected=(RequestState.ISSUING,),
                new_state=RequestState.ISSUING,
                at=self._clock.now(),
                changes={"pass_id": info.id, "pass_ends_at": info.ends_at},
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
            return await self._undo(request, info.id, "interrupted", "it took too long")
        except DeliveryFailed as failure:
            return await self._undo(request, info.id, "delivery_failed", failure.reason)
        except BaseException:
            # Anything else between creating and delivering: the pass must not stay valid.
            await self._cleanup.delete(request, info.id)
            raise
        return await self._delivered(request, info, receipt)

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
            )
        except StoreConflict:
            # Recovery elsewhere gave up on this request meanwhile: it must not stay valid.
            return await self._undo(request, info.id, "interrupted", "it took too long")
        await self._audit.record(
            "delivery",
            "delivered",
            actor_id=request.requester_id,
            target_id=request.target_id,
            request_id=request.id,
            detail={"method": receipt.method},
        )
        return Issued(delivered)

    async def _undo(self, request: TapRequest, pass_id: str, reason: str, why: str) -> Failed:
        """Delete a pass that could not be delivered, fail the request and say so truly."""
        gone = await self._cleanup.delete(request, pass_id)
        failed = await self._fail(request, reason if gone else UNDELETED, detail=why)
        name = request.target_name
        if gone:
            text = (
                f"I created the pass but could not deliver it ({why}), so I deleted it again. "
                "No pass is valid; please try again."
            )
        else:
            text = (
                f"I created the pass but could not deliver it ({why}), and Microsoft Entra "
                f"didn't let me delete it yet. Don't use any pass for {name} from this "
                "request: I keep trying to delete it. Tell your IT team if it is urgent."
            )
        return Failed(failed, text)

    async def _in_progress(
        self, requester_id: str, target_id: str, target_name: str, request_id: str
    ) -> Refused:
        """Another request for the same person is approved or issuing: refuse this one."""
        text = message(Refusal.ISSUE_IN_PROGRESS, name=target_name)
        refused = Refused(
            Refusal.ISSUE_IN_PROGRESS, text, await self._store.get_request(request_id)
        )
        await self._refused(refused, requester_id, target_id, request_id)
        return refused

    async def _own_request(self, requester_id: str, request_id: str) -> TapRequest | Refused:
        request = await self._store.get_request(request_id)
        if request is None or request.requester_id != requester_id:
            refused = Refused(
                Refusal.NOT_YOUR_REQUEST, refusal_message(Refusal.NOT_YOUR_REQUEST, None)
            )
            await self._refused(refused, requester_id, None, request_id)
            return refused
        return request

    async def _current(self, request_id: str) -> TapRequest:
        request = await self._store.get_request(request_id)
        assert request is not None  # requests are never deleted
        return request

    async def _fail(self, request: TapRequest, reason: str, *, detail: str = "") -> TapRequest:
        failed = await self._store.transition(
            request.id,
            expected=(RequestState.ISSUING, RequestState.APPROVED),
            new_state=RequestState.FAILED,
            at=self._clock.now(),
            changes={"reason": reason},
        )
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

    async def _refused(
        self, refused: Refused, requester_id: str, target_id: str | None, request_id: str | None
    ) -> None:
        await self._audit.record(
            "request",
            "refused",
            actor_id=requester_id,
            target_id=target_id,
            request_id=request_id,
            reason=refused.reason,
        )

    async def _directory_failed(
        self,
        request: TapRequest | None,
        requester_id: str,
        target_id: str,
        error: DirectoryError,
    ) -> Failed:
        text = directory_failure_text(error)
        if request is None:
            await self._audit.record(
                "request",
                "failed",
                actor_id=requester_id,
                target_id=target_id,
                reason="directory_error",
                detail={"code": error.code, "status": str(error.status)},
            )
            return Failed(None, text)
        failed = await self._fail(request, "directory_error", detail=error.code or "")
        return Failed(failed, text)
