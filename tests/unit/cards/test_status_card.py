"""The status card is valid Adaptive Card 1.5, fits Teams with a full page of long rows, shows
names only as TextRuns, and offers Cancel only where a request waits."""

from __future__ import annotations

import dataclasses
import json

from cards.request import OPEN
from cards.status import (
    BAD,
    CANCEL,
    PAGE,
    REPOST,
    StatusRow,
    StatusView,
    status_card,
    status_message_card,
)
from cards.text import name, sentence
from cards.validation import TEAMS_MAX_CARD_BYTES, card_problems
from tests.unit.cards.card_walk import actions, elements, texts

HOSTILE = "[Click me](https://evil.example) **Bob** <at>x</at> _O'Brien_\u202e"
HERE = {"before_at": "2025-06-09T08:00:00+00:00", "before_id": "r-9"}


def _row(n: int, *, waiting: bool = False, target: str = "") -> StatusRow:
    who = target or f"Person {n:02d} " + "x" * 200
    return StatusRow(
        request_id=f"0b7f2f1e-0000-4000-8000-{n:012d}",
        target_name=who,
        asked="Mon 9 Jun 08:00 (Europe/London)",
        headline="Waiting for approval" if waiting else "Denied",
        lines=[
            sentence("Denied by ", name("Tom Becker " + "y" * 200), " on Mon 9 Jun: ", "z" * 500),
            "If nobody decides in time, it expires and no pass is issued.",
        ],
        colour=BAD,
        can_cancel=waiting,
    )


def test_a_full_page_of_long_rows_is_valid_and_fits_teams() -> None:
    view = StatusView(
        rows=[_row(n, waiting=n % 2 == 0) for n in range(10)],
        here=HERE,
        older={"before_at": "2025-06-01T08:00:00+00:00", "before_id": "r-1"},
        newer={"after_at": "2025-06-09T09:00:00+00:00", "after_id": "r-10"},
        notice=sentence("Your request for ", name(HOSTILE), " is cancelled."),
    )
    card = status_card(view)
    assert card_problems(card) == []
    assert len(json.dumps(card).encode()) < TEAMS_MAX_CARD_BYTES
    bottom = [(a["title"], a["verb"], a["data"]) for a in card["actions"]]
    assert bottom == [
        ("Newer requests", PAGE, dict(view.newer or {})),
        ("Older requests", PAGE, dict(view.older or {})),
        ("Refresh", PAGE, HERE),
    ]


def test_only_a_waiting_request_offers_cancel_and_it_carries_the_page() -> None:
    card = status_card(StatusView(rows=[_row(1, waiting=True), _row(2)], here=HERE))
    cancels = [a for a in actions(card) if a["verb"] == CANCEL]
    assert [a["data"] for a in cancels] == [{"request_id": _row(1).request_id, **HERE}]
    assert cancels[0]["title"] == "Cancel request"


def test_names_from_the_directory_are_text_runs_never_markdown() -> None:
    card = status_card(StatusView(rows=[_row(1, target=HOSTILE)]))
    blocks = " ".join(texts(card, "TextBlock"))
    assert "Click me" not in blocks
    assert "Bob" not in blocks
    runs = texts(card, "TextRun")
    # Shown literally, without the right-to-left override that could reorder the sentence.
    assert f"For {HOSTILE[:-1]}" in runs


def test_the_newest_page_has_no_newer_button_and_says_newest_first() -> None:
    card = status_card(StatusView(rows=[_row(1)]))
    assert "Newest first." in texts(card, "TextBlock")
    assert [a["title"] for a in card["actions"]] == ["Refresh"]
    assert card["actions"][0]["data"] == {}


def test_someone_without_requests_gets_a_friendly_card_with_the_way_to_ask() -> None:
    card = status_card(StatusView(rows=[]))
    assert card_problems(card) == []
    assert any("You haven't asked for any passes yet" in t for t in texts(card, "TextBlock"))
    assert [(a["title"], a["verb"]) for a in card["actions"]] == [("Request a pass", OPEN)]


def test_an_empty_older_page_leads_back_to_the_newest() -> None:
    card = status_card(StatusView(rows=[], newer={"after_at": "x", "after_id": "y"}))
    assert "There are no older requests." in texts(card, "TextBlock")
    assert [(a["title"], a["data"]) for a in card["actions"]] == [("Newest requests", {})]


def test_a_message_card_is_valid_and_leads_back_to_the_list() -> None:
    card = status_message_card("I can't show your requests right now", "Try again.")
    assert card_problems(card) == []
    assert [(a["title"], a["verb"]) for a in card["actions"]] == [("Show my requests", PAGE)]
    assert all(e["type"] != "Input.Text" for e in elements(card))


def test_a_request_nobody_was_shown_offers_post_it_again_before_cancel() -> None:
    row = dataclasses.replace(_row(1, waiting=True), can_repost=True)
    card = status_card(StatusView(rows=[row, _row(2, waiting=True)], here=HERE))
    assert card_problems(card) == []
    row_buttons = [(a["title"], a["verb"]) for a in actions(card) if a["verb"] != PAGE]
    assert row_buttons == [
        ("Post it again", REPOST),
        ("Cancel request", CANCEL),
        ("Cancel request", CANCEL),
    ]
    [repost] = [a for a in actions(card) if a["verb"] == REPOST]
    assert repost["data"] == {"request_id": row.request_id, **HERE}
