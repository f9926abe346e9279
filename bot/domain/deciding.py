"""Deciding an approval stage: who may (read from the directory at the click), recording the
decision in the store (compare-and-set), and the words for a click that changed nothing.
`bot.domain.workflow` drives it."""

from __future__ import annotations

from datetime import datetime

from bot.domain.approvals import DeciderFacts, due_at, stage_group
from bot.domain.checks import RequestChecks
from bot.domain.errors import StoreConflict
from bot.domain.model import ApproverKind, Decision, RequestState, TapRequest
from bot.domain.policy import Refusal
from bot.domain.ports import Clock, Directory, Store
from bot.domain.refusals import message

# Card clicks that read Graph (decisions) are limited per person too, generously: a busy
# approver clicks often, a flood does not get through.
DECISIONS_PER_PERSON_PER_HOUR = 300
APPROVALS_SLOW_DOWN = (
    "You've clicked approval cards very often in the last hour, so I'm pausing for a while to "
    "spare Microsoft Entra. Nothing changed; please try again later."
)


class Deciders:
    """What the directory says about the person deciding a stage."""

    def __init__(
        self,
        *,
        directory: Directory,
        checks: RequestChecks,
        clock: Clock,
        helpdesk_group_id: str,
    ) -> None:
        self._directory = directory
        self._checks = checks
        self._clock = clock
        self._helpdesk = helpdesk_group_id

    async def facts(
        self, request: TapRequest, decider_id: str, *, fresh: bool = False
    ) -> DeciderFacts:
        """*fresh* for a decision: a membership remembered from a Review a minute ago must not
        let someone just removed from the group decide."""
        stage = request.current_stage
        assert stage is not None  # check_decider refused otherwise
        if stage.approver is ApproverKind.MANAGER:
            manager = await self._directory.get_manager(request.target_id)
            return DeciderFacts(target_manager_id=manager.id if manager else None)
        member = await self._checks.is_member(
            decider_id, stage_group(stage, self._helpdesk), fresh=fresh
        )
        return DeciderFacts(member_of_stage_group=member)

    async def new_manager(self, request: TapRequest, facts: DeciderFacts) -> Refusal | None:
        """A manager stage is not decided by someone who became the target's manager recently:
        whoever controls the manager attribute may be the one approving (the safeguard that
        sends such a manager's own request to the helpdesk). Read at the click only, not on
        Review: it reads the directory audit log."""
        stage = request.current_stage
        if stage is None or stage.approver is not ApproverKind.MANAGER:
            return None
        change = await self._checks.manager_change(
            request.target_id, facts.target_manager_id, self._clock.now()
        )
        return Refusal.APPROVER_NEW_MANAGER if change is not None else None


async def record_decision(
    store: Store, request: TapRequest, decision: Decision, now: datetime
) -> TapRequest | None:
    """Move the request past the stage (compare-and-set on state and stage); None when
    another decision, an expiry or a cancellation got there first."""
    decisions = (*request.decisions, decision)
    if not decision.approved:
        new_state = RequestState.DENIED
        changes: dict[str, object] = {"reason": "denied", "stage_due_at": None}
    elif decision.stage < len(request.stages):
        following = request.stages[decision.stage]
        new_state = RequestState.PENDING_APPROVAL
        changes = {"stage": decision.stage + 1, "stage_due_at": due_at(following, now)}
    else:
        new_state = RequestState.APPROVED
        changes = {"stage_due_at": None}
    try:
        return await store.transition(
            request.id,
            expected=(RequestState.PENDING_APPROVAL,),
            expected_stage=decision.stage,
            new_state=new_state,
            at=now,
            changes={**changes, "decisions": decisions},
        )
    except StoreConflict:
        current = await store.get_request(request.id)
        if current is None:
            return None
        if not (
            new_state is RequestState.APPROVED
            and current.state is RequestState.PENDING_APPROVAL
            and current.stage == decision.stage
        ):
            return None
    # Approved, but another request for the same person is being issued right now: the
    # decision stands, this request ends without a pass.
    try:
        return await store.transition(
            request.id,
            expected=(RequestState.PENDING_APPROVAL,),
            expected_stage=decision.stage,
            new_state=RequestState.FAILED,
            at=now,
            changes={
                "decisions": decisions,
                "stage_due_at": None,
                "reason": "issue_in_progress",
            },
        )
    except StoreConflict:
        return None  # cancelled, expired or decided in between


def decision_refusal_text(refusal: Refusal) -> str:
    """Why a click on an approval card changed nothing, in the clicker's words."""
    if refusal is Refusal.RATE_LIMIT_REQUESTER:
        # `message` speaks of requests made; this person clicked approval cards.
        return APPROVALS_SLOW_DOWN
    return message(refusal)
