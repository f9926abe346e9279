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
    """Whether a person holds a role now (ACTIVE) or can come to hold it (ELIGIBLE)."""

    ACTIVE = "active"
    ELIGIBLE = "eligible"


class RoleSource(enum.StrEnum):
    """How a person comes to a directory role.

    Every source but DIRECT goes through a role-assignable group that holds the role (actively
    or as PIM-eligible): the person is its active member, its owner (who can add themselves),
    its PIM-eligible member or owner (PIM for Groups), or an active member of another group that
    is a PIM-eligible member of it.
    """

    DIRECT = "direct"
    GROUP_MEMBER = "group_member"
    GROUP_OWNER = "group_owner"
    GROUP_ELIGIBLE_MEMBER = "group_eligible_member"
    GROUP_ELIGIBLE_OWNER = "group_eligible_owner"
    NESTED_GROUP = "nested_group"


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    """A directory role a person holds now (ACTIVE) or may come to hold (ELIGIBLE).

    *via* says how; for a role that comes through a group, *via_group_id* and *via_group_name*
    name the role-assignable group that holds it. A role is ACTIVE only when the person holds
    it right now: assigned to them, or held actively by a group they are an active member of.
    """

    role_definition_id: str
    kind: RoleAssignmentKind
    directory_scope_id: str = "/"
    via: RoleSource = RoleSource.DIRECT
    via_group_id: str | None = None
    via_group_name: str | None = None


class ActorKind(enum.StrEnum):
    USER = "user"
    APP = "app"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a directory change, as the audit log's ``initiatedBy`` names them.

    For a person, *id* is their object id. For an app, *id* is its service principal id
    (its app id when the event gives no service principal) and *app_id* its application id.
    """

    kind: ActorKind
    id: str
    display_name: str = ""
    app_id: str | None = None

    def same_as(self, other: Actor | None) -> bool:
        """True when *other* is the same person or the same app (names aside)."""
        if other is None or other.kind is not self.kind:
            return False
        if self.id == other.id:
            return True
        return (
            self.kind is ActorKind.APP and self.app_id is not None and self.app_id == other.app_id
        )


@dataclass(frozen=True, slots=True)
class ManagerChange:
    """A "Set user manager" event from the directory audit log, as far as tapbot could read it.

    *readable* is False when the event concerns the person but its shape is not one tapbot
    understands: it then counts as a change of unknown origin, never as nothing.
    *old_manager_known* is False when the event does not say who the manager was before
    (*old_manager_id* None then means "unknown", not "none"). *changed_at* is None when the
    event's time was unreadable. *changed_by* is None when ``initiatedBy`` names nobody tapbot
    can read.
    """

    target_id: str
    changed_at: datetime | None
    old_manager_id: str | None
    new_manager_id: str | None
    changed_by: Actor | None = None
    old_manager_known: bool = True
    readable: bool = True

    @property
    def first_assignment(self) -> bool:
        """True when the event says, readably, that the person had no manager before."""
        return (
            self.readable
            and self.old_manager_known
            and self.old_manager_id is None
            and self.new_manager_id is not None
        )


@dataclass(frozen=True, slots=True)
class AccountCreation:
    """An "Add user" event from the directory audit log: when and by whom an account was made."""

    user_id: str
    created_at: datetime
    created_by: Actor | None = None


class ChangeEvidence(enum.StrEnum):
    """What shows that a person's manager changed recently."""

    # A "Set user manager" event in the directory audit log (it says when, from whom, by whom).
    AUDIT_LOG = "audit_log"
    # The manager differs from the one tapbot last saw, or did within the window: the audit
    # log lags by minutes, so tapbot's own record is what catches a change made a moment ago.
    TAPBOT_RECORD = "tapbot_record"
    # tapbot had never seen this person's manager (no baseline yet, or a person new since):
    # nothing shows the manager is not freshly set, so it counts as a change.
    NEVER_SEEN = "never_seen"
    # An audit event about this person's manager whose shape tapbot does not understand.
    UNREADABLE_AUDIT = "unreadable_audit"


@dataclass(frozen=True, slots=True)
class RecentManagerChange:
    """The newest manager change tapbot does not trust, within the change window.

    *changed_at* is the audit event's time, or when tapbot noticed the change.
    *previous_manager_id* is the manager before: None means "none" for AUDIT_LOG and
    TAPBOT_RECORD evidence and "unknown" for NEVER_SEEN and UNREADABLE_AUDIT (and for an audit
    event that did not say). *changed_by* is who made it when the audit log says; None while
    only tapbot's record shows the change.
    """

    changed_at: datetime
    previous_manager_id: str | None
    new_manager_id: str | None
    changed_by: Actor | None
    evidence: ChangeEvidence


@dataclass(frozen=True, slots=True)
class ManagerRecord:
    """tapbot's own record of a person's manager as last seen (the ``manager_records`` table).

    *changed_at* is when tapbot saw the manager become *manager_id*; None when it was already
    the manager when tapbot first looked at the whole directory (the baseline). *first_seen*
    says *changed_at* is when tapbot first saw the person at all, so *previous_manager_id* is
    unknown; otherwise it is the manager tapbot saw before (None: none). *seen_at* is when this
    record was written. *version* is the store's compare-and-set counter: 0 for a record not
    stored yet; the store returns it one higher on every write.
    """

    user_id: str
    manager_id: str | None
    seen_at: datetime
    changed_at: datetime | None = None
    previous_manager_id: str | None = None
    first_seen: bool = False
    version: int = 0


@dataclass(frozen=True, slots=True)
class ManagerSighting:
    """One user in a page of the users delta query.

    *manager_known* is False when the page did not say (Graph leaves ``manager@delta`` out when
    a manager is removed, and when something else about the user changed), so the manager must
    be read. *removed* is True for a deleted user (``@removed``).
    """

    user_id: str
    manager_id: str | None
    manager_known: bool = True
    removed: bool = False


@dataclass(frozen=True, slots=True)
class UsersDeltaPage:
    """One page of ``GET /users/delta``: its users and either the next page or the delta link."""

    users: tuple[ManagerSighting, ...]
    next_link: str | None = None
    delta_link: str | None = None


@dataclass(frozen=True, slots=True)
class UsersDeltaState:
    """Where tapbot's reading of the users delta query stands (the ``users_delta`` row).

    *link* is the next page to read: a nextLink inside a round, the deltaLink between rounds;
    None starts a new full round. *full_round* says the round in progress enumerates every
    user (the baseline, or a resync after 410). *baseline_at* is when the first full round
    completed: until then no record exists for most people. *polled_at* is when a round last
    completed.
    """

    link: str | None = None
    full_round: bool = True
    baseline_at: datetime | None = None
    polled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MailMessage:
    """An HTML email sent from the configured mailbox. Its body may carry a pass, so its
    ``repr`` leaves the body out."""

    sender: str
    to: tuple[str, ...]
    subject: str
    html_body: str = field(repr=False)
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


class RequestKind(enum.StrEnum):
    """In what capacity a request was made; it decides the relationship rule and the stages."""

    MANAGER = "manager"  # for a direct report (or, for a guest, as their sponsor)
    HELPDESK = "helpdesk"  # by a helpdesk member, for anyone eligible
    JOINER = "joiner"  # a joiner reminder answered by the manager


class ApproverKind(enum.StrEnum):
    """Who may decide an approval stage."""

    HELPDESK = "helpdesk"  # a member of the helpdesk group other than the requester
    MANAGER = "manager"  # the target's manager at the time of the decision
    GROUP = "group"  # a member of a named group


@dataclass(frozen=True, slots=True)
class Stage:
    """One approval stage of a request: who may decide it and how long it may wait."""

    approver: ApproverKind
    timeout_minutes: int
    group_id: str = ""

    @property
    def timeout(self) -> timedelta:
        return timedelta(minutes=self.timeout_minutes)


@dataclass(frozen=True, slots=True)
class Decision:
    """An approver's decision on stage *stage* (1-based). A denial always has a *reason*."""

    stage: int
    approved: bool
    decider_id: str
    decider_name: str
    at: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ApprovalContext:
    """What an approver needs to know about the target, as read when the request was made.

    Names are display names from the directory. *manager_changed_at* and the two names after it
    describe a recent manager change (the reason a manager's request needs the helpdesk);
    *existing_pass_ends_at* is set when the target already had a live pass.
    *joiner_hire_day* (ISO date) is the hire day a day-one pass is for, when the request
    answers a joiner reminder: if the directory's hire date has moved by the time the pass is
    issued, it is not.
    """

    target_job_title: str = ""
    target_manager_name: str = ""
    manager_changed_at: datetime | None = None
    previous_manager_name: str = ""
    manager_changed_by: str = ""
    manager_change_evidence: str = ""
    existing_pass_ends_at: datetime | None = None
    joiner_hire_day: str = ""


@dataclass(frozen=True, slots=True)
class TapRequest:
    """A request for a pass, as the store keeps it (never with the pass value).

    *version* grows by one on every transition; the store uses it for compare-and-set.
    *stages* is the approval plan fixed when the request was made; *stage* is the 1-based stage
    waiting for a decision while the request is ``pending_approval`` (0 otherwise) and
    *stage_due_at* when that stage expires; *decisions* holds every decision so far.
    *pass_id* is Graph's id of the issued pass, and *issuing_started_at*/*issuing_ended_at*
    bracket the pass creation, so a crash or a lost answer can be cleaned up without touching
    any other pass. *card_ref* is the Teams layer's opaque reference to the requester's card.
    *typed_number* is the mobile number (E.164) the requester typed for a text message, used
    instead of the directory's (only where SMS_ALLOW_TYPED_NUMBER allows it); None: the
    directory's. *delivered_to* is where the pass went once delivered, masked
    (``+44 •••• ••01 11``, ``l•••@example.net``); empty before, and for the chats.
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
    kind: RequestKind = RequestKind.MANAGER
    stages: tuple[Stage, ...] = ()
    decisions: tuple[Decision, ...] = ()
    stage_due_at: datetime | None = None
    context: ApprovalContext = ApprovalContext()
    issuing_started_at: datetime | None = None
    issuing_ended_at: datetime | None = None
    typed_number: str | None = None
    delivered_to: str = ""

    @property
    def current_stage(self) -> Stage | None:
        """The stage waiting for a decision, or None when none is."""
        if self.state is not RequestState.PENDING_APPROVAL or not 1 <= self.stage <= len(
            self.stages
        ):
            return None
        return self.stages[self.stage - 1]


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
class RateLimit:
    """At most *limit* events since *since*."""

    limit: int
    since: datetime


# The audience of the requester's own copy of a request's card (`RequestMessage.audience`).
REQUESTER_COPY = "requester"


def approval_copy(audience: str, stage: int) -> str:
    """The audience of an approval card's copy for *stage*: ``channel@2``, ``approver@1``."""
    return f"{audience}@{stage}"


def copy_stage(audience: str) -> int | None:
    """The stage an approval card's copy was posted for; None for the requester's copy and
    for copies remembered before copies named their stage."""
    _, at, stage = audience.rpartition("@")
    return int(stage) if at and stage.isdigit() else None


@dataclass(frozen=True, slots=True)
class RequestMessage:
    """A posted copy of a request's card (the requester's, a channel's, an approver's), kept so
    every copy can be updated when the request moves on.

    *reference* is the Teams layer's serialised conversation reference, opaque here; *audience*
    is ``requester`` (`REQUESTER_COPY`), or ``channel`` or ``approver`` with the stage the
    approval card was posted for (`approval_copy`).
    """

    request_id: str
    audience: str
    activity_id: str
    reference: Mapping[str, Any]
    posted_at: datetime


class Unseen(enum.StrEnum):
    """Why an approval card reached nobody who may decide its stage (the audit reason)."""

    NO_HELPDESK_CHANNEL = "no_helpdesk_channel"  # none set, and tapbot not installed in one
    NO_CHANNEL_ROUTE = "no_channel_route"  # a channel, but no chat with tapbot to reach it by
    NO_APPROVER_CHAT = "no_approver_chat"  # the stage's approver has no chat with tapbot
    TEAMS_ERROR = "teams_error"  # Teams refused or failed every post


@dataclass(frozen=True, slots=True)
class ApprovalPosting:
    """How many approval cards went out for a stage; when none did, *unseen* says why."""

    posted: int
    unseen: Unseen | None = None


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
    """Where a delivered pass now sits, so the message can be redacted later, and the
    provider's receipt for the audit trail.

    *conversation_key* and *activity_id* are empty for channels that cannot be edited (SMS,
    email). *provider* names who carried it (``teams``, ``twilio``, ``acs``, ``graph``);
    *reference* is its id for the message (Twilio's sid, ACS's message id; Graph's sendMail
    gives none); *destination* is where it went, masked (``+44 •••• ••01 11``). None of them
    is ever the pass.
    """

    method: DeliveryMethod
    conversation_key: str = ""
    activity_id: str = ""
    provider: str = ""
    reference: str = ""
    destination: str = ""
