"""The approval stages: which stages a request needs, and who may decide the one waiting.

Pure functions over values. The composition root builds `ApprovalPolicy` from the settings
(APPROVAL_MODE, APPROVAL_TIMEOUT_MINUTES, APPROVAL_STAGES); `plan_stages` fixes a request's
stages when it is made (a later settings change does not move a request under way), and
`check_decider` answers, at every click, whether that person may decide that stage now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.model import (
    REQUESTER_COPY,
    ApproverKind,
    RequestKind,
    RequestMessage,
    RequestState,
    Stage,
    TapRequest,
    copy_stage,
)
from bot.domain.policy import Refusal

MAX_DENIAL_REASON = 500


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    """The organisation's approval rules.

    *helpdesk_stages* are the stages of a helpdesk member's request (empty: none needed);
    *safeguard_timeout_minutes* is the timeout of the one helpdesk stage a manager's request
    needs when the target's manager changed recently.
    """

    helpdesk_stages: tuple[Stage, ...] = ()
    safeguard_timeout_minutes: int = 240

    def __post_init__(self) -> None:
        for stage in self.helpdesk_stages:
            if stage.timeout_minutes < 1:
                raise ValueError("an approval stage needs a timeout of at least a minute")
            if (stage.approver is ApproverKind.GROUP) != bool(stage.group_id):
                raise ValueError("a group stage, and only a group stage, names a group")


def plan_stages(
    kind: RequestKind, policy: ApprovalPolicy, *, manager_changed: bool
) -> tuple[Stage, ...]:
    """Return the approval stages a new request of *kind* needs.

    A helpdesk request takes the configured stages. A manager's (or a joiner's) request needs
    none, unless the target's manager changed recently: then one helpdesk stage, whatever the
    configured mode, because whoever controls the manager attribute may be the one asking.
    """
    if kind is RequestKind.HELPDESK:
        return policy.helpdesk_stages
    if manager_changed:
        return (Stage(ApproverKind.HELPDESK, policy.safeguard_timeout_minutes),)
    return ()


@dataclass(frozen=True, slots=True)
class DeciderFacts:
    """What the directory says about the person clicking Approve or Deny, read at the click:
    whether they are in the stage's group (helpdesk or named group) and who the target's
    manager is now (for a manager stage)."""

    member_of_stage_group: bool = False
    target_manager_id: str | None = None


def check_decider(
    request: TapRequest,
    stage: int,
    decider_id: str,
    facts: DeciderFacts,
    *,
    now: datetime | None = None,
) -> Refusal | None:
    """Tell whether *decider_id* may decide stage *stage* (1-based) of *request* at *now*.

    In order: the request must be waiting for a decision (APPROVAL_NOT_PENDING), and not past
    its stage's timeout when *now* is given (upkeep expires it a moment later), at that very
    stage (APPROVAL_STALE: a replayed or out-of-date card); nobody decides their own request
    (SELF_APPROVAL) or their own pass (TARGET_APPROVAL); one person decides one stage of a
    request at most (APPROVER_ALREADY_DECIDED: four eyes means two people); and the person must
    be the stage's approver (NOT_AN_APPROVER).
    """
    current = request.current_stage
    if request.state is not RequestState.PENDING_APPROVAL or current is None:
        return Refusal.APPROVAL_NOT_PENDING
    if now is not None and request.stage_due_at is not None and now >= request.stage_due_at:
        return Refusal.APPROVAL_NOT_PENDING
    if stage != request.stage:
        return Refusal.APPROVAL_STALE
    if decider_id == request.requester_id:
        return Refusal.SELF_APPROVAL
    if decider_id == request.target_id:
        return Refusal.TARGET_APPROVAL
    if any(d.decider_id == decider_id for d in request.decisions):
        return Refusal.APPROVER_ALREADY_DECIDED
    if current.approver is ApproverKind.MANAGER:
        allowed = facts.target_manager_id == decider_id
    else:
        allowed = facts.member_of_stage_group
    return None if allowed else Refusal.NOT_AN_APPROVER


def check_denial_reason(reason: str) -> Refusal | None:
    """A denial must say why, briefly."""
    stripped = reason.strip()
    if not stripped:
        return Refusal.DENIAL_REASON_MISSING
    if len(stripped) > MAX_DENIAL_REASON:
        return Refusal.JUSTIFICATION_TOO_LONG
    return None


def stage_group(stage: Stage, helpdesk_group_id: str) -> str:
    """The group whose members decide *stage* ("" for a manager stage)."""
    if stage.approver is ApproverKind.HELPDESK:
        return helpdesk_group_id
    if stage.approver is ApproverKind.GROUP:
        return stage.group_id
    return ""


def stage_began_at(request: TapRequest) -> datetime:
    """When the stage now waiting began: the request's creation for the first, the decision
    that passed the one before for a later one."""
    passed = [d.at for d in request.decisions if d.approved and d.stage == request.stage - 1]
    return max(passed) if request.stage > 1 and passed else request.created_at


def shown_to_deciders(request: TapRequest, copies: Sequence[RequestMessage]) -> bool:
    """Whether the waiting stage's approval card reached anyone who may decide it: a copy
    posted for that stage (`approval_copy`; for a copy that names no stage, one other than the
    requester's posted since the stage began). True for a request that does not wait for a
    decision."""
    if request.current_stage is None:
        return True
    began = stage_began_at(request)
    return any(
        copy_stage(c.audience) == request.stage
        or (
            copy_stage(c.audience) is None and c.audience != REQUESTER_COPY and c.posted_at >= began
        )
        for c in copies
    )


def due_at(stage: Stage, now: datetime) -> datetime:
    """When *stage*, starting at *now*, expires."""
    return now + stage.timeout


def describe_stage(stage: Stage, *, requester_name: str, deciders: Sequence[str] = ()) -> str:
    """Who may decide *stage*, in words: "another helpdesk member (not Priya Shah)"."""
    if stage.approver is ApproverKind.MANAGER:
        return "the person's manager"
    excluded = ", ".join(dict.fromkeys((requester_name, *deciders)))
    who = "a helpdesk member" if stage.approver is ApproverKind.HELPDESK else "an approver"
    return f"{who} other than {excluded}" if excluded else who
