"""Check a card dict against the Adaptive Card 1.5 schema and Teams' 28 KB limit."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema.validators import Draft6Validator

TEAMS_MAX_CARD_BYTES = 28 * 1024


@cache
def _validator() -> Draft6Validator:
    schema = json.loads(
        resources.files("adaptive_cards").joinpath("schemas/schema-1.5.json").read_text("utf-8")
    )
    return Draft6Validator(schema)


def card_problems(card: dict[str, Any]) -> list[str]:
    """Return every schema violation and size problem of *card*; empty when it is valid."""
    problems = [
        f"{'/'.join(str(p) for p in err.absolute_path) or 'card'}: {err.message}"
        for err in _validator().iter_errors(card)
    ]
    size = len(json.dumps(card).encode("utf-8"))
    if size > TEAMS_MAX_CARD_BYTES:
        problems.append(f"card is {size} bytes; Teams accepts at most {TEAMS_MAX_CARD_BYTES}")
    return problems
