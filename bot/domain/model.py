"""The things tapbot talks about: people in the directory, passes, requests and audit events.

Values are frozen dataclasses; times are timezone-aware UTC datetimes. A pass *value* appears in
exactly one type, `PassSecret`, whose ``repr`` and ``str`` never show it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """A user as the directory describes them (the fields tapbot reads, nothing more)."""

    id: str
    display_name: str
    user_principal_name: str
    account_enabled: bool = True
    user_type: str = "Member"
    job_title: str | None = None
    mail: str | None = None
    other_mails: tuple[str, ...] = ()
    mobile_phone: str | None = None
    employee_hire_date: datetime | None = None
    given_name: str | None = None

    @property
    def is_guest(self) -> bool:
        return self.user_type.lower() == "guest"


@dataclass(frozen=True, slots=True)
class TapPolicy:
    """The tenant's Temporary Access Pass policy (Graph's authentication method configuration).

    *include_group_ids* holds the group ids the policy targets; ``all_users`` is True when it
    targets everyone. *exclude_group_ids* are the groups it excludes.
    """

    enabled: bool
    default_lifetime_minutes: int
    minimum_lifetime_minutes: int
    maximum_lifetime_minutes: int
    is_usable_once: bool
    default_length: int
    all_users: bool = True
    include_group_ids: tuple[str, ...] = ()
    exclude_group_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PassInfo:
    """An existing Temporary Access Pass as Graph lists it: everything but its value."""

    id: str
    user_id: str
    created_at: datetime | None
    start_at: datetime
    lifetime_minutes: int
    is_usable_once: bool
    is_usable: bool
    usability_reason: str = ""

    @property
    def ends_at(self) -> datetime:
        return self.start_at + timedelta(minutes=self.lifetime_minutes)


class PassSecret:
    """A pass value in memory. It prints as ``PassSecret(***)`` everywhere; only `reveal` shows it.

    Never store it, log it or put it in an error; hand it to a delivery channel and drop it.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the pass value, for the one place that shows it to its recipient."""
        return self._value

    def __repr__(self) -> str:
        return "PassSecret(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PassSecret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("PassSecret", self._value))


@dataclass(frozen=True, slots=True)
class IssuedPass:
    """A pass just created: its description and, for this moment only, its secret value."""

    info: PassInfo
    secret: PassSecret


class RoleAssignmentKind(enum.StrEnum):
    ACTIVE = "active"
    ELIGIBLE = "eligible"


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    """A directory role held by a user, active now or PIM-eligible."""

    role_definition_id: str
    kind: RoleAssignmentKind
    directory_scope_id: str = "/"


@dataclass(frozen=True, slots=True)
class ManagerChange:
    """A "Set user manager" event from the directory audit log."""

    target_id: str
    changed_at: datetime
    old_manager_id: str | None
    new_manager_id: str | None
    initiated_by: str | None = None


@dataclass(frozen=True, slots=True)
class MailMessage:
    """An HTML email sent from the configured mailbox."""

    sender: str
    to: tuple[str, ...]
    subject: str
    html_body: str
    cc: tuple[str, ...] = ()


class RequestState(enum.StrEnum):
    """Where a pass request stands. `TERMINAL` holds the states nothing leaves."""

    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    ISSUING = "issuing"
    DELIVERED = "delivered"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"


TERMINAL_STATES = frozenset(
    {
        RequestState.DELIVERED,
        RequestState.DENIED,
        RequestState.EXPIRED,
        RequestState.CANCELLED,
        RequestState.FAILED,
    }
)


class DeliveryMethod(enum.StrEnum):
    CHAT_TO_REQUESTER = "chat_requester"
    CHAT_TO_TARGET = "chat_target"
    SMS = "sms"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class TapRequest:
    """A request for a pass, as the store keeps it (never with the pass value).

    *version* grows by one on every transition; the store uses it for compare-and-set.
    *pass_id* is Graph's id of the issued pass, so a crash between issuing and delivery can be
    cleaned up. *card_ref* is the Teams layer's opaque reference to the requester's card.
    """

    id: str
    requester_id: str
    requester_name: str
    target_id: str
    target_name: str
    lifetime_minutes: int
    is_usable_once: bool
    start_at: datetime | None
    delivery: DeliveryMethod
    justification: str
    state: RequestState
    created_at: datetime
    updated_at: datetime
    tenant_id: str = ""
    stage: int = 0
    version: int = 1
    replace_existing: bool = False
    pass_id: str | None = None
    pass_ends_at: datetime | None = None
    reason: str | None = None
    card_ref: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One append-only audit record: who did what, for whom, when, with what outcome and why.

    *detail* holds extra non-secret facts (lifetime, delivery method, Graph error code).
    """

    at: datetime
    action: str
    outcome: str
    actor_id: str
    target_id: str | None = None
    request_id: str | None = None
    reason: str | None = None
    detail: Mapping[str, str] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """Where the bot can reach someone proactively.

    *key* is ``user:<aad object id>`` for a person's 1:1 chat or ``channel:<id>`` for a channel;
    *reference* is the Teams layer's serialised conversation reference, opaque here.
    """

    key: str
    tenant_id: str
    reference: Mapping[str, Any]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ScheduledEdit:
    """A message to edit later (a delivered pass to redact at *due_at*)."""

    id: str
    due_at: datetime
    conversation_key: str
    activity_id: str
    kind: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    done: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """Where a delivered pass now sits, so the message can be redacted later.

    *conversation_key* and *activity_id* are empty for channels that cannot be edited (SMS).
    """

    method: DeliveryMethod
    conversation_key: str = ""
    activity_id: str = ""
