"""The "team" card: a manager's direct reports with their passes, and revoking one.

Plain dicts (Adaptive Card 1.5). Names and job titles from the directory, and sentences that
contain them, go into RichTextBlock TextRuns, which Teams never reads as Markdown. Buttons are
Action.Execute with the verbs below; everything they carry is re-checked by the bot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cards import CARD_VERSION

SHOW = "team.show"
REQUEST = "team.request"
REVOKE = "team.revoke"
CONFIRM_REVOKE = "team.revoke_confirm"
TELL_THEM = "tell_them"

Card = dict[str, Any]


@dataclass(frozen=True, slots=True)
class TeamRow:
    """One report: *state* is the pass's state in words; *pass_id* is set when a pass exists
    (then the row offers "Revoke"); *attention* marks a state to notice (unknown)."""

    user_id: str
    name: str
    job_title: str
    state: str
    pass_id: str | None = None
    attention: bool = False


@dataclass(frozen=True, slots=True)
class TeamView:
    """A page of the team. *previous* and *next* are the data of the paging buttons (absent
    when there is no such page); *notice* is a sentence shown first (e.g. what just happened)."""

    rows: Sequence[TeamRow]
    total: int
    first_position: int = 1
    previous: Mapping[str, str] | None = None
    next: Mapping[str, str] | None = None
    notice: str = ""
    notice_attention: bool = False


def run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": text, **style}


def rich(*runs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": list(runs), **extra}


def _title(text: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, "size": "Medium", "weight": "Bolder"}


def _execute(title: str, verb: str, data: Mapping[str, str], **extra: Any) -> dict[str, Any]:
    return {"type": "Action.Execute", "title": title, "verb": verb, "data": dict(data), **extra}


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> Card:
    card: Card = {"type": "AdaptiveCard", "version": CARD_VERSION, "body": body}
    if actions:
        card["actions"] = actions
    return card


def _notice(text: str, attention: bool) -> dict[str, Any]:
    return rich(run(text, color="Attention" if attention else "Good", weight="Bolder"))


def team_card(view: TeamView) -> Card:
    """The team list with "Request a pass" on every row and "Revoke" where a pass exists."""
    body: list[dict[str, Any]] = [_title("Your team's passes")]
    if view.notice:
        body.append(_notice(view.notice, view.notice_attention))
    if not view.total:
        body.append(
            rich(
                run(
                    "You have no direct reports in the directory, so there is no team to show. "
                    "If that is wrong, ask your IT team to check who reports to you in Entra."
                )
            )
        )
        return _card(body, [])
    shown = len(view.rows)
    if shown == view.total:
        people = "person" if view.total == 1 else "people"
        counted = f"{view.total} {people}, read from Microsoft Entra just now."
    else:
        last = view.first_position + shown - 1
        counted = (
            f"People {view.first_position} to {last} of {view.total}, read from Microsoft "
            "Entra just now."
        )
    body.append(rich(run(counted, isSubtle=True, size="Small")))
    for row in view.rows:
        body.append(_row(row))
    actions = []
    if view.previous is not None:
        actions.append(_execute("Previous people", SHOW, view.previous))
    if view.next is not None:
        actions.append(_execute("Next people", SHOW, view.next))
    actions.append(_execute("Refresh", SHOW, {}))
    return _card(body, actions)


def _row(row: TeamRow) -> dict[str, Any]:
    who = [run(row.name, weight="Bolder")]
    if row.job_title:
        who.append(run(f", {row.job_title}", isSubtle=True))
    buttons = [_execute("Request a pass", REQUEST, {"target": row.user_id})]
    if row.pass_id:
        buttons.append(_execute("Revoke", REVOKE, {"target": row.user_id, "pass_id": row.pass_id}))
    return {
        "type": "Container",
        "separator": True,
        "spacing": "Medium",
        "items": [
            rich(*who),
            rich(run(row.state, color="Attention" if row.attention else "Default")),
            {"type": "ActionSet", "actions": buttons},
        ],
    }


def confirm_revoke_card(*, user_id: str, pass_id: str, name: str, state: str) -> Card:
    """Ask the manager to confirm before the pass is deleted in Entra."""
    body = [
        _title("Revoke this pass?"),
        rich(run(name, weight="Bolder"), run(f": {state}")),
        rich(
            run(
                f"Revoking deletes {name}'s Temporary Access Pass in Microsoft Entra: it "
                "stops working at once and can't be brought back. You can request a new "
                "pass afterwards."
            )
        ),
        {
            "type": "Input.Toggle",
            "id": TELL_THEM,
            "title": "Tell them in Teams that their pass was revoked",
            "value": "false",
            "valueOn": "true",
            "valueOff": "false",
        },
    ]
    data = {"target": user_id, "pass_id": pass_id}
    actions = [
        _execute("Revoke the pass", CONFIRM_REVOKE, data, style="destructive"),
        _execute("Keep it", SHOW, {}),
    ]
    return _card(body, actions)


def team_message_card(title: str, text: str, *, attention: bool = True) -> Card:
    """A refusal or failure, with the way back to the team list."""
    body = [
        {
            "type": "TextBlock",
            "text": title,
            "wrap": True,
            "size": "Medium",
            "weight": "Bolder",
            "color": "Attention" if attention else "Default",
        },
        rich(run(text)),
    ]
    return _card(body, [_execute("Back to my team", SHOW, {})])
