"""The team cards are valid Adaptive Card 1.5, fit Teams, and show names as TextRuns."""

from __future__ import annotations

import json

from cards.team import (
    CONFIRM_REVOKE,
    REQUEST,
    REVOKE,
    SHOW,
    TELL_THEM,
    TeamRow,
    TeamView,
    confirm_revoke_card,
    team_card,
    team_message_card,
)
from cards.validation import TEAMS_MAX_CARD_BYTES, card_problems
from tests.unit.cards.card_walk import actions, texts

HOSTILE = "[Click me](https://evil.example) **Bob** <at>x</at> _O'Brien_"


def _row(n: int, *, name: str = "", with_pass: bool = True) -> TeamRow:
    return TeamRow(
        user_id=f"10000000-0000-4000-8000-{n:012d}",
        name=name or f"Person {n:02d} " + "x" * 50,
        job_title="Senior Accounts Payable Specialist, Finance Operations",
        state="Active from Mon 9 Jun 08:00 (Europe/London) until Mon 9 Jun 16:00 "
        "(Europe/London), one-time use",
        pass_id=f"5f6c1a2b-0000-4000-8000-{n:012d}" if with_pass else None,
    )


def test_a_full_page_of_twenty_is_valid_and_fits_teams() -> None:
    view = TeamView(
        rows=[_row(n) for n in range(20)],
        total=45,
        first_position=21,
        previous={"page": "previous", "name": "Person 20", "id": "a"},
        next={"page": "next", "name": "Person 39", "id": "b"},
        notice="Someone's pass was revoked: it no longer works. I told them in Teams.",
    )
    card = team_card(view)
    assert card_problems(card) == []
    assert len(json.dumps(card).encode()) < TEAMS_MAX_CARD_BYTES
    assert "People 21 to 40 of 45" in json.dumps(card)
    bottom = [(a["title"], a["verb"]) for a in card["actions"]]
    assert bottom == [("Previous people", SHOW), ("Next people", SHOW), ("Refresh", SHOW)]


def test_every_row_can_request_and_only_a_row_with_a_pass_can_revoke() -> None:
    card = team_card(TeamView(rows=[_row(1), _row(2, with_pass=False)], total=2))
    rows = [a for a in actions(card) if a["verb"] in (REQUEST, REVOKE)]
    assert [(a["verb"], a["data"]) for a in rows] == [
        (REQUEST, {"target": _row(1).user_id}),
        (REVOKE, {"target": _row(1).user_id, "pass_id": _row(1).pass_id}),
        (REQUEST, {"target": _row(2).user_id}),
    ]
    assert "2 people, read from Microsoft Entra just now." in texts(card, "TextRun")


def test_names_from_the_directory_are_text_runs_shown_exactly() -> None:
    card = team_card(TeamView(rows=[_row(1, name=HOSTILE)], total=1, notice=f"{HOSTILE} ok"))
    assert HOSTILE in texts(card, "TextRun")
    assert f"{HOSTILE} ok" in texts(card, "TextRun")
    assert not any(HOSTILE in text for text in texts(card, "TextBlock"))
    assert card_problems(card) == []


def test_an_empty_team_says_so() -> None:
    card = team_card(TeamView(rows=[], total=0))
    assert card_problems(card) == []
    assert "You have no direct reports" in json.dumps(card)
    assert "actions" not in card


def test_the_confirmation_offers_to_tell_the_person_and_names_them_exactly() -> None:
    card = confirm_revoke_card(user_id="u1", pass_id="p1", name=HOSTILE, state="Active until x")
    assert card_problems(card) == []
    assert HOSTILE in texts(card, "TextRun")
    toggle = next(e for e in card["body"] if e["type"] == "Input.Toggle")
    assert (toggle["id"], toggle["value"]) == (TELL_THEM, "false")
    confirm, keep = card["actions"]
    assert (confirm["verb"], confirm["data"], confirm["style"]) == (
        CONFIRM_REVOKE,
        {"target": "u1", "pass_id": "p1"},
        "destructive",
    )
    assert keep["verb"] == SHOW


def test_a_refusal_card_leads_back_to_the_team() -> None:
    card = team_message_card("Nothing was revoked", f"{HOSTILE} doesn't report to you.")
    assert card_problems(card) == []
    assert f"{HOSTILE} doesn't report to you." in texts(card, "TextRun")
    assert [a["verb"] for a in card["actions"]] == [SHOW]
