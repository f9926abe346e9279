"""Literal text on cards: sentences of TextRuns, names on one line, values in monospace."""

from __future__ import annotations

from cards.text import Run, name, readable_text, rich, sentence, text, typed
from cards.validation import card_problems


def _card(*body: dict[str, object]) -> dict[str, object]:
    return {"type": "AdaptiveCard", "version": "1.5", "body": list(body)}


def test_a_sentence_merges_neighbouring_runs_of_one_style() -> None:
    built = sentence("Pass issued for ", name("Liam Carter"), ".")
    assert built.runs == (Run("Pass issued for Liam Carter."),)
    assert str(built) == "Pass issued for Liam Carter."


def test_typed_values_keep_their_own_monospace_run() -> None:
    built = sentence("Sign in as ", typed("liam@contoso.example"), " now.")
    assert built.runs == (
        Run("Sign in as "),
        Run("liam@contoso.example", monospace=True),
        Run(" now."),
    )


def test_a_rich_block_is_valid_and_styles_every_run() -> None:
    block = rich(sentence("Code ", typed("a*b_c")), size="Large", weight="Bolder", subtle=True)
    assert card_problems(_card(block)) == []
    assert block["inlines"] == [
        {"type": "TextRun", "text": "Code ", "size": "Large", "weight": "Bolder", "isSubtle": True},
        {
            "type": "TextRun",
            "text": "a*b_c",
            "size": "Large",
            "weight": "Bolder",
            "isSubtle": True,
            "fontType": "Monospace",
        },
    ]


def test_names_lose_control_and_bidi_characters_but_keep_joiners() -> None:
    assert name("  Ann\r\n\tLee\u202e \u0000").text == "Ann Lee"
    assert name("Ravi\u200dKumar").text == "Ravi\u200dKumar"


def test_readable_text_reads_blocks_runs_facts_and_actions() -> None:
    card = _card(
        text("Heading"),
        rich(sentence("For ", name("Ann"))),
        {"type": "FactSet", "facts": [{"title": "Valid", "value": "1 h"}]},
    ) | {"actions": [{"type": "Action.Execute", "title": "Go", "verb": "v"}]}
    assert readable_text(card) == "Heading\nFor Ann\nValid: 1 h\nGo"
