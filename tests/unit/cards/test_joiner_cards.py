"""The joiner reminder cards are valid Adaptive Card 1.5, fit Teams, and show names verbatim."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from cards.joiner import (
    ISSUE,
    NOT_NEEDED,
    TOMORROW,
    JoinerReminderView,
    not_needed_card,
    out_of_date_card,
    reminder_card,
    snoozed_card,
)
from cards.validation import card_problems

ETHAN = JoinerReminderView(
    joiner_id="10000000-0000-4000-8000-000000000021",
    hire_day="2025-06-13",
    joiner_name="Ethan Walsh",
    starts_on="Friday 13 June",
    days_until=3,
    day_one="Fri 13 Jun 00:00 (Europe/London)",
    job_title="Junior Accountant",
    department="Finance",
)
HELPDESK_COPY = dataclasses.replace(
    ETHAN, helpdesk_reason="manager_unreachable", manager_name="Olivia Bennett"
)


def _runs(card: dict[str, Any]) -> list[str]:
    """The text of every RichTextBlock, each joined into one line."""
    return [
        "".join(run["text"] for run in block["inlines"])
        for block in card["body"]
        if block["type"] == "RichTextBlock"
    ]


@pytest.mark.parametrize(
    "card",
    [
        reminder_card(ETHAN),
        reminder_card(HELPDESK_COPY),
        reminder_card(dataclasses.replace(ETHAN, days_until=-2, notice="Note", attention=True)),
        reminder_card(dataclasses.replace(ETHAN, joiner_name="x" * 2000, job_title="y" * 2000)),
        not_needed_card(ETHAN),
        snoozed_card(ETHAN, tomorrow="Wednesday 11 June"),
        out_of_date_card("This reminder is out of date."),
    ],
)
def test_every_joiner_card_is_valid_and_fits_teams(card: dict[str, Any]) -> None:
    assert card_problems(card) == []


def test_the_reminder_says_who_starts_when_and_offers_three_answers() -> None:
    card = reminder_card(ETHAN)

    assert _runs(card) == [
        "Ethan Walsh starts on Friday 13 June (in 3 days).",
        "Job title: Junior Accountant",
        "Department: Finance",
        "Issue their Temporary Access Pass for day one? It starts working at Fri 13 Jun 00:00 "
        "(Europe/London), so it is of no use to anyone who gets hold of it earlier.",
    ]
    actions = [(a["type"], a["title"], a["verb"], a["data"]) for a in card["actions"]]
    data = {"joiner_id": ETHAN.joiner_id, "hire_day": "2025-06-13"}
    assert actions == [
        ("Action.Execute", "Issue for day one", ISSUE, data),
        ("Action.Execute", "Not needed", NOT_NEEDED, data),
        ("Action.Execute", "Remind me tomorrow", TOMORROW, data),
    ]


def test_names_go_into_text_runs_as_they_are() -> None:
    tricky = dataclasses.replace(
        ETHAN, joiner_name="O'Brien *Bold* [link](http://x) _u_", department="R&D <b>"
    )
    card = reminder_card(tricky)

    name_runs = [
        run
        for block in card["body"]
        if block["type"] == "RichTextBlock"
        for run in block["inlines"]
        if run["text"] == tricky.joiner_name
    ]
    assert name_runs == [{"type": "TextRun", "text": tricky.joiner_name, "weight": "Bolder"}]
    assert "Department: R&D <b>" in _runs(card)
    assert all(
        tricky.joiner_name not in block.get("text", "")
        for block in card["body"]
        if block["type"] == "TextBlock"
    )


@pytest.mark.parametrize(
    ("reason", "manager", "line"),
    [
        ("no_manager", "", "For the helpdesk: Ethan Walsh has no manager in the directory."),
        (
            "manager_left",
            "Olivia Bennett",
            "For the helpdesk: Ethan Walsh's manager, Olivia Bennett, has left or their "
            "account is disabled.",
        ),
        (
            "manager_unreachable",
            "Olivia Bennett",
            "For the helpdesk: Ethan Walsh's manager, Olivia Bennett, can't be reached in Teams.",
        ),
    ],
)
def test_the_helpdesk_copy_says_why_it_came_to_them(reason: str, manager: str, line: str) -> None:
    card = reminder_card(dataclasses.replace(ETHAN, helpdesk_reason=reason, manager_name=manager))

    assert _runs(card)[0] == line


@pytest.mark.parametrize(
    ("days", "words"),
    [
        (1, "starts on Friday 13 June (tomorrow)."),
        (0, "starts on Friday 13 June (today)."),
        (-1, "started on Friday 13 June (yesterday)."),
        (-2, "started on Friday 13 June (2 days ago)."),
    ],
)
def test_when_is_told_relative_to_today(days: int, words: str) -> None:
    card = reminder_card(dataclasses.replace(ETHAN, days_until=days))

    assert _runs(card)[0] == f"Ethan Walsh {words}"


def test_a_joiner_who_started_is_offered_a_pass_that_works_now() -> None:
    card = reminder_card(dataclasses.replace(ETHAN, days_until=-1))

    assert _runs(card)[-1].startswith("They have started and have no pass yet.")


def test_answered_cards_keep_who_and_when_and_drop_the_buttons() -> None:
    for card in (not_needed_card(ETHAN), snoozed_card(ETHAN, tomorrow="Wednesday 11 June")):
        assert "actions" not in card
        assert _runs(card)[0] == "Ethan Walsh starts on Friday 13 June (in 3 days)."
    assert snoozed_card(ETHAN, tomorrow="Wednesday 11 June")["body"][-1]["text"] == (
        "I'll remind you again on Wednesday 11 June."
    )
