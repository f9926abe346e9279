"""Adaptive Card builders: pure functions from a view-model to a card dict (schema 1.5).

Cards are built as plain JSON-ready dicts (or with ``adaptive-cards-py``'s typed models, then
`to_plain`). Text that came from the directory or a person is untrusted and must be read
exactly: it goes into RichTextBlock TextRuns through `cards.text`, never into Markdown.
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from adaptive_cards.card import AdaptiveCard

CARD_VERSION: Final[Literal["1.5"]] = "1.5"
# Teams refuses a message whose card is larger than this.
TEAMS_MAX_CARD_BYTES: Final = 28 * 1024


def to_plain(card: AdaptiveCard) -> dict[str, Any]:
    """Return *card* as a JSON-ready dict (enums as their string values)."""
    data: dict[str, Any] = json.loads(card.to_json())
    return data


def card_bytes(card: dict[str, Any]) -> int:
    """The size of *card* as JSON, with non-ASCII text escaped (the larger, safer count)."""
    return len(json.dumps(card).encode("ascii"))


def card(
    body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    """An Adaptive Card (1.5) with *body*, *actions* when there are any, and *extra* top-level
    properties (``refresh``…)."""
    built: dict[str, Any] = {"type": "AdaptiveCard", "version": CARD_VERSION, "body": body}
    if actions:
        built["actions"] = actions
    return built | extra


def execute(title: str, verb: str, data: dict[str, str], **extra: Any) -> dict[str, Any]:
    """An Action.Execute (Universal Actions): the bot answers with the card that replaces this
    one. *data* travels back untrusted; the bot checks everything in it."""
    return {"type": "Action.Execute", "title": title, "verb": verb, "data": data, **extra}
