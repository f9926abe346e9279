"""The "status" card: the asker's own requests, newest first, each with where it stands,
"Cancel request" on those that wait, and "Post it again" on one whose approval card reached
nobody.

Plain dicts (Adaptive Card 1.5). Names from the directory, reasons people typed and every
sentence holding them go into RichTextBlock TextRuns (`cards.text`), never Markdown. Buttons are
Action.Execute; the bot re-checks everything they carry (whose request, whether it still waits)
and answers with this card redrawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cards import card, execute
from cards.request import OPEN
from cards.text import Part, name, rich, sentence, text

PAGE = "status.page"
CANCEL = "status.cancel"
REPOST = "status.repost"
# Headline colours (Adaptive Card TextRun colours) by how the news is for the asker.
GOOD, BAD, WAITING, NEUTRAL = "Good", "Attention", "Accent", "Default"

Card = dict[str, Any]


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One request: for whom (*target_name*, from the directory), when it was *asked*, where it
    stands in a few of our own words (*headline*, in *colour*) and in sentences (*lines*, which
    may hold names as runs); *can_cancel* offers "Cancel request", *can_repost* "Post it
    again"."""

    request_id: str
    target_name: str
    asked: str
    headline: str
    lines: Sequence[Part] = field(default_factory=tuple)
    colour: str = NEUTRAL
    can_cancel: bool = False
    can_repost: bool = False


@dataclass(frozen=True, slots=True)
class StatusView:
    """A page of requests. *here* is the data that draws this page again (Cancel and Refresh
    carry it); *older* and *newer* are the data of the paging buttons, absent when there is no
    such page. *notice* is a sentence shown first (what a click just did)."""

    rows: Sequence[StatusRow]
    here: Mapping[str, str] = field(default_factory=dict)
    older: Mapping[str, str] | None = None
    newer: Mapping[str, str] | None = None
    notice: Part = ""
    notice_bad: bool = False


def status_card(view: StatusView) -> Card:
    """The asker's requests; a friendly card when they have none."""
    body: list[dict[str, Any]] = [text("Your pass requests", size="Medium", weight="Bolder")]
    if view.notice:
        body.append(rich(view.notice, weight="Bolder", color=BAD if view.notice_bad else GOOD))
    first_page = view.newer is None
    if not view.rows:
        if first_page:
            body.append(
                text(
                    "You haven't asked for any passes yet. When you do, each request shows "
                    "here with where it stands: waiting for approval, issued, denied, and so "
                    "on."
                )
            )
            return card(body, [execute("Request a pass", OPEN, {})])
        body.append(text("There are no older requests."))
        return card(body, [execute("Newest requests", PAGE, {})])
    shown = "Newest first." if first_page else "Older requests, newest first."
    body.append(text(shown, isSubtle=True, size="Small", spacing="None"))
    body += [_row(row, view.here) for row in view.rows]
    actions = []
    if view.newer is not None:
        actions.append(execute("Newer requests", PAGE, dict(view.newer)))
    if view.older is not None:
        actions.append(execute("Older requests", PAGE, dict(view.older)))
    actions.append(execute("Refresh", PAGE, dict(view.here)))
    return card(body, actions)


def _row(row: StatusRow, here: Mapping[str, str]) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        rich(sentence("For ", name(row.target_name)), weight="Bolder"),
        rich(sentence(row.headline), weight="Bolder", color=row.colour, spacing="None"),
    ]
    items += [rich(line, spacing="Small") for line in row.lines]
    items.append(rich(sentence(f"Asked {row.asked}."), subtle=True, size="Small", spacing="Small"))
    data = {"request_id": row.request_id, **here}
    buttons = []
    if row.can_repost:
        buttons.append(execute("Post it again", REPOST, data, style="positive"))
    if row.can_cancel:
        buttons.append(execute("Cancel request", CANCEL, data, style="destructive"))
    if buttons:
        items.append({"type": "ActionSet", "actions": buttons})
    return {"type": "Container", "separator": True, "spacing": "Medium", "items": items}


def status_message_card(title: str, line: Part) -> Card:
    """A failure to show the requests (or to cancel one), with the way back to the list."""
    body = [
        text(title, size="Medium", weight="Bolder", color=BAD),
        rich(line),
    ]
    return card(body, [execute("Show my requests", PAGE, {})])
