"""The joiner reminder card and the cards that replace it once it is answered.

Plain dicts (Adaptive Card 1.5), validated in tests against the schema and Teams' 28 KB
limit. Names and titles from the directory go into RichTextBlock TextRuns, which Teams shows
as they are (no Markdown), so nothing needs escaping. The buttons are Action.Execute with the
verbs below; their data names the event (joiner id and hire day) and is re-checked by the bot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cards import CARD_VERSION
from cards.request import DeliveryChoices, delivery_inputs
from cards.text import Part, rich

ISSUE = "joiner.issue"
NOT_NEEDED = "joiner.not_needed"
TOMORROW = "joiner.tomorrow"
VERBS = (ISSUE, NOT_NEEDED, TOMORROW)

_WHY_HELPDESK = {
    "manager_left": " has left or their account is disabled.",
    "manager_unreachable": " can't be reached in Teams.",
}


@dataclass(frozen=True, slots=True)
class JoinerReminderView:
    """What a reminder shows. *hire_day* (ISO) and *joiner_id* name the event in the buttons;
    *starts_on* and *day_one* are already written for people (``Friday 13 June``,
    ``Fri 13 Jun 00:00 (Europe/London)``). *helpdesk_reason* is set on the helpdesk's copy.
    *terms* says what pass it would be (``8 hours, for more than one sign-in``); *deliveries*
    are the ways it could travel. *notice* is a line to show above the buttons; *attention*
    colours it as a warning."""

    joiner_id: str
    hire_day: str
    joiner_name: str
    starts_on: str
    days_until: int
    day_one: str
    job_title: str = ""
    department: str = ""
    manager_name: str = ""
    helpdesk_reason: str = ""
    notice: str = ""
    attention: bool = False
    terms: str = ""
    deliveries: DeliveryChoices = field(default_factory=lambda: DeliveryChoices(()))


def reminder_card(view: JoinerReminderView) -> dict[str, Any]:
    """The reminder with its three buttons (and, when there is one, the delivery choice that
    "Issue for day one" sends)."""
    data = {"joiner_id": view.joiner_id, "hire_day": view.hire_day}
    body = [*_about(view), _question(view)]
    if view.terms:
        body.append(_rich(_run("The pass: "), _run(view.terms)))
    if view.deliveries.offered:
        body += delivery_inputs(view.deliveries, {})
    if view.notice:
        body.append(_text(view.notice, color="Attention" if view.attention else "Accent"))
    actions = [
        _execute("Issue for day one", ISSUE, data, style="positive"),
        _execute("Not needed", NOT_NEEDED, data),
        _execute("Remind me tomorrow", TOMORROW, data),
    ]
    return _card(body, actions)


def not_needed_card(view: JoinerReminderView) -> dict[str, Any]:
    """The reminder once someone said no pass is needed."""
    return _card(
        [
            *_about(view),
            _text(
                "Marked not needed: I won't remind anyone about this start date again. If a "
                "pass is needed after all, type request.",
                weight="Bolder",
            ),
        ]
    )


def snoozed_card(view: JoinerReminderView, *, tomorrow: str) -> dict[str, Any]:
    """The reminder once someone asked to be reminded tomorrow (*tomorrow*, for people)."""
    return _card(
        [
            *_about(view),
            _text(f"I'll remind you again on {tomorrow}.", weight="Bolder"),
        ]
    )


def outcome_card(view: JoinerReminderView, lines: Sequence[Part]) -> dict[str, Any]:
    """The reminder once a pass was asked for without a click (``JOINER_AUTO_ISSUE``): who
    starts when, and *lines* saying what happened."""
    return _card([*_about(view), *(rich(line) for line in lines)])


def out_of_date_card(text: str) -> dict[str, Any]:
    """What a click on a reminder the bot no longer knows gets."""
    return _card([_text("Joiner reminder", size="Medium", weight="Bolder"), _text(text)])


def _about(view: JoinerReminderView) -> list[dict[str, Any]]:
    name = _run(view.joiner_name, weight="Bolder")
    blocks = [_text("A new joiner starts soon", size="Medium", weight="Bolder")]
    if view.helpdesk_reason:
        why = [_run("For the helpdesk: "), name]
        if view.helpdesk_reason in _WHY_HELPDESK:
            why.append(_run("'s manager"))
            if view.manager_name:
                why += [_run(", "), _run(view.manager_name), _run(",")]
            why.append(_run(_WHY_HELPDESK[view.helpdesk_reason]))
        else:
            why.append(_run(" has no manager in the directory."))
        blocks.append(_rich(*why))
    blocks.append(
        _rich(
            name,
            _run(f" {_starts(view.days_until)} "),
            _run(view.starts_on),
            _run(f" ({_when(view.days_until)})."),
        )
    )
    facts = [("Job title", view.job_title), ("Department", view.department)]
    blocks += [_rich(_run(f"{label}: "), _run(value)) for label, value in facts if value]
    return blocks


def _question(view: JoinerReminderView) -> dict[str, Any]:
    if view.days_until > 0:
        return _rich(
            _run("Issue their Temporary Access Pass for day one? It starts working at "),
            _run(view.day_one),
            _run(", so it is of no use to anyone who gets hold of it earlier."),
        )
    return _rich(
        _run(
            "They have started and have no pass yet. Issue one now? It works from the moment "
            "it is issued."
        )
    )


def _starts(days: int) -> str:
    return "started on" if days < 0 else "starts on"


def _when(days: int) -> str:
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    return f"in {days} days" if days > 0 else f"{-days} days ago"


def _run(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": text, **extra}


def _rich(*inlines: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": list(inlines)}


def _text(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **extra}


def _execute(title: str, verb: str, data: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"type": "Action.Execute", "title": title, "verb": verb, "data": data, **extra}


def _card(
    body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    card: dict[str, Any] = {"type": "AdaptiveCard", "version": CARD_VERSION, "body": body}
    if actions:
        card["actions"] = actions
    return card
