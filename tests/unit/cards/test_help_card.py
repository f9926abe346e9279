from __future__ import annotations

import json

from cards.help import HelpView, help_card
from cards.text import readable_text
from cards.validation import card_problems

COMMANDS = (("help", "Show this card."),)


def _text(card: dict) -> str:
    return json.dumps(card)


def test_manager_is_told_how_many_people_they_manage() -> None:
    card = help_card(HelpView("Adele Vance", 4, False, True, COMMANDS, welcome=True))
    assert card_problems(card) == []
    assert "Hello Adele" in _text(card)
    assert "You manage 4 people" in _text(card)


def test_one_report_is_singular() -> None:
    card = help_card(HelpView("Ann Lee", 1, False, True, COMMANDS))
    assert "You manage 1 person " in _text(card)


def test_helpdesk_member_and_manager_see_both() -> None:
    text = _text(help_card(HelpView("Ann Lee", 2, True, True, COMMANDS)))
    assert "You manage 2 people" in text
    assert "helpdesk group" in text


def test_neither_is_told_whom_to_ask() -> None:
    text = _text(help_card(HelpView("Ann Lee", 0, False, True, COMMANDS)))
    assert "can't request passes" in text


def test_directory_failure_is_not_presented_as_no_rights() -> None:
    text = _text(help_card(HelpView("Ann Lee", 0, False, False, COMMANDS)))
    assert "couldn't read your details" in text
    assert "can't request passes" not in text


def test_unrecognised_text_gets_help_not_silence() -> None:
    card = help_card(HelpView("Ann Lee", 0, False, True, COMMANDS, unrecognised=True))
    assert "didn't recognise" in _text(card)
    assert card_problems(card) == []


def test_the_greeting_shows_the_name_literally_in_a_text_run() -> None:
    card = help_card(HelpView("*Ann*_Lee Smith", 0, False, True, COMMANDS))
    assert card_problems(card) == []
    opening = card["body"][0]
    assert opening["type"] == "RichTextBlock"
    assert opening["inlines"][0]["text"] == "Hello *Ann*_Lee, here is what I can do."
    assert "\\" not in readable_text(card)


def test_card_validation_reports_schema_and_size_problems() -> None:
    assert card_problems({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "Nope"}]})
    big = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [{"type": "TextBlock", "text": "x" * 30_000}],
    }
    assert any("Teams accepts at most" in p for p in card_problems(big))


def test_a_helpdesk_member_is_told_they_can_ask_for_anyone_and_gets_the_button() -> None:
    card = help_card(HelpView("Hana Desk", 0, True, True, COMMANDS))
    text = readable_text(card)
    assert "you can request a pass for anyone eligible" in text
    assert "not available" not in text
    assert [a["title"] for a in card["actions"]] == ["Request a pass"]


def test_someone_who_asked_too_often_is_told_why_their_rights_are_not_shown() -> None:
    card = help_card(HelpView("Ann Lee", 0, False, False, COMMANDS, slowed_down=True))
    text = readable_text(card)
    assert card_problems(card) == []
    assert "very often in the last hour" in text
    assert "couldn't read your details" not in text
    assert "actions" not in card
    assert "help: Show this card." in text
