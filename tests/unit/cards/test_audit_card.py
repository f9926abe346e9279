"""The audit card is valid Adaptive Card 1.5, fits Teams, and shows values as TextRuns."""

from __future__ import annotations

import json

from cards.audit import (
    FILTER,
    OUTCOME,
    OUTCOMES,
    PAGE,
    PERSON,
    REQUESTER,
    AuditRow,
    AuditView,
    audit_card,
    audit_refused_card,
)
from cards.validation import TEAMS_MAX_CARD_BYTES, card_problems
from tests.unit.cards.card_walk import actions, elements, texts

HOSTILE = "[Click me](https://evil.example) **Bob**"


def _row(n: int, **changes: object) -> AuditRow:
    values: dict[str, object] = {
        "when": "Mon 9 Jun 08:00 (Europe/London)",
        "what": "request: refused",
        "by": f"Olivia Bennett {n}",
        "about": "Liam Carter",
        "why": "reason: not_direct_report; lifetime_minutes: 60; delivery: chat_requester; "
        "request 7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "attention": True,
    }
    values.update(changes)
    return AuditRow(**values)  # type: ignore[arg-type]


def test_a_page_of_ten_with_filters_is_valid_and_fits_teams() -> None:
    filters = {"person_id": "p", "outcome": "refused"}
    view = AuditView(
        rows=[_row(n) for n in range(10)],
        filters=filters,
        person="Liam Carter",
        outcome="refused",
        older=filters | {"before_at": "2025-06-09T08:00:00+00:00", "before_id": "41"},
        first_page=False,
        notice='No one in the directory matches "Zed". That filter is left out.',
    )
    card = audit_card(view)
    assert card_problems(card) == []
    assert len(json.dumps(card).encode()) < TEAMS_MAX_CARD_BYTES
    inputs = {e["id"]: e for e in elements(card) if e["type"].startswith("Input.")}
    assert (inputs[PERSON]["value"], inputs[REQUESTER]["value"]) == ("Liam Carter", "")
    assert inputs[OUTCOME]["value"] == "refused"
    assert [c["value"] for c in inputs[OUTCOME]["choices"]] == ["", *(v for v, _ in OUTCOMES)]
    assert [(a["title"], a["verb"], a["data"]) for a in actions(card)] == [
        ("Apply filters", FILTER, {}),
        ("Older events", PAGE, view.older),
        ("Newest events", PAGE, filters),
    ]


def test_the_first_page_without_more_has_only_the_filter_button() -> None:
    card = audit_card(AuditView(rows=[_row(1)], filters={}))
    assert [a["verb"] for a in actions(card)] == [FILTER]
    assert "Newest first." in texts(card, "TextRun")


def test_no_events_says_so() -> None:
    card = audit_card(AuditView(rows=[], filters={}))
    assert card_problems(card) == []
    assert "No events match." in texts(card, "TextRun")


def test_values_are_text_runs_shown_exactly() -> None:
    card = audit_card(AuditView(rows=[_row(1, by=HOSTILE, about=HOSTILE, why=HOSTILE)], filters={}))
    runs = texts(card, "TextRun")
    assert runs.count(HOSTILE) == 3
    assert not any(HOSTILE in text for text in texts(card, "TextBlock"))


def test_an_event_without_a_person_names_only_who_did_it() -> None:
    card = audit_card(AuditView(rows=[_row(1, about="", why="")], filters={}))
    assert "about" not in " ".join(texts(card, "TextRun"))


def test_the_refusal_card_is_valid() -> None:
    card = audit_refused_card("The audit trail is for helpdesk members only.")
    assert card_problems(card) == []
    assert "actions" not in card
