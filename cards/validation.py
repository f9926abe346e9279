"""Check a card dict against the Adaptive Card 1.5 schema, as Teams extends it, and Teams'
28 KB limit.

Teams adds typeahead search to Input.ChoiceSet (the ``filtered`` style and ``choices.data``, a
``Data.Query`` the client sends to the bot as an ``application/search`` invoke; msteams-docs,
"Typeahead search in Adaptive Cards"); the schema below gains exactly those.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema.validators import Draft6Validator

from cards import TEAMS_MAX_CARD_BYTES, card_bytes


@cache
def _validator() -> Draft6Validator:
    schema = json.loads(
        resources.files("adaptive_cards").joinpath("schemas/schema-1.5.json").read_text("utf-8")
    )
    definitions = schema["definitions"]
    definitions["ChoiceInputStyle"]["anyOf"][0]["enum"].append("filtered")
    definitions["Input.ChoiceSet"]["properties"]["choices.data"] = {
        "type": "object",
        "properties": {
            "type": {"enum": ["Data.Query"]},
            "dataset": {"type": "string"},
            "count": {"type": "integer", "minimum": 1},
            "skip": {"type": "integer", "minimum": 0},
            "associatedInputs": {"$ref": "#/definitions/AssociatedInputs"},
        },
        "required": ["type", "dataset"],
        "additionalProperties": False,
    }
    return Draft6Validator(schema)


def card_problems(card: dict[str, Any]) -> list[str]:
    """Return every schema violation and size problem of *card*; empty when it is valid."""
    problems = [
        f"{'/'.join(str(p) for p in err.absolute_path) or 'card'}: {err.message}"
        for err in _validator().iter_errors(card)
    ]
    size = card_bytes(card)
    if size > TEAMS_MAX_CARD_BYTES:
        problems.append(f"card is {size} bytes; Teams accepts at most {TEAMS_MAX_CARD_BYTES}")
    return problems
