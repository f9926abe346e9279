"""The approval card (helpdesk channel, approvers' chats) and the requester's status card.

Both show one request at one moment, built from an `ApprovalView` the Teams layer fills from the
stored request. Names and reasons people typed go into RichTextBlock TextRuns (`cards.text`).
Buttons are a convenience: every click is authorised on the server.

An approval card in three forms:
- *base* (what everyone sees first): the request and a "Review" button; with ``refresh.userIds``
  Teams swaps in the personal form for the eligible approvers by itself;
- *personal* (`buttons=True`, the answer to Review for someone who may decide): a reason box,
  Approve and Deny;
- *final* (decided, expired, cancelled…): no buttons, who decided and when.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cards import card, execute
from cards.text import Part, name, rich, sentence, text

APPROVE = "approval.approve"
DENY = "approval.deny"
REVIEW = "approval.review"
CANCEL_REQUEST = "request.cancel"
REPOST = "request.repost"
REASON_MAX = 500
MAX_REFRESH_USERS = 60


@dataclass(frozen=True, slots=True)
class DecisionLine:
    """One decision so far: who, whether they approved, when (already formatted), why."""

    who: str
    approved: bool
    when: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ApprovalView:
    """A request as approvers and the requester see it.

    *pending* is True while a stage waits for a decision (*stage* of *stages*, *waiting_for*
    says who may decide, *expires* when); otherwise *outcome* is a sentence saying how it ended.
    *manager_change* holds (when, previous manager, by whom, how it was noticed) when the
    target's manager changed recently; what is not known is an empty string.
    """

    request_id: str
    requester_name: str
    target_name: str
    justification: str
    lifetime: str
    one_time: bool
    starts: str
    delivery: str
    pending: bool
    stage: int = 0
    stages: int = 0
    waiting_for: str = ""
    expires: str = ""
    target_job_title: str = ""
    target_manager_name: str = ""
    manager_change: tuple[str, str, str, str] | None = None
    existing_pass_until: str = ""
    decisions: Sequence[DecisionLine] = field(default_factory=tuple)
    outcome: Part = ""
    outcome_is_bad: bool = False


def approval_card(
    view: ApprovalView,
    *,
    buttons: bool = False,
    refresh_user_ids: Sequence[str] = (),
    notice: Part = "",
) -> dict[str, Any]:
    """The card approvers see: base, personal (*buttons*) or final (not ``view.pending``).

    *notice* is a line for the person who clicked (why their click changed nothing)."""
    title = (
        sentence("Approve a Temporary Access Pass for ", name(view.target_name), "?")
        if view.pending
        else sentence("Temporary Access Pass request for ", name(view.target_name))
    )
    body: list[dict[str, Any]] = [rich(title, size="Medium", weight="Bolder")]
    body += _request_facts(view)
    body += _progress(view)
    if notice:
        body.append(rich(notice, color="Attention", weight="Bolder"))
    if not view.pending:
        return card(body)
    data = {"request_id": view.request_id, "stage": str(view.stage)}
    refresh = _refresh(data, refresh_user_ids)
    if not buttons:
        body.append(text("Only the people who may decide see the buttons; others can Review."))
        return card(body, [execute("Review", REVIEW, data)], **refresh)
    body.append(
        {
            "type": "Input.Text",
            "id": "reason",
            "label": "Reason (needed to deny)",
            "isMultiline": True,
            "isRequired": True,
            "maxLength": REASON_MAX,
            "errorMessage": "Say why you deny the request.",
        }
    )
    actions = [
        execute("Approve", APPROVE, data, style="positive", associatedInputs="none"),
        execute("Deny", DENY, data, style="destructive", associatedInputs="auto"),
    ]
    return card(body, actions, **refresh)


def request_status_card(view: ApprovalView, *, unseen: Part = "") -> dict[str, Any]:
    """The requester's card while the request waits and once it has ended. *unseen* says that
    nobody who may decide the waiting step has been shown it (and what to do); the card then
    offers "Post it again"."""
    body: list[dict[str, Any]] = [
        rich(
            sentence("Your pass request for ", name(view.target_name)),
            size="Medium",
            weight="Bolder",
        )
    ]
    body += _request_facts(view, for_requester=True)
    body += _progress(view)
    if view.pending:
        mine = {"request_id": view.request_id}
        actions = [execute("Cancel request", CANCEL_REQUEST, mine)]
        if unseen:
            body.append(rich(unseen, color="Attention", weight="Bolder"))
            actions.insert(0, execute("Post it again", REPOST, mine, style="positive"))
        return card(body, actions)
    return card(body, [execute("Request another pass", "request.open", {})])


def _request_facts(view: ApprovalView, *, for_requester: bool = False) -> list[dict[str, Any]]:
    about: list[Part] = [name(view.target_name)]
    if view.target_job_title:
        about += [", ", name(view.target_job_title)]
    if view.target_manager_name:
        about += [", reports to ", name(view.target_manager_name)]
    lines: list[dict[str, Any]] = []
    if not for_requester:
        lines.append(rich(sentence("Asked by ", name(view.requester_name), " for ", *about, ".")))
    elif len(about) > 1:
        lines.append(rich(sentence(*about, ".")))
    lines.append(rich(sentence("Why: ", name(view.justification))))
    lines.append(
        {
            "type": "FactSet",
            "facts": [
                {"title": "Valid for", "value": view.lifetime},
                {"title": "Use", "value": "One-time" if view.one_time else "Multiple sign-ins"},
                {"title": "Starts", "value": view.starts},
                {"title": "Delivered", "value": view.delivery},
            ],
        }
    )
    if view.manager_change is not None:
        when, previous, by, how = view.manager_change
        change: list[Part] = [f"Manager changed recently: on {when}"]
        if previous:
            change += [", from ", name(previous)]
        if by:
            change += [", by ", name(by)]
        if how:
            change.append(f" ({how})")
        change.append(". Check with the person that the new manager is right before approving.")
        lines.append(rich(sentence(*change), color="Attention"))
    if view.existing_pass_until:
        lines.append(
            rich(
                sentence(
                    name(view.target_name),
                    f" already has a pass valid until {view.existing_pass_until}; a new one "
                    "replaces it.",
                ),
                color="Warning",
            )
        )
    return lines


def _progress(view: ApprovalView) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for decision in view.decisions:
        verb = "Approved" if decision.approved else "Denied"
        parts: list[Part] = [f"{verb} by ", name(decision.who), f" on {decision.when}"]
        if decision.reason:
            parts += [": ", name(decision.reason)]
        lines.append(rich(sentence(*parts, ".")))
    if view.pending:
        step = f"Step {view.stage} of {view.stages}: " if view.stages > 1 else ""
        lines.append(
            rich(
                sentence(
                    f"{step}waiting for ",
                    view.waiting_for,
                    f" (until {view.expires})." if view.expires else ".",
                ),
                weight="Bolder",
            )
        )
    elif view.outcome:
        lines.append(
            rich(view.outcome, weight="Bolder", color="Attention" if view.outcome_is_bad else None)
        )
    return lines


def _refresh(data: dict[str, str], user_ids: Sequence[str]) -> dict[str, Any]:
    if not user_ids:
        return {}
    action = execute("Review", REVIEW, data)
    return {"refresh": {"action": action, "userIds": list(user_ids)[:MAX_REFRESH_USERS]}}
