"""Input checks every Store implementation applies the same way (the SQL store and its twin).

They raise ValueError for programming errors: a naive datetime, an unknown or read-only field
in *changes*, a negative limit, or text neither engine can keep (NUL, which PostgreSQL refuses,
and lone surrogates, which are not UTF-8).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.domain.model import (
    ApprovalContext,
    ApproverKind,
    AuditEvent,
    ConversationRecord,
    Decision,
    DeliveryMethod,
    ManagerRecord,
    RequestKind,
    RequestMessage,
    RequestState,
    ScheduledEdit,
    Stage,
    TapRequest,
    UsersDeltaState,
)

# Fields a caller may not set through `changes`: identity, the state machine's own columns, and
# updated_at, which only `transition` moves (to its *at*).
READ_ONLY_FIELDS = frozenset({"id", "state", "version", "created_at", "updated_at"})
REQUEST_FIELDS = frozenset(f.name for f in dataclasses.fields(TapRequest))
_TIME_FIELDS = frozenset(
    {
        "start_at",
        "pass_ends_at",
        "created_at",
        "updated_at",
        "stage_due_at",
        "issuing_started_at",
        "issuing_ended_at",
    }
)
# Fields kept as JSON columns: the approval plan, its decisions and the approver's context.
JSON_FIELDS = frozenset({"stages", "decisions", "context"})


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


def request_message(value: RequestMessage) -> RequestMessage:
    """Return *value* checked, with ``reference`` a JSON-shaped copy."""
    for item in (value.request_id, value.audience, value.activity_id):
        text(item)
    return dataclasses.replace(
        value, reference=json_copy(value.reference), posted_at=utc(value.posted_at)
    )


def column(name: str, value: Any) -> Any:
    """Return a request field's value as its column holds it (JSON-shaped for `JSON_FIELDS`)."""
    if isinstance(value, enum.Enum):
        return value.value
    if name == "stages":
        return [
            {
                "approver": s.approver.value,
                "timeout_minutes": s.timeout_minutes,
                "group_id": s.group_id,
            }
            for s in value
        ]
    if name == "decisions":
        return [
            {
                "stage": d.stage,
                "approved": d.approved,
                "decider_id": d.decider_id,
                "decider_name": d.decider_name,
                "at": utc(d.at).isoformat(),
                "reason": d.reason,
            }
            for d in value
        ]
    if name == "context":
        return {
            f.name: (v.isoformat() if isinstance(v, datetime) else v)
            for f in dataclasses.fields(ApprovalContext)
            if (v := getattr(value, f.name)) not in (None, "")
        }
    return value


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
    if name == "kind":
        return RequestKind(value)
    if name == "stages":
        return tuple(_stage(item) for item in value)
    if name == "decisions":
        return tuple(_decision(item) for item in value)
    if name == "context":
        return _context(value)
    if name == "delivery":
        return DeliveryMethod(value)
    if name == "state":
        return RequestState(value)
    if isinstance(value, str):
        return text(value)
    return value


def _stage(item: Stage | Mapping[str, Any]) -> Stage:
    if isinstance(item, Stage):
        return dataclasses.replace(item, approver=ApproverKind(item.approver))
    return Stage(
        approver=ApproverKind(item["approver"]),
        timeout_minutes=int(item["timeout_minutes"]),
        group_id=text(str(item.get("group_id") or "")),
    )


def _decision(item: Decision | Mapping[str, Any]) -> Decision:
    if isinstance(item, Decision):
        for part in (item.decider_id, item.decider_name, item.reason):
            text(part)
        return dataclasses.replace(item, at=utc(item.at))
    return Decision(
        stage=int(item["stage"]),
        approved=bool(item["approved"]),
        decider_id=text(str(item["decider_id"])),
        decider_name=text(str(item["decider_name"])),
        at=utc(datetime.fromisoformat(str(item["at"]))),
        reason=text(str(item.get("reason") or "")),
    )


def _context(item: ApprovalContext | Mapping[str, Any]) -> ApprovalContext:
    if isinstance(item, Mapping):
        fields = {f.name for f in dataclasses.fields(ApprovalContext)}
        item = ApprovalContext(**{k: v for k, v in item.items() if k in fields})
    values: dict[str, Any] = {}
    for f in dataclasses.fields(ApprovalContext):
        value = getattr(item, f.name)
        if f.name.endswith("_at"):
            if isinstance(value, str):
                value = datetime.fromisoformat(value)
            values[f.name] = optional_utc(value)
        else:
            values[f.name] = text(str(value or ""))
    return ApprovalContext(**values)
