"""The request card and the cards that replace it: confirmation, outcome, delivered pass.

Built as plain dicts (Adaptive Card 1.5); tests validate each against the schema and Teams'
28 KB limit. Names from the directory, reasons people typed and the pass are shown literally in
RichTextBlock TextRuns (`cards.text`). The card's inputs are only a convenience for the person:
the bot re-checks everything it receives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
DETAILS = "request.details"
JUSTIFICATION_MAX = 500
NUMBER_MAX = 40
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
    """Step one of a manager's request card: whom it is for, among this requester's reports at
    this moment. *form_id* names the request from here on (step two keeps it)."""

    form_id: str
    targets: Sequence[TargetChoice]
    notice: str = ""
    can_search: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryChoices:
    """The delivery part of a request card for one person.

    *offered* are (value, title) pairs of the methods that work for them, the first chosen
    unless *values* say otherwise; *not_offered* are sentences saying which methods don't and
    why. *number_label* asks for a typed mobile number (empty: no number box).
    """

    offered: Sequence[tuple[str, str]]
    not_offered: Sequence[str] = ()
    number_label: str = ""


@dataclass(frozen=True, slots=True)
class PassInputs:
    """What the inputs for one pass offer. *values* pre-fill them (a card shown again after a
    problem the requester can fix keeps what they typed)."""

    lifetimes: Sequence[int]
    default_lifetime: int
    one_time_forced: bool
    deliveries: DeliveryChoices
    timezone: str
    values: Mapping[str, str] = field(default_factory=dict)


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
    """Step one of a manager's request: the direct report who needs a pass, then Next (step
    two, `cards.search.details_card`, offers what works for that person)."""
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
        text(
            "Next, choose how long the pass lasts and how it reaches them: only the ways that "
            "work for that person are offered.",
            isSubtle=True,
            size="Small",
        ),
    ]
    actions = [execute("Next", DETAILS, {"form_id": view.form_id}, style="positive")]
    if view.can_search:
        actions.append(execute("Someone else (helpdesk)", SEARCH, {}))
    return card(body, actions)


def details_inputs(view: PassInputs) -> list[dict[str, Any]]:
    """The inputs for one pass: length, one-time use, start, delivery and the reason."""
    values = view.values
    lifetime = values.get("lifetime", "")
    if lifetime not in {str(m) for m in view.lifetimes}:
        lifetime = str(view.default_lifetime)
    start = values.get("start") if values.get("start") in ("now", "later") else "now"
    return [
        {
            "type": "Input.ChoiceSet",
            "id": "lifetime",
            "label": "Valid for",
            "isRequired": True,
            "value": lifetime,
            "choices": [{"title": lifetime_label(m), "value": str(m)} for m in view.lifetimes],
        },
        _one_time_input(view.one_time_forced, values.get("one_time", "true")),
        {
            "type": "Input.ChoiceSet",
            "id": "start",
            "label": "Starts",
            "value": start,
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
                    "items": [
                        {
                            "type": "Input.Date",
                            "id": "start_date",
                            "label": "Start date",
                            **_prefill(values, "start_date"),
                        }
                    ],
                },
                {
                    "type": "Column",
                    "width": "stretch",
                    "items": [
                        {
                            "type": "Input.Time",
                            "id": "start_time",
                            "label": "Start time",
                            **_prefill(values, "start_time"),
                        }
                    ],
                },
            ],
        },
        text(f"Times are in {view.timezone}.", isSubtle=True, size="Small", spacing="None"),
        *delivery_inputs(view.deliveries, values),
        {
            "type": "Input.Text",
            "id": "justification",
            "label": "Why is the pass needed?",
            "placeholder": "e.g. new starter, first day on Monday",
            "isMultiline": True,
            "isRequired": True,
            "maxLength": JUSTIFICATION_MAX,
            "errorMessage": "Say briefly why the pass is needed.",
            **_prefill(values, "justification"),
        },
    ]


def delivery_inputs(choices: DeliveryChoices, values: Mapping[str, str]) -> list[dict[str, Any]]:
    """The delivery choice (the first offered chosen unless *values* say otherwise), a number
    box where typing is allowed, and the ways not offered, with why."""
    offered = [value for value, _ in choices.offered]
    chosen = values.get("delivery") if values.get("delivery") in offered else offered[0]
    inputs: list[dict[str, Any]] = [
        {
            "type": "Input.ChoiceSet",
            "id": "delivery",
            "label": "Deliver the pass",
            "isRequired": True,
            "value": chosen,
            "style": "expanded",
            "choices": [{"title": title, "value": value} for value, title in choices.offered],
        }
    ]
    if choices.number_label:
        inputs.append(
            {
                "type": "Input.Text",
                "id": "sms_number",
                "label": choices.number_label,
                "style": "tel",
                "placeholder": "With the country code: +44 7…, +61 4…",
                "maxLength": NUMBER_MAX,
                **_prefill(values, "sms_number"),
            }
        )
    for line in choices.not_offered:
        inputs.append(rich(name(line), subtle=True, size="Small", spacing="Small"))
    return inputs


def _prefill(values: Mapping[str, str], key: str) -> dict[str, str]:
    value = values.get(key, "")
    return {"value": value} if value else {}


def _one_time_input(forced: bool, value: str) -> dict[str, Any]:
    if forced:
        # No toggle to switch off: the value travels in the action's data instead.
        return text("The pass works for one sign-in only (your organisation requires it).")
    return {
        "type": "Input.Toggle",
        "id": "one_time",
        "title": "One-time use (the pass stops working after the first sign-in)",
        "value": "false" if value == "false" else "true",
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
        *hidden_pass(
            value, starts=starts, ends=ends, use="One-time" if one_time else "Multiple sign-ins"
        ),
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


def hidden_pass(value: str, *, starts: str, ends: str, use: str) -> list[dict[str, Any]]:
    """When a pass works and how often (*use*), and the pass itself in a container "Show pass"
    reveals (``id`` ``pass``): the only text of its TextRun, in monospace, exactly as is."""
    return [
        {
            "type": "FactSet",
            "facts": [
                {"title": "Valid from", "value": starts},
                {"title": "Valid until", "value": ends},
                {"title": "Use", "value": use},
            ],
        },
        {
            "type": "Container",
            "id": "pass",
            "isVisible": False,
            "style": "emphasis",
            "items": [rich(typed(value), size="ExtraLarge", weight="Bolder")],
        },
    ]


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
