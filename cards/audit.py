"""The "audit" card: recent audit events for helpdesk members, filtered and paged.

Plain dicts (Adaptive Card 1.5). Everything taken from the directory or the audit trail goes
into RichTextBlock TextRuns, which Teams never reads as Markdown. The filter inputs are text
the bot resolves to people; the paging buttons carry the resolved ids and the cursor, which
the bot re-checks (and re-authorises the viewer) on every click.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cards import CARD_VERSION
from cards.team import rich, run

PAGE = "audit.page"
FILTER = "audit.filter"
PERSON = "person"
REQUESTER = "requester"
OUTCOME = "outcome"
# The outcomes offered as a filter: the ones people look for. Any other outcome still shows.
OUTCOMES: Sequence[tuple[str, str]] = (
    ("refused", "Refused"),
    ("failed", "Failed"),
    ("issued", "Pass issued"),
    ("delivered", "Pass delivered"),
    ("revoked", "Pass revoked"),
    ("deleted", "Pass deleted"),
    ("created", "Request created"),
    ("cancelled", "Cancelled"),
)

Card = dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One event in words: *when*, *what* (action and outcome), *by* and *about* (names, or
    ids the directory could not name), *why* (reason and details)."""

    when: str
    what: str
    by: str
    about: str = ""
    why: str = ""
    attention: bool = False


@dataclass(frozen=True, slots=True)
class AuditView:
    """A page of events. *person* and *requester* are the filters as the viewer sees them
    (names), *outcome* the outcome filter; *filters* is the data every paging button carries
    (the resolved ids); *older* the data for the next page, when there is one."""

    rows: Sequence[AuditRow]
    filters: Mapping[str, str]
    person: str = ""
    requester: str = ""
    outcome: str = ""
    older: Mapping[str, str] | None = None
    first_page: bool = True
    notice: str = ""


def audit_card(view: AuditView) -> Card:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": "Audit trail",
            "wrap": True,
            "size": "Medium",
            "weight": "Bolder",
        },
    ]
    if view.notice:
        body.append(rich(run(view.notice, color="Attention", weight="Bolder")))
    body += _filters(view)
    shown = "Newest first." if view.first_page else "Older events, newest first."
    body.append(rich(run(shown, isSubtle=True, size="Small")))
    if not view.rows:
        body.append(rich(run("No events match.")))
    body += [_row(row) for row in view.rows]
    actions = [_execute("Apply filters", FILTER, {})]
    if view.older is not None:
        actions.append(_execute("Older events", PAGE, view.older))
    if not view.first_page:
        actions.append(_execute("Newest events", PAGE, view.filters))
    return {"type": "AdaptiveCard", "version": CARD_VERSION, "body": body, "actions": actions}


def _filters(view: AuditView) -> list[dict[str, Any]]:
    return [
        {
            "type": "ColumnSet",
            "columns": [
                _column(
                    {
                        "type": "Input.Text",
                        "id": PERSON,
                        "label": "About (person)",
                        "placeholder": "Name or email",
                        "maxLength": 100,
                        "value": view.person,
                    }
                ),
                _column(
                    {
                        "type": "Input.Text",
                        "id": REQUESTER,
                        "label": "By (requester)",
                        "placeholder": "Name or email",
                        "maxLength": 100,
                        "value": view.requester,
                    }
                ),
            ],
        },
        {
            "type": "Input.ChoiceSet",
            "id": OUTCOME,
            "label": "Outcome",
            "value": view.outcome,
            "choices": [{"title": "Any outcome", "value": ""}]
            + [{"title": title, "value": value} for value, title in OUTCOMES],
        },
    ]


def _column(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Column", "width": "stretch", "items": [item]}


def _row(row: AuditRow) -> dict[str, Any]:
    items = [
        rich(
            run(row.when, weight="Bolder"),
            run(f"  {row.what}", color="Attention" if row.attention else "Default"),
        ),
        rich(run("By "), run(row.by, weight="Bolder"))
        if not row.about
        else rich(run("By "), run(row.by, weight="Bolder"), run(", about "), run(row.about)),
    ]
    if row.why:
        items.append(rich(run(row.why, isSubtle=True, size="Small")))
    return {"type": "Container", "separator": True, "spacing": "Small", "items": items}


def _execute(title: str, verb: str, data: Mapping[str, str]) -> dict[str, Any]:
    return {"type": "Action.Execute", "title": title, "verb": verb, "data": dict(data)}


def audit_refused_card(text: str) -> Card:
    return {
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": [
            {
                "type": "TextBlock",
                "text": "The audit trail is not available to you",
                "wrap": True,
                "size": "Medium",
                "weight": "Bolder",
                "color": "Attention",
            },
            rich(run(text)),
        ],
    }
