"""A stored request as the cards show it: `approval_view` turns a `TapRequest` into the
`cards.approval.ApprovalView` that the approval card, the requester's card and every later update
of them are drawn from, with times in the configured time zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.domain.approvals import describe_stage
from bot.domain.model import DeliveryMethod, RequestState, TapRequest
from bot.domain.policy import Refusal
from bot.domain.refusals import message
from cards.approval import ApprovalView, DecisionLine
from cards.request import lifetime_label, when
from cards.text import Part, name, sentence

# How a recent manager change was noticed, when it was not the audit log's own event.
EVIDENCE_NOTES = {
    "tapbot_record": "tapbot saw the new manager; the audit log doesn't show the change yet",
    "never_seen": "tapbot has no earlier record of this person's manager",
    "unreadable_audit": "the audit log has a manager change tapbot could not read",
}
DELIVERY_LABELS: dict[DeliveryMethod, str] = {
    DeliveryMethod.CHAT_TO_REQUESTER: "To the requester, in their Teams chat",
    DeliveryMethod.CHAT_TO_TARGET: "To the person, in their Teams chat",
    DeliveryMethod.SMS: "By text message to the person",
    DeliveryMethod.EMAIL: "By email to the person",
}


def approval_view(request: TapRequest, timezone: ZoneInfo) -> ApprovalView:
    """Everything the approval and status cards show about *request*, read from the store."""
    context = request.context
    change = None
    if context.manager_changed_at is not None:
        change = (
            when(context.manager_changed_at, timezone),
            context.previous_manager_name,
            context.manager_changed_by,
            EVIDENCE_NOTES.get(context.manager_change_evidence, ""),
        )
    stage = request.current_stage
    outcome, bad = _outcome(request, timezone)
    return ApprovalView(
        request_id=request.id,
        requester_name=request.requester_name,
        target_name=request.target_name,
        justification=request.justification,
        lifetime=lifetime_label(request.lifetime_minutes),
        one_time=request.is_usable_once,
        starts=when(request.start_at, timezone) if request.start_at else "As soon as issued",
        delivery=DELIVERY_LABELS.get(request.delivery, request.delivery.value),
        pending=stage is not None,
        stage=request.stage if stage else 0,
        stages=len(request.stages),
        waiting_for=(
            describe_stage(
                stage,
                requester_name=request.requester_name,
                deciders=[d.decider_name for d in request.decisions],
            )
            if stage
            else ""
        ),
        expires=when(request.stage_due_at, timezone) if stage and request.stage_due_at else "",
        target_job_title=context.target_job_title,
        target_manager_name=context.target_manager_name,
        manager_change=change,
        existing_pass_until=(
            when(context.existing_pass_ends_at, timezone) if context.existing_pass_ends_at else ""
        ),
        decisions=[
            DecisionLine(d.decider_name, d.approved, when(d.at, timezone), d.reason)
            for d in request.decisions
        ],
        outcome=outcome,
        outcome_is_bad=bad,
    )


def _outcome(request: TapRequest, timezone: ZoneInfo) -> tuple[Part, bool]:
    """How *request* ended (or where it is, past its approvals), and whether that is bad news."""
    person = name(request.target_name)
    match request.state:
        case RequestState.DELIVERED:
            until = (
                f", valid until {when(request.pass_ends_at, timezone)}"
                if request.pass_ends_at
                else ""
            )
            return sentence("The pass for ", person, f" was issued{until}."), False
        case RequestState.APPROVED | RequestState.ISSUING:
            return "Approved: the pass is being issued.", False
        case RequestState.DRAFT:
            return (
                sentence(
                    "Waiting for the requester to confirm replacing the pass ",
                    person,
                    " already has.",
                ),
                False,
            )
        case RequestState.DENIED:
            return "Denied. No pass was issued.", True
        case RequestState.EXPIRED:
            return (
                f"Expired on {when(request.updated_at, timezone)}: nobody decided in time. "
                "No pass was issued.",
                True,
            )
        case RequestState.CANCELLED:
            return "Cancelled by the requester. No pass was issued.", True
        case RequestState.FAILED:
            return _failure(request), True
        case _:
            return "", False


def _failure(request: TapRequest) -> Part:
    reason = request.reason or ""
    if reason == "issue_in_progress":
        return sentence(
            "Approved, but another request for ", name(request.target_name),
            " was being issued at that moment, so this one ended without a pass.",
        )  # fmt: skip
    if reason in Refusal.__members__.values():
        because = message(Refusal(reason), name=request.target_name)
        return sentence("No pass was issued: ", because)
    return "No pass was issued (the requester was told why)."
