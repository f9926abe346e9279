"""Input checks every Store implementation applies the same way (the SQL store and its twin).

They raise ValueError for programming errors: a naive datetime, an unknown or read-only field
in *changes*, a negative limit, or text neither engine can keep (NUL, which PostgreSQL refuses,
and lone surrogates, which are not UTF-8).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.domain.model import (
    AuditEvent,
    ConversationRecord,
    DeliveryMethod,
    ManagerRecord,
    RequestState,
    ScheduledEdit,
    TapRequest,
    UsersDeltaState,
)

# Fields a caller may not set through `changes`: identity, the state machine's own columns, and
# updated_at, which only `transition` moves (to its *at*).
READ_ONLY_FIELDS = frozenset({"id", "state", "version", "created_at", "updated_at"})
REQUEST_FIELDS = frozenset(f.name for f in dataclasses.fields(TapRequest))
_TIME_FIELDS = frozenset({"start_at", "pass_ends_at", "created_at", "updated_at"})


def utc(value: datetime) -> datetime:
    """Return *value* in UTC; raise ValueError if it is naive."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("the store accepts timezone-aware datetimes only")
    return value.astimezone(UTC)


def optional_utc(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def text(value: str) -> str:
    """Return *value*; raise ValueError if it holds a NUL character or a lone surrogate."""
    if "\x00" in value:
        raise ValueError("the store cannot keep NUL characters in text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the store keeps valid Unicode text only (no lone surrogates)") from None
    return value


def limit(value: int) -> int:
    if value < 0:
        raise ValueError("limit must not be negative")
    return value


def states(values: Iterable[RequestState]) -> list[str]:
    return [RequestState(v).value for v in values]


def request(value: TapRequest) -> TapRequest:
    """Return *value* checked, with its times in UTC and its enums as enums."""
    return dataclasses.replace(
        value, **{name: _field(name, getattr(value, name)) for name in REQUEST_FIELDS}
    )


def changes(value: Mapping[str, Any]) -> dict[str, Any]:
    """Return *value* checked and normalised like `request` does for whole requests."""
    unknown = set(value) - REQUEST_FIELDS
    if unknown:
        raise ValueError(f"not TapRequest fields: {', '.join(sorted(unknown))}")
    read_only = set(value) & READ_ONLY_FIELDS
    if read_only:
        raise ValueError(f"fields changes may not set: {', '.join(sorted(read_only))}")
    return {name: _field(name, v) for name, v in value.items()}


def audit_event(value: AuditEvent) -> AuditEvent:
    """Return *value* checked, with ``at`` in UTC and ``detail`` a plain dict of str to str."""
    optional = (value.target_id, value.request_id, value.reason)
    for item in (value.action, value.outcome, value.actor_id, *optional):
        if item is not None:
            text(item)
    detail: dict[str, str] = {}
    for key, item in value.detail.items():
        if not (_is_text(key) and _is_text(item)):
            raise ValueError("audit detail maps text to text")
        detail[key] = item
    return dataclasses.replace(value, at=utc(value.at), detail=detail)


def conversation(value: ConversationRecord) -> ConversationRecord:
    """Return *value* checked, with ``reference`` a JSON-shaped copy."""
    return dataclasses.replace(
        value,
        key=text(value.key),
        tenant_id=text(value.tenant_id),
        reference=json_copy(value.reference),
        updated_at=utc(value.updated_at),
    )


def scheduled_edit(value: ScheduledEdit) -> ScheduledEdit:
    """Return *value* checked, with ``payload`` a JSON-shaped copy."""
    for item in (value.id, value.conversation_key, value.activity_id, value.kind):
        text(item)
    return dataclasses.replace(value, due_at=utc(value.due_at), payload=json_copy(value.payload))


def manager_record(value: ManagerRecord) -> ManagerRecord:
    """Return *value* checked, with its times in UTC; ValueError for a negative version."""
    for item in (value.user_id, value.manager_id, value.previous_manager_id):
        if item is not None:
            text(item)
    if value.version < 0:
        raise ValueError("a manager record's version is never negative")
    return dataclasses.replace(
        value, seen_at=utc(value.seen_at), changed_at=optional_utc(value.changed_at)
    )


def users_delta_state(value: UsersDeltaState) -> UsersDeltaState:
    """Return *value* checked, with its times in UTC."""
    if value.link is not None:
        text(value.link)
    return dataclasses.replace(
        value,
        baseline_at=optional_utc(value.baseline_at),
        polled_at=optional_utc(value.polled_at),
    )


def json_copy(value: Mapping[str, Any]) -> dict[str, Any]:
    """Return *value* as it comes back from a JSON column; raise ValueError if it is not JSON."""
    try:
        copy: dict[str, Any] = json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not storable as JSON: {type(exc).__name__}") from None
    return copy


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def _field(name: str, value: Any) -> Any:
    if name in _TIME_FIELDS:
        return optional_utc(value)
    if name == "delivery":
        return DeliveryMethod(value)
    if name == "state":
        return RequestState(value)
    if isinstance(value, str):
        return text(value)
    return value
