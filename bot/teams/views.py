"""A stored request as the cards show it: `approval_view` turns a `TapRequest` into the
`cards.approval.ApprovalView` that the approval card, the requester's card and every later update
of them are drawn from, with times in the configured time zone."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from bot.domain.approvals import describe_stage
from bot.domain.delivery_options import delivered_how
from bot.domain.model import DeliveryMethod, RequestState, TapRequest
from bot.domain.phone import mask_phone
from bot.domain.status import Standing, failure_status
from cards.approval import ApprovalView, DecisionLine
from cards.request import lifetime_label, when
from cards.text import Part, name, sentence

# How a recent manager change was noticed, when it was not the audit log's own event.
EVIDENCE_NOTES = {
    "tapbot_record": "tapbot saw the new manager; the audit log doesn't show the change yet",
    "never_seen": "tapbot has no earlier record of this person's manager",
    "unreadable_audit": "the audit log has a manager change tapbot could not read",
}
# The "Delivered" fact: how the pass will go (while the request waits) and how it went.
DELIVERY_LABELS: dict[DeliveryMethod, str] = {
    DeliveryMethod.CHAT_TO_REQUESTER: "To the requester, in their Teams chat",
    DeliveryMethod.CHAT_TO_TARGET: "To the person, in their own Teams chat",
    DeliveryMethod.SMS: "By text message to the person's mobile number",
    DeliveryMethod.EMAIL: "By email to the person",
}
DELIVERED_LABELS: dict[DeliveryMethod, str] = {
    DeliveryMethod.CHAT_TO_REQUESTER: "Sent to the requester, in their Teams chat",
    DeliveryMethod.CHAT_TO_TARGET: "Sent to the person, in their own Teams chat",
    DeliveryMethod.SMS: "Sent by text message",
    DeliveryMethod.EMAIL: "Emailed to the person",
}
# Teams reads a fact's value as Markdown: a destination goes into it only when it is a masked
# number (nothing but +, digits, spaces and dots); an address goes into the outcome's TextRuns.
_PLAIN_DESTINATION = re.compile(r"\+[0-9 •]+")


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
        delivery=delivery_label(request),
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


def delivery_label(request: TapRequest) -> str:
    """The "Delivered" fact: by what, and to which number (masked) when it is a text message;
    whether the requester typed that number, which an approver should know."""
    delivered = request.state is RequestState.DELIVERED
    label = (DELIVERED_LABELS if delivered else DELIVERY_LABELS)[request.delivery]
    if request.delivery is not DeliveryMethod.SMS:
        return label
    typed = request.typed_number
    number = request.delivered_to if delivered else (mask_phone(typed) if typed else "")
    if _PLAIN_DESTINATION.fullmatch(number):
        label = f"{'Sent by' if delivered else 'By'} text message to {number}"
    if typed:
        label += " (a number the requester typed)"
    return label


def delivered_line(request: TapRequest) -> Part:
    """How a delivered pass went, as a sentence part: ``sent by text message to +44 •••…``
    (for approvers too: the requester is named, not "you")."""
    if request.delivery is DeliveryMethod.CHAT_TO_REQUESTER:
        return name(f"sent to {request.requester_name} in Teams")
    return name(
        delivered_how(
            request.delivery, destination=request.delivered_to, target_name=request.target_name
        )
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
            how = delivered_line(request)
            return sentence("The pass for ", person, f" was issued{until}, and ", how, "."), False
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
    """What went wrong, in the words the status card uses too (`failure_status`)."""
    failure = failure_status(request)
    if failure.standing is Standing.REFUSED:
        return sentence("No pass was issued: ", failure.why)
    return failure.why
