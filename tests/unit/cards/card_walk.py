"""Walking a card dict, to see where each piece of text ended up."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def elements(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict with a "type" inside *node* (elements, inlines, actions)."""
    if isinstance(node, dict):
        if "type" in node:
            yield node
        for value in node.values():
            yield from elements(value)
    elif isinstance(node, list):
        for item in node:
            yield from elements(item)


def texts(card: dict[str, Any], kind: str) -> list[str]:
    """The text of every element of *kind* ("TextBlock", "TextRun")."""
    return [e["text"] for e in elements(card) if e["type"] == kind]


def actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in elements(card) if e["type"] == "Action.Execute"]
