"""The request card family is valid Adaptive Card 1.5, fits Teams, and hides the pass."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from cards.request import (
    RequestFormView,
    TargetChoice,
    confirm_replace_card,
    lifetime_label,
    outcome_card,
    pass_card,
    redacted_pass_card,
    request_form_card,
    when,
)
from cards.text import readable_text
from cards.validation import card_problems
from sandbox.tenant import PASS_ALPHABET as TENANT_PASS_ALPHABET
from tests.twins.directory import PASS_ALPHABET as TWIN_PASS_ALPHABET


def view(targets: int = 3, **changes: object) -> RequestFormView:
    values: dict[str, object] = {
        "form_id": "f0000000-0000-4000-8000-000000000001",
        "targets": [
            TargetChoice(f"id-{n}", f"Person {n}", "Analyst", "" if n else "privileged role")
            for n in range(targets)
        ],
    }
    values.update(changes)
    return RequestFormView(**values)  # type: ignore[arg-type]


def test_the_form_is_valid_and_marks_ineligible_people() -> None:
    card = request_form_card(view())
    assert card_problems(card) == []
    target = next(item for item in card["body"] if item.get("id") == "target")
    assert target["choices"][0]["title"] == "Person 0, Analyst (not eligible: privileged role)"
    # Step one only picks the person; Next carries the request's form id to step two.
    assert card["actions"][0]["verb"] == "request.details"
    assert card["actions"][0]["data"] == {"form_id": "f0000000-0000-4000-8000-000000000001"}
    assert {item.get("id") for item in card["body"]} >= {"target"}
    assert "delivery" not in {item.get("id") for item in card["body"]}


def test_a_helpdesk_member_can_search_from_step_one() -> None:
    card = request_form_card(view(can_search=True))
    assert [a["verb"] for a in card["actions"]] == ["request.details", "request.search"]


def test_a_manager_with_many_reports_still_fits_in_28_kb() -> None:
    assert card_problems(request_form_card(view(targets=150))) == []


def test_no_reports_means_no_form() -> None:
    card = request_form_card(view(targets=0))
    assert card_problems(card) == []
    assert "actions" not in card


def _text_runs(card: object) -> list[dict[str, object]]:
    return [n for n in _walk(card) if isinstance(n, dict) and n.get("type") == "TextRun"]


def _text_blocks(card: object) -> list[str]:
    return [
        str(node["text"])
        for node in _walk(card)
        if isinstance(node, dict) and node.get("type") == "TextBlock"
    ]


def _walk(node: object) -> list[object]:
    nodes = [node]
    if isinstance(node, dict):
        for value in node.values():
            nodes += _walk(value)
    elif isinstance(node, list):
        for item in node:
            nodes += _walk(item)
    return nodes


HOSTILE_NAME = "[click](https://evil.example) **Bob** _x_ \\. <b>hi</b>"


def test_names_are_shown_literally_in_text_runs_never_in_markdown() -> None:
    card = confirm_replace_card(request_id="r", target_name=HOSTILE_NAME, active_until="later")
    assert card_problems(card) == []
    assert all(HOSTILE_NAME not in block for block in _text_blocks(card))
    runs = [str(run["text"]) for run in _text_runs(card)]
    assert any(run.startswith(HOSTILE_NAME + " already has") for run in runs)


def test_ordinary_sentences_are_not_escaped() -> None:
    card = outcome_card("Done.", ["It's valid until 1 Jul (Europe/London)."])
    assert card_problems(card) == []
    assert "\\" not in readable_text(card)
    assert "It's valid until 1 Jul (Europe/London)." in readable_text(card)


def test_a_name_cannot_add_lines_or_reverse_the_sentence() -> None:
    card = redacted_pass_card(target_name="Eve\n\u202eLiam  Carter\u0007", ends="b")
    assert "Temporary Access Pass for Eve Liam Carter" in readable_text(card)


@pytest.mark.parametrize(
    "alphabet", [TENANT_PASS_ALPHABET, TWIN_PASS_ALPHABET], ids=["tenant", "twin"]
)
def test_a_pass_with_every_character_of_the_alphabet_is_shown_exactly(alphabet: str) -> None:
    value = alphabet + "." + "\\"  # and the two characters Markdown escaping used to add
    card = pass_card(target_name="Liam Carter", value=value, starts="a", ends="b", one_time=True)
    assert card_problems(card) == []
    hidden = next(item for item in card["body"] if item.get("id") == "pass")
    (block,) = hidden["items"]
    assert block["type"] == "RichTextBlock"
    assert [run["text"] for run in block["inlines"]] == [value]
    assert block["inlines"][0]["fontType"] == "Monospace"
    assert all(value not in text for text in _text_blocks(card))


def test_the_pass_is_hidden_until_shown_and_gone_after_redaction() -> None:
    card = pass_card(
        target_name="Liam Carter", value="Ab3$xYz9", starts="a", ends="b", one_time=True
    )
    assert card_problems(card) == []
    hidden = next(item for item in card["body"] if item.get("id") == "pass")
    assert hidden["isVisible"] is False
    assert card["actions"] == [
        {"type": "Action.ToggleVisibility", "title": "Show pass", "targetElements": ["pass"]}
    ]
    redacted = redacted_pass_card(target_name="Liam Carter", ends="b")
    assert card_problems(redacted) == []
    assert "Ab3" not in json.dumps(redacted)


def test_outcome_cards_offer_another_request() -> None:
    card = outcome_card("No pass was requested", ["Because."], attention=True)
    assert card_problems(card) == []
    assert card["actions"][0]["verb"] == "request.open"


@pytest.mark.parametrize(
    ("minutes", "label"),
    [(60, "1 hour"), (480, "8 hours"), (1440, "1 day"), (2880, "2 days"), (90, "90 minutes")],
)
def test_lifetimes_read_naturally(minutes: int, label: str) -> None:
    assert lifetime_label(minutes) == label


def test_times_are_shown_in_the_configured_zone() -> None:
    moment = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert when(moment, ZoneInfo("Europe/London")) == "Wed 1 Jul 09:00 (Europe/London)"
