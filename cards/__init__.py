"""Adaptive Card builders: pure functions from a view-model to a card dict (schema 1.5).

Cards are built with ``adaptive-cards-py``'s typed models and returned as plain JSON-ready
dicts. Text that came from the directory or a person is untrusted: builders pass it through
`plain` so it cannot carry Markdown links or formatting into the card.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, Literal

from adaptive_cards.card import AdaptiveCard

CARD_VERSION: Final[Literal["1.5"]] = "1.5"

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~])")


def plain(text: str) -> str:
    """Escape *text* so Teams renders it literally (no Markdown, no links)."""
    return _MARKDOWN.sub(r"\\\1", text)


def to_plain(card: AdaptiveCard) -> dict[str, Any]:
    """Return *card* as a JSON-ready dict (enums as their string values)."""
    data: dict[str, Any] = json.loads(card.to_json())
    return data
