"""The request card and the cards that replace it: confirmation, outcome, delivered pass.

Built as plain dicts (Adaptive Card 1.5); tests validate each against the schema and Teams'
28 KB limit. Names from the directory, reasons people typed and the pass are shown literally in
RichTextBlock TextRuns (`cards.text`). The card's inputs are only a convenience for the person:
the bot re-checks everything it receives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cards import card, execute
from cards.text import Part, name, rich, sentence, text, typed

SUBMIT = "request.submit"
OPEN = "request.open"
REPLACE = "request.replace"
CANCEL = "request.cancel"
SEARCH = "request.search"
JUSTIFICATION_MAX = 500
_MAX_LIFETIME_LABEL_DAYS = 2


@dataclass(frozen=True, slots=True)
class TargetChoice:
    """A direct report in the target list; *not_eligible* is a short reason, or empty."""

    user_id: str
    name: str
    job_title: str = ""
    not_eligible: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class RequestFormView:
    """What the request card shows: the choices of this requester, at this moment."""

    form_id: str
    targets: Sequence[TargetChoice]
    lifetimes: Sequence[int]
    default_lifetime: int
    one_time_forced: bool
    deliveries: Sequence[tuple[str, str]]
    timezone: str
    notice: str = ""
    can_search: bool = False


def lifetime_label(minutes: int) -> str:
    if minutes % 1440 == 0 and minutes // 1440 >= 1:
        days = minutes // 1440
        return f"{days} day" if days == 1 else f"{days} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"


def when(moment: datetime, timezone: ZoneInfo) -> str:
    """A moment as people read it: ``Mon 23 Nov 14:30 (Europe/London)``."""
    local = moment.astimezone(timezone)
    return f"{local:%a} {local.day} {local:%b %H:%M} ({timezone.key})"


def request_form_card(view: RequestFormView) -> dict[str, Any]:
    """The form a manager fills to request a pass for one of their direct reports."""
    body: list[dict[str, Any]] = [
        text("Request a Temporary Access Pass", size="Medium", weight="Bolder"),
    ]
    if view.notice:
        body.append(rich(view.notice, color="Attention"))
    if not view.targets:
        body.append(
            text(
                "You have no direct reports in the directory, so there is no one to "
                "request a pass for."
            )
        )
        return card(body)
    choices = []
    for target in view.targets:
        # `name` keeps each title on one line, without control characters.
        label = name(target.name).text
        if target.job_title:
            label += f", {name(target.job_title).text}"
        if target.not_eligible:
            label += f" (not eligible: {target.not_eligible})"
        elif target.note:
            label += f" ({target.note})"
        choices.append({"title": label, "value": target.user_id})
    eligible = [t for t in view.targets if not t.not_eligible]
    body += [
        {
            "type": "Input.ChoiceSet",
            "id": "target",
            "label": "For whom",
            "isRequired": True,
            "errorMessage": "Choose the person who needs the pass.",
            "choices": choices,
            **({"value": eligible[0].user_id} if len(eligible) == 1 else {}),
        },
    ]
    body += details_inputs(
        lifetimes=view.lifetimes,
        default_lifetime=view.default_lifetime,
        one_time_forced=view.one_time_forced,
        deliveries=view.deliveries,
        timezone=view.timezone,
    )
    data = {"form_id": view.form_id} | ({"one_time": "true"} if view.one_time_forced else {})
    actions = [execute("Request pass", SUBMIT, data, style="positive")]
    if view.can_search:
        actions.append(execute("Someone else (helpdesk)", SEARCH, {}))
    return card(body, actions)


def details_inputs(
    *,
    lifetimes: Sequence[int],
    default_lifetime: int,
    one_time_forced: bool,
    deliveries: Sequence[tuple[str, str]],
    timezone: str,
) -> list[dict[str, Any]]:
    """The inputs for one pass: length, one-time use, start, delivery and the reason."""
    return [
        {
            "type": "Input.ChoiceSet",
            "id": "lifetime",
            "label": "Valid for",
            "isRequired": True,
            "value": str(default_lifetime),
            "choices": [{"title": lifetime_label(m), "value": str(m)} for m in lifetimes],
        },
        _one_time_input(one_time_forced),
        {
            "type": "Input.ChoiceSet",
            "id": "start",
            "label": "Starts",
            "value": "now",
            "style": "expanded",
            "choices": [
                {"title": "Now", "value": "now"},
                {"title": "At a date and time", "value": "later"},
            ],
        },
        {
            "type": "ColumnSet",
            "columns": [
                {
                    "type": "Column",
                    "width": "stretch",
                    "items": [{"type": "Input.Date", "id": "start_date", "label": "Start date"}],
                },
                {
                    "type": "Column",
                    "width": "stretch",
                    "items": [{"type": "Input.Time", "id": "start_time", "label": "Start time"}],
                },
            ],
        },
        text(f"Times are in {timezone}.", isSubtle=True, size="Small", spacing="None"),
        {
            "type": "Input.ChoiceSet",
            "id": "delivery",
            "label": "Deliver the pass",
            "isRequired": True,
            "value": deliveries[0][0],
            "choices": [{"title": title, "value": value} for value, title in deliveries],
        },
        {
            "type": "Input.Text",
            "id": "justification",
            "label": "Why is the pass needed?",
            "placeholder": "e.g. new starter, first day on Monday",
            "isMultiline": True,
            "isRequired": True,
            "maxLength": JUSTIFICATION_MAX,
            "errorMessage": "Say briefly why the pass is needed.",
        },
    ]


def _one_time_input(forced: bool) -> dict[str, Any]:
    if forced:
        # No toggle to switch off: the value travels in the action's data instead.
        return text("The pass works for one sign-in only (your organisation requires it).")
    return {
        "type": "Input.Toggle",
        "id": "one_time",
        "title": "One-time use (the pass stops working after the first sign-in)",
        "value": "true",
        "valueOn": "true",
        "valueOff": "false",
    }


def confirm_replace_card(*, request_id: str, target_name: str, active_until: str) -> dict[str, Any]:
    """Ask before replacing a pass the target already has (Entra keeps one per person)."""
    body = [
        text("Replace the existing pass?", size="Medium", weight="Bolder"),
        rich(
            sentence(
                name(target_name),
                f" already has a Temporary Access Pass, valid until {active_until}. A new pass "
                "replaces it: the old one stops working at once.",
            )
        ),
    ]
    actions = [
        execute("Replace it", REPLACE, {"request_id": request_id}, style="destructive"),
        execute("Keep the existing pass", CANCEL, {"request_id": request_id}),
    ]
    return card(body, actions)


def outcome_card(title: Part, lines: Sequence[Part], *, attention: bool = False) -> dict[str, Any]:
    """The request card's final state: issued, refused, failed or cancelled.

    *title* and *lines* are shown literally (no Markdown), so they may hold directory names
    and text people typed as they are.
    """
    body = [
        rich(title, size="Medium", weight="Bolder", color="Attention" if attention else "Default")
    ]
    body += [rich(line) for line in lines]
    return card(body, [execute("Request another pass", OPEN, {})])


def pass_card(
    *, target_name: str, value: str, starts: str, ends: str, one_time: bool
) -> dict[str, Any]:
    """The delivered pass, hidden until "Show pass" is clicked. *value* is the secret; it is
    the only text of its TextRun, in monospace, exactly as Entra made it."""
    person = name(target_name)
    use = "It works for one sign-in only." if one_time else "It can be used until it expires."
    body = [
        rich(sentence("Temporary Access Pass for ", person), size="Medium", weight="Bolder"),
        {
            "type": "FactSet",
            "facts": [
                {"title": "Valid from", "value": starts},
                {"title": "Valid until", "value": ends},
                {"title": "Use", "value": "One-time" if one_time else "Multiple sign-ins"},
            ],
        },
        {
            "type": "Container",
            "id": "pass",
            "isVisible": False,
            "style": "emphasis",
            "items": [rich(typed(value), size="ExtraLarge", weight="Bolder")],
        },
        rich(
            sentence(
                "Give it to ",
                person,
                " in person or read it out on a call after you have checked it's really them. "
                f"Don't email or forward it. {use} I will remove it from this chat by the time "
                "it expires.",
            ),
            subtle=True,
        ),
    ]
    actions = [
        {"type": "Action.ToggleVisibility", "title": "Show pass", "targetElements": ["pass"]}
    ]
    return card(body, actions)


def redacted_pass_card(*, target_name: str, ends: str) -> dict[str, Any]:
    """What a delivered pass message becomes once the pass is removed from the chat."""
    person = name(target_name)
    return card(
        [
            rich(sentence("Temporary Access Pass for ", person), size="Medium", weight="Bolder"),
            rich(
                sentence(
                    f"The pass (valid until {ends}) has been removed from this chat. If ",
                    person,
                    " still needs one, request a new pass.",
                )
            ),
        ]
    )
