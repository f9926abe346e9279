"""The one request lifecycle, for every kind of request (a manager's, the helpdesk's, a joiner's).

    draft ──► pending_approval(stage 1 … n) ──► approved ──► issuing ──► delivered
      │               │        │                                │
      │               ▼        ▼                                ▼
      └──────► cancelled    denied / expired                 failed

A submit is rate-limited in the store before any Graph call, routed by who the requester is to
the target (`bot.domain.checks`), checked, and given its approval stages (`bot.domain.approvals`).
A request without stages goes straight to issuing; one whose target already has a live pass
waits in ``draft`` for the requester to confirm the replacement. Each stage waits for one
decision by an eligible person, or expires. Every transition is a compare-and-set in the store,
so a double click, a replayed card or two bot processes produce one decision and one pass. The
rules are checked when the request is made and again right before the pass is created.
Approval cards are posted by `bot.domain.asking`; who may decide a stage, and recording the
decision, is `bot.domain.deciding`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.domain.approvals import (
    ApprovalPolicy,
    DeciderFacts,
    check_decider,
    check_denial_reason,
    due_at,
    plan_stages,
    stage_group,
)
from bot.domain.asking import ApprovalAsking
from bot.domain.audit import Auditor
from bot.domain.checks import Checked, RequestChecks
from bot.domain.deciding import (
    DECISIONS_PER_PERSON_PER_HOUR,
    Deciders,
    decision_refusal_text,
    record_decision,
)
from bot.domain.errors import DirectoryError, LimitReached, StoreConflict
from bot.domain.issuing import PassIssuing
from bot.domain.joiners import hire_day
from bot.domain.model import (
    ApprovalContext,
    ApproverKind,
    Decision,
    RateLimit,
    RequestKind,
    RequestState,
    TapRequest,
)
from bot.domain.outcomes import (
    AwaitingApproval,
    ConfirmReplace,
    Decided,
    Failed,
    Outcome,
    Refused,
    Unchanged,
    directory_failure_text,
    request_id_for,
)
from bot.domain.phone import mask_phone
from bot.domain.policy import (
    REQUESTER_WINDOW,
    TARGET_WINDOW,
    PolicyConfig,
    Refusal,
    existing_pass_needs_confirmation,
)
from bot.domain.ports import Clock, Directory, PassDelivery, RequestBoard, Store
from bot.domain.rates import (
    REPOSTS_PER_PERSON_PER_HOUR,
    REVIEWS_PER_PERSON_PER_HOUR,
    SLOW_DOWN,
    Meter,
)
from bot.domain.refusals import message, refusal_message
from bot.domain.request_form import RequestForm
from bot.domain.telling import TellRequester

# How long "replace the existing pass?" may be answered.
CONFIRMATION_VALID = timedelta(minutes=15)
# The rate-limit bucket of requests tapbot makes in a manager's name (JOINER_AUTO_ISSUE): a
# cohort of joiners must not use up the manager's own hourly allowance, nor lift the limit.
AUTOMATIC = "submit_automatic"


@dataclass(frozen=True, slots=True)
class Person:
    """Someone acting on a request, as the authenticated activity names them."""

    id: str
    name: str


class RequestService:
    """Make, decide, issue, cancel and expire requests. Never raises for a directory failure."""

    def __init__(
        self,
        *,
        directory: Directory,
        checks: RequestChecks,
        issuing: PassIssuing,
        delivery: PassDelivery,
        board: RequestBoard,
        store: Store,
        auditor: Auditor,
        clock: Clock,
        config: PolicyConfig,
        approvals: ApprovalPolicy,
        helpdesk_group_id: str,
        timezone: ZoneInfo,
    ) -> None:
        self._directory = directory
        self._timezone = timezone
        self._checks = checks
        self._issuing = issuing
        self._board = board
        self._store = store
        self._audit = auditor
        self._clock = clock
        self._config = config
        self._approvals = approvals
        self._helpdesk = helpdesk_group_id
        self._tell = TellRequester(delivery)
        self._meter = Meter(store, clock)
        self._deciders = Deciders(
            directory=directory, checks=checks, clock=clock, helpdesk_group_id=helpdesk_group_id
        )
        self._asking = ApprovalAsking(
            directory=directory,
            board=board,
            store=store,
            auditor=auditor,
            tell=self._tell,
            helpdesk_group_id=helpdesk_group_id,
        )

    # Making a request

    async def refuse_input(
        self, requester_id: str, field: str, problem: str, *, text: str = ""
    ) -> Refused:
        """Refuse a malformed or tampered submission and audit it; *text* tells the requester
        what to fix when it is something they can (else the general answer)."""
        await self._audit.record(
            "request",
            "refused",
            actor_id=requester_id,
            reason=Refusal.INVALID_INPUT,
            detail={"field": field, "problem": problem},
        )
        return Refused(Refusal.INVALID_INPUT, text or refusal_message(Refusal.INVALID_INPUT, None))

    async def refuse_flood(self, requester_id: str, bucket: str, text: str) -> Refused:
        """Refuse a submission that came too often to be read at all (*bucket* names the
        meter that stopped it) and audit it; *text* tells the requester."""
        await self._audit.record(
            "request",
            "refused",
            actor_id=requester_id,
            reason=Refusal.RATE_LIMIT_REQUESTER,
            detail={"bucket": bucket},
        )
        return Refused(Refusal.RATE_LIMIT_REQUESTER, text)

    async def submit(
        self,
        requester: Person,
        form: RequestForm,
        *,
        joiner: bool = False,
        automatic: bool = False,
    ) -> Outcome:
        """Check *form* from *requester* (from the authenticated activity) and, when every rule
        holds, ask for approval, ask about an existing pass, or issue and deliver the pass.
        *joiner*: it answers a joiner reminder; the joiner's manager then asks as kind
        ``joiner`` (a helpdesk member asks as the helpdesk, with its approvals). *automatic*:
        tapbot asks in the requester's name (``JOINER_AUTO_ISSUE``), so it is counted apart
        from what the requester asks for themselves, against the same hourly limit."""
        request_id = request_id_for(requester.id, form.form_id)
        known = await self._store.get_request(request_id)
        if known is not None:
            return Unchanged(known)
        if not await self._admit(requester.id, bucket=AUTOMATIC if automatic else "submit"):
            return await self._refuse(
                Refusal.RATE_LIMIT_REQUESTER, requester.id, form.target_id, request_id
            )
        try:
            route = await self._checks.route(requester.id, form.target_id)
            if isinstance(route, Refused):
                await self._refused(route, requester.id, form.target_id, request_id)
                return route
            checked = await self._checks.check(requester.id, form.target_id, form, route)
            if isinstance(checked, Refused):
                await self._refused(checked, requester.id, form.target_id, request_id)
                return checked
            return await self._create(requester, form, request_id, checked, joiner=joiner)
        except DirectoryError as error:
            await self._audit.record(
                "request",
                "failed",
                actor_id=requester.id,
                target_id=form.target_id,
                reason="directory_error",
                detail={"code": error.code, "status": str(error.status)},
            )
            return Failed(None, directory_failure_text(error))

    async def _create(
        self,
        requester: Person,
        form: RequestForm,
        request_id: str,
        checked: Checked,
        *,
        joiner: bool,
    ) -> Outcome:
        now = self._clock.now()
        kind = checked.route.kind
        if joiner and kind is RequestKind.MANAGER:
            kind = RequestKind.JOINER
        stages = plan_stages(kind, self._approvals, manager_changed=bool(checked.manager_change))
        if any(
            s.approver is not ApproverKind.MANAGER and not stage_group(s, self._helpdesk)
            for s in stages
        ):
            # Nobody could ever decide it: no helpdesk group is configured.
            return await self._refuse(
                Refusal.NO_HELPDESK,
                requester.id,
                checked.target.id,
                request_id,
                name=checked.target.display_name,
            )
        if checked.route.manager is None and any(
            s.approver is ApproverKind.MANAGER for s in stages
        ):
            # A manager stage for someone without a manager: no card could go out and no
            # click could decide it; it would only wait for its timeout.
            return await self._refuse(
                Refusal.NO_APPROVER,
                requester.id,
                checked.target.id,
                request_id,
                name=checked.target.display_name,
            )
        existing = existing_pass_needs_confirmation(checked.facts.passes, now)
        context = await self._checks.context(checked) if stages else ApprovalContext()
        if form.joiner_hire_day is not None:
            context = dataclasses.replace(context, joiner_hire_day=form.joiner_hire_day.isoformat())
        if stages:
            state = RequestState.PENDING_APPROVAL
        else:
            state = RequestState.DRAFT if existing else RequestState.APPROVED
        request = TapRequest(
            id=request_id,
            requester_id=requester.id,
            requester_name=requester.name,
            target_id=checked.target.id,
            target_name=checked.target.display_name,
            lifetime_minutes=form.lifetime_minutes,
            is_usable_once=form.is_usable_once,
            start_at=form.start_at,
            delivery=form.delivery,
            typed_number=form.typed_number,
            justification=form.justification,
            state=state,
            created_at=now,
            updated_at=now,
            kind=kind,
            stages=stages,
            stage=1 if stages else 0,
            stage_due_at=due_at(stages[0], now) if stages else None,
            reason="manager_changed" if checked.manager_change and stages else None,
            context=context,
        )
        per_target = RateLimit(self._config.requests_per_target_per_day, now - TARGET_WINDOW)
        try:
            await self._store.add_request(request, target_limit=per_target)
        except LimitReached:
            return await self._refuse(
                Refusal.RATE_LIMIT_TARGET,
                requester.id,
                request.target_id,
                request.id,
                name=request.target_name,
            )
        except StoreConflict:
            stored = await self._store.get_request(request_id)
            if stored is not None:
                return Unchanged(stored)
            return await self._in_progress(requester.id, request.target_id, request.target_name)
        await self._audit.record(
            "request",
            "created",
            actor_id=requester.id,
            target_id=request.target_id,
            request_id=request.id,
            detail={
                "kind": kind,
                "lifetime_minutes": str(request.lifetime_minutes),
                "one_time": str(request.is_usable_once).lower(),
                "delivery": request.delivery,
                **({"typed_number": mask_phone(form.typed_number)} if form.typed_number else {}),
                "start": request.start_at.isoformat() if request.start_at else "now",
                "stages": ",".join(s.approver for s in stages) or "none",
            },
        )
        if stages:
            return AwaitingApproval(request, await self._asking.ask(request))
        if existing is not None:
            await self._audit.record(
                "request",
                "confirmation_asked",
                actor_id=requester.id,
                target_id=request.target_id,
                request_id=request.id,
                reason="existing_pass",
            )
            return ConfirmReplace(request, existing)
        # Every rule was checked a moment ago in this call: checking again adds only latency.
        return await self._issue(request, just_checked=True)

    async def confirm_replace(self, requester: Person, request_id: str) -> Outcome:
        """The requester confirmed replacing the target's existing pass: issue."""
        request = await self._own_request(requester.id, request_id)
        if isinstance(request, Refused):
            return request
        if request.state is not RequestState.DRAFT:
            return Unchanged(request)
        if self._clock.now() - request.updated_at > CONFIRMATION_VALID:
            # The question was about the pass that existed then; ask again about today's.
            await self._cancel(request, requester.id, reason="confirmation_expired")
            return Failed(
                await self._current(request.id),
                'That question has expired, so nothing was replaced. Type "request" to '
                "start again.",
            )
        if not await self._admit(requester.id):
            return await self._refuse(
                Refusal.RATE_LIMIT_REQUESTER, requester.id, request.target_id, request.id
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
            return await self._in_progress(requester.id, current.target_id, current.target_name)
        return await self._issue(approved)

    async def cancel(self, requester: Person, request_id: str) -> Outcome:
        """The requester withdrew a request that was waiting (for them or for an approver)."""
        request = await self._own_request(requester.id, request_id)
        if isinstance(request, Refused):
            return request
        cancelled = await self._cancel(request, requester.id, reason="cancelled_by_requester")
        if cancelled is None:
            return Unchanged(await self._current(request.id))
        await self._board.show(cancelled)
        return Unchanged(cancelled)

    # Deciding

    async def decide(
        self, decider: Person, request_id: str, stage: int, *, approve: bool, reason: str = ""
    ) -> Outcome:
        """Record *decider*'s decision on stage *stage* of *request_id*, if they may make it now.

        The first valid decision wins; a replayed or out-of-date card, a decision by the
        requester or by someone who is not the stage's approver changes nothing and is audited.
        After the last approval the pass is issued (the rules are checked again first)."""
        request = await self._store.get_request(request_id)
        if request is None:
            return await self._refuse_decision(Refusal.APPROVAL_NOT_PENDING, decider, request_id)
        # What can be told without the directory is told first, so a forged click costs nothing.
        # `now`: a stage past its timeout is over even before upkeep marks it expired.
        now = self._clock.now()
        early = check_decider(request, stage, decider.id, DeciderFacts(True, decider.id), now=now)
        if early is None and not approve:
            early = check_denial_reason(reason)
        if early is not None:
            return await self._refuse_decision(early, decider, request_id, request)
        if not await self._meter.admit("decide", decider.id, DECISIONS_PER_PERSON_PER_HOUR):
            return await self._refuse_decision(Refusal.RATE_LIMIT_REQUESTER, decider, request_id)
        try:
            facts = await self._deciders.facts(request, decider.id, fresh=True)
            refusal = check_decider(
                request, stage, decider.id, facts, now=now
            ) or await self._deciders.new_manager(request, facts)
        except DirectoryError:
            return Failed(
                request,
                "I couldn't check with Microsoft Entra whether you may decide this, so nothing "
                "changed. Please try again in a minute.",
            )
        if refusal is not None:
            return await self._refuse_decision(refusal, decider, request_id, request)
        decision = Decision(
            stage, approve, decider.id, decider.name, self._clock.now(), reason.strip()
        )
        moved = await record_decision(self._store, request, decision, self._clock.now())
        if moved is None:
            return await self._refuse_decision(
                Refusal.APPROVAL_NOT_PENDING, decider, request_id, await self._current(request_id)
            )
        await self._audit.record(
            "approval",
            "approved" if approve else "denied",
            actor_id=decider.id,
            target_id=moved.target_id,
            request_id=moved.id,
            reason=decision.reason or None,
            detail={"stage": str(stage), "of": str(len(moved.stages))},
        )
        await self._board.show(moved)
        await self._tell.decided(moved, decision)
        if moved.state is RequestState.PENDING_APPROVAL:
            await self._asking.ask(moved)
        elif moved.state is RequestState.APPROVED:
            outcome = await self._issue(moved)
            moved = await self._current(moved.id)
            await self._board.show(moved)
            await self._tell.issued(moved, outcome)
        return Decided(moved, decision)

    async def may_decide(self, decider: Person, request: TapRequest) -> Refusal | None:
        """Whether *decider* may decide *request*'s current stage now, to show them the buttons
        or say why not. Changes nothing but the count of *decider*'s reviews: what the card
        tells is answered without the directory; past `REVIEWS_PER_PERSON_PER_HOUR`, the
        directory is not read either (`Refusal.RATE_LIMIT_REQUESTER`). Not audited; raises
        DirectoryError."""
        now = self._clock.now()
        early = check_decider(
            request, request.stage, decider.id, DeciderFacts(True, decider.id), now=now
        )
        if early is not None:
            return early
        if not await self._meter.admit("review", decider.id, REVIEWS_PER_PERSON_PER_HOUR):
            return Refusal.RATE_LIMIT_REQUESTER
        facts = await self._deciders.facts(request, decider.id)
        return check_decider(request, request.stage, decider.id, facts, now=now)

    # Upkeep

    async def expire_due(self) -> int:
        """Expire every stage past its timeout; return how many requests expired. Two bot
        processes expiring together expire each request once (compare-and-set)."""
        now = self._clock.now()
        due = await self._store.list_requests(
            states=(RequestState.PENDING_APPROVAL,), due_before=now, oldest_first=True, limit=100
        )
        expired = 0
        for request in due:
            try:
                ended = await self._store.transition(
                    request.id,
                    expected=(RequestState.PENDING_APPROVAL,),
                    expected_stage=request.stage,
                    new_state=RequestState.EXPIRED,
                    at=now,
                    changes={"reason": "stage_timeout", "stage_due_at": None},
                )
            except StoreConflict:
                continue  # decided, cancelled or expired elsewhere a moment ago
            expired += 1
            await self._audit.record(
                "approval",
                "expired",
                actor_id="tapbot",
                target_id=ended.target_id,
                request_id=ended.id,
                reason="stage_timeout",
                detail={"stage": str(request.stage), "of": str(len(request.stages))},
            )
            await self._board.show(ended)
            await self._tell.expired(ended)
        return expired

    # Issuing

    async def _issue(self, request: TapRequest, *, just_checked: bool = False) -> Outcome:
        """Claim *request* for issuing, check the rules again unless *just_checked*, then
        create and deliver the pass."""
        try:
            request = await self._store.transition(
                request.id,
                expected=(RequestState.APPROVED,),
                new_state=RequestState.ISSUING,
                at=self._clock.now(),
                changes={"issuing_started_at": self._clock.now()},
            )
        except StoreConflict:
            current = await self._current(request.id)
            if current.state is RequestState.APPROVED:
                return await self._in_progress(
                    current.requester_id, current.target_id, current.target_name
                )
            return Unchanged(current)
        if not just_checked:
            try:
                refused = await self._recheck(request)
            except DirectoryError as error:
                return await self._issuing.directory_failed(request, error)
            if refused is not None:
                await self._refused(refused, request.requester_id, request.target_id, request.id)
                failed = await self._issuing.fail(request, refused.reason)
                return Refused(refused.reason, refused.text, failed)
        return await self._issuing.create_and_deliver(request)

    async def _recheck(self, request: TapRequest) -> Refused | None:
        route = await self._checks.holds(request.kind, request.requester_id, request.target_id)
        if isinstance(route, Refused):
            return route
        checked = await self._checks.check(request.requester_id, request.target_id, request, route)
        if isinstance(checked, Refused):
            return checked
        if request.context.joiner_hire_day:
            hired = checked.target.employee_hire_date
            now_day = hire_day(hired, self._timezone).isoformat() if hired else ""
            if now_day != request.context.joiner_hire_day:
                # The hire date moved while the request waited: the pass would start on a day
                # that is not the joiner's first (a pass valid early is what day one avoids).
                refusal = Refusal.HIRE_DATE_CHANGED
                return Refused(refusal, message(refusal, name=request.target_name))
        if checked.manager_change is not None and not _helpdesk_approved(request):
            # The manager changed after the request was made: it needs the helpdesk now. The
            # requester asks again and the new request goes to the helpdesk (when there is one).
            refusal = Refusal.NEEDS_HELPDESK_APPROVAL if self._helpdesk else Refusal.NO_HELPDESK
            return Refused(refusal, refusal_message(refusal, checked.facts))
        return None

    # Helpers

    async def shown(self, request: TapRequest) -> bool:
        """Whether the approval card of *request*'s waiting stage reached anyone who may
        decide it (True when it waits for no decision). Raises StoreError."""
        return await self._asking.shown(request)

    async def repost(self, requester: Person, request_id: str) -> Outcome:
        """Post the approval card of *requester*'s waiting request again, when its waiting stage
        reached nobody (once the cause is fixed: a helpdesk channel set, a manager's chat).
        Anyone else's request is refused and audited; a request already shown, decided or
        ended is left as it stands; a flood is refused before anything is read."""
        request = await self._own_request(requester.id, request_id)
        if isinstance(request, Refused):
            return request
        if await self.shown(request):
            return Unchanged(request)
        if not await self._meter.admit("repost", requester.id, REPOSTS_PER_PERSON_PER_HOUR):
            refused = Refused(Refusal.RATE_LIMIT_REQUESTER, SLOW_DOWN, request)
            await self._refused(refused, requester.id, request.target_id, request.id)
            return refused
        posting = await self._asking.ask(request)
        current = await self._current(request.id)
        if posting.posted:
            await self._board.show(current)
        return AwaitingApproval(current, posting)

    async def ask_where_unseen(self) -> int:
        """Tapbot has just learnt where the helpdesk's approval cards go: post the waiting
        requests' cards that reached nobody (`ApprovalAsking.ask_where_unseen`) and update
        their requesters' cards. Returns how many went out. Raises StoreError."""
        posted = await self._asking.ask_where_unseen(self._clock.now())
        for request in posted:
            await self._board.show(await self._current(request.id))
        return len(posted)

    async def _admit(self, requester_id: str, *, bucket: str = "submit") -> bool:
        now = self._clock.now()
        limit = RateLimit(self._config.requests_per_requester_per_hour, now - REQUESTER_WINDOW)
        return await self._store.admit(bucket, requester_id, at=now, limit=limit)

    async def _cancel(
        self, request: TapRequest, actor_id: str, *, reason: str
    ) -> TapRequest | None:
        try:
            cancelled = await self._store.transition(
                request.id,
                expected=(RequestState.DRAFT, RequestState.PENDING_APPROVAL),
                new_state=RequestState.CANCELLED,
                at=self._clock.now(),
                changes={"reason": reason, "stage_due_at": None},
            )
        except StoreConflict:
            return None
        await self._audit.record(
            "request", "cancelled", actor_id=actor_id, request_id=request.id, reason=reason
        )
        return cancelled

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

    async def _in_progress(self, requester_id: str, target_id: str, target_name: str) -> Refused:
        """Another request for the same person is approved or issuing: refuse this one."""
        return await self._refuse(
            Refusal.ISSUE_IN_PROGRESS, requester_id, target_id, None, name=target_name
        )

    async def _refuse(
        self,
        refusal: Refusal,
        requester_id: str,
        target_id: str | None,
        request_id: str | None,
        *,
        name: str | None = None,
    ) -> Refused:
        limit = {
            Refusal.RATE_LIMIT_REQUESTER: self._config.requests_per_requester_per_hour,
            Refusal.RATE_LIMIT_TARGET: self._config.requests_per_target_per_day,
        }.get(refusal)
        refused = Refused(refusal, message(refusal, name=name, limit=limit))
        await self._refused(refused, requester_id, target_id, request_id)
        return refused

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

    async def _refuse_decision(
        self,
        refusal: Refusal,
        decider: Person,
        request_id: str,
        request: TapRequest | None = None,
    ) -> Refused:
        await self._audit.record(
            "approval",
            "refused",
            actor_id=decider.id,
            target_id=request.target_id if request else None,
            request_id=request_id if request else None,
            reason=refusal,
            detail={} if request else {"asked_for": request_id[:64]},
        )
        return Refused(refusal, decision_refusal_text(refusal), request)


def _helpdesk_approved(request: TapRequest) -> bool:
    """True when a helpdesk stage of *request* was approved."""
    return any(
        d.approved and request.stages[d.stage - 1].approver is ApproverKind.HELPDESK
        for d in request.decisions
        if 1 <= d.stage <= len(request.stages)
    )
