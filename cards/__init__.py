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


def to_plain(card: AdaptiveCard) -> dict[str, Any]:
    """Return *card* as a JSON-ready dict (enums as their string values)."""
    data: dict[str, Any] = json.loads(card.to_json())
    return data
