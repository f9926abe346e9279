"""Input checks for joiner events and sweeps that every Store applies the same way (the SQL
store and its twin); ValueError for programming errors, as in `bot.store.values`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from bot.domain.joiners import JoinerState
from bot.store.values import json_copy, optional_utc, text

# What `move_joiner` may change besides the state (which it sets) and its own bookkeeping
# (updated_at, version, attempts).
CHANGEABLE = frozenset(
    {
        "owner",
        "lease_until",
        "remind_at",
        "recipient",
        "recipient_id",
        "conversation_key",
        "activity_id",
        "reason",
        "details",
    }
)
_TIMES = frozenset({"lease_until", "remind_at"})


def day(value: date) -> date:
    """*value* if it is a calendar day; a datetime (a date subclass) is a mistake here."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError("a hire day or sweep day is a date, not a datetime")
    return value


def key(joiner_id: str, hire_day: date) -> tuple[str, date]:
    return text(joiner_id), day(hire_day)


def states(values: Iterable[JoinerState]) -> list[str]:
    return [JoinerState(v).value for v in values]


def changes(value: Mapping[str, Any]) -> dict[str, Any]:
    """*value* checked: only `CHANGEABLE` fields, times aware (stored in UTC), text storable,
    details JSON-shaped."""
    unknown = set(value) - CHANGEABLE
    if unknown:
        raise ValueError(
            f"joiner event fields that cannot be changed: {', '.join(sorted(unknown))}"
        )
    checked: dict[str, Any] = {}
    for name, item in value.items():
        if name in _TIMES:
            checked[name] = optional_utc(item)
        elif name == "details":
            checked[name] = json_copy(item)
        elif item is None or isinstance(item, str):
            checked[name] = None if item is None else text(item)
        else:
            raise ValueError(f"{name} must be text or None")
    return checked


def summary(value: Mapping[str, Any]) -> dict[str, Any]:
    return json_copy(value)
