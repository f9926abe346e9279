"""The ports the domain needs from the outside world, as Protocols.

Each has a real adapter (Graph over httpx, SQLAlchemy, Teams) and an in-memory twin that passes
the same contract tests. Every method may raise the errors in `bot.domain.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from bot.domain.audit_query import AuditCursor
from bot.domain.delivery_options import ChatReach
from bot.domain.joiners import (
    Joiner,
    JoinerClaim,
    JoinerEvent,
    JoinerState,
    Reminder,
    ReminderReceipt,
    SweepRun,
    SweepState,
)
from bot.domain.model import (
    AccountCreation,
    ApprovalPosting,
    AuditEvent,
    ConversationRecord,
    DeliveryReceipt,
    DirectoryUser,
    IssuedPass,
    MailMessage,
    ManagerChange,
    ManagerRecord,
    PassInfo,
    RateLimit,
    RequestMessage,
    RequestState,
    RoleAssignment,
    ScheduledEdit,
    TapPolicy,
    TapRequest,
    UsersDeltaPage,
    UsersDeltaState,
)
from bot.domain.request_query import RequestCursor


class Clock(Protocol):
    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


class Directory(Protocol):
    """Read access to the tenant's directory (Microsoft Graph)."""

    async def get_user(self, user_id: str) -> DirectoryUser:
        """Return the user with object id or UPN *user_id*; raise DirectoryObjectNotFound."""
        ...

    async def get_manager(self, user_id: str) -> DirectoryUser | None:
        """Return *user_id*'s manager, or None when they have none."""
        ...

    async def list_direct_reports(self, user_id: str) -> list[DirectoryUser]:
        """Return every direct report of *user_id* (all pages)."""
        ...

    async def search_users(self, text: str, *, limit: int = 20) -> list[DirectoryUser]:
        """Return up to *limit* users whose name, UPN or mail starts with *text*."""
        ...

    async def list_sponsors(self, user_id: str) -> list[DirectoryUser]:
        """Return the sponsors of guest *user_id*."""
        ...

    async def member_of_groups(self, user_id: str, group_ids: Sequence[str]) -> set[str]:
        """Return the subset of *group_ids* that *user_id* belongs to, transitively."""
        ...

    async def list_group_members(self, group_id: str, *, limit: int = 100) -> list[str]:
        """Return the object ids of up to *limit* users in *group_id*, transitively."""
        ...

    async def list_role_assignments(self, user_id: str) -> list[RoleAssignment]:
        """Return every directory role *user_id* holds or may come to hold, in no set order.

        Directly: active assignments and PIM eligibilities. Through a role-assignable group
        that holds a role (actively or as eligible): being its active member, its owner, its
        PIM-eligible or PIM-assigned member or owner (PIM for Groups), or an active member of
        a group that is a PIM-eligible member of it. Each `RoleAssignment` says which group and
        how; see `RoleAssignment` for when it is ACTIVE.

        All or nothing: when any part cannot be read, raise the DirectoryError (a partial list
        would under-report). An unknown user is DirectoryObjectNotFound.
        """
        ...

    async def manager_changes(self, user_id: str, since: datetime) -> list[ManagerChange]:
        """Return the "Set user manager" audit events that changed *user_id*'s manager since
        *since*, newest first (unreadable times first). An event about *user_id* whose shape is
        not understood comes back with ``readable=False``; it is never dropped."""
        ...

    async def account_created(self, user_id: str, since: datetime) -> AccountCreation | None:
        """Return the newest "Add user" audit event for *user_id* since *since*, or None."""
        ...

    async def users_delta_page(self, link: str | None) -> UsersDeltaPage:
        """Read one page of the users delta query (each user's manager): the first page of a
        new full round when *link* is None, else the page at *link*, a next or delta link from
        an earlier page. Raise DirectoryDeltaExpired when the link can no longer be used."""
        ...

    def list_joiners(
        self,
        hired_from: datetime,
        hired_until: datetime,
        *,
        departments: Sequence[str] = (),
        companies: Sequence[str] = (),
    ) -> AsyncIterator[Joiner]:
        """Yield the enabled members whose employeeHireDate is in [*hired_from*,
        *hired_until*] (both inclusive), of one of *departments* and one of *companies* when
        those are given (exact names, case-insensitive), in no particular order.

        The directory is read page by page as the caller iterates, holding one page at a
        time. An unreadable hire date gives a `Joiner` without one (and its text); a failure
        to read a page raises DirectoryError from the iteration.
        """
        ...

    async def is_app_installed_for(self, user_id: str, teams_app_id: str) -> bool:
        """Tell whether the Teams app *teams_app_id* is installed in *user_id*'s personal scope."""
        ...

    async def install_app_for(self, user_id: str, teams_app_id: str) -> None:
        """Install the Teams app for *user_id* (idempotent: already installed is success)."""
        ...

    async def personal_chat_id(self, user_id: str, teams_app_id: str) -> str | None:
        """Return the id of the 1:1 chat between *user_id* and the Teams app *teams_app_id*
        (``19:…@unq.gbl.spaces``), or None when the app is not installed for them."""
        ...


class PassIssuer(Protocol):
    """Temporary Access Pass administration (Microsoft Graph authentication methods)."""

    async def get_policy(self) -> TapPolicy:
        """Return the tenant's TAP policy."""
        ...

    async def list_passes(self, user_id: str) -> list[PassInfo]:
        """Return *user_id*'s passes (at most one exists in Entra), never their values."""
        ...

    async def create_pass(
        self,
        user_id: str,
        *,
        lifetime_minutes: int,
        is_usable_once: bool,
        start_at: datetime | None,
    ) -> IssuedPass:
        """Create a pass for *user_id*; Entra replaces any existing one. Raises DirectoryRejected
        with Graph's code when the policy forbids the parameters."""
        ...

    async def delete_pass(self, user_id: str, pass_id: str) -> None:
        """Delete pass *pass_id*; deleting one that no longer exists is success."""
        ...


class Mailer(Protocol):
    async def send_mail(self, message: MailMessage) -> None:
        """Send *message* from its sender mailbox (Graph sendMail)."""
        ...


class Store(Protocol):
    """Durable state: requests, audit, conversation references, job claims, scheduled edits.

    Transitions are compare-and-set so several bot processes can share one store safely.
    """

    async def ping(self) -> None:
        """Raise StoreError unless the database answers."""
        ...

    # Requests
    async def add_request(
        self, request: TapRequest, *, target_limit: RateLimit | None = None
    ) -> None:
        """Insert a new request; raise StoreConflict if its id exists, or if it is approved or
        issuing while another request for the same target is (one pass in flight per person).

        With *target_limit*, first count the requests for the same target created since
        ``target_limit.since`` and raise LimitReached when there are ``limit`` or more; the
        count and the insert are one atomic step, also across processes."""
        ...

    async def get_request(self, request_id: str) -> TapRequest | None: ...

    async def transition(
        self,
        request_id: str,
        *,
        expected: Iterable[RequestState],
        new_state: RequestState,
        at: datetime,
        changes: Mapping[str, Any] | None = None,
        expected_stage: int | None = None,
    ) -> TapRequest:
        """Move a request to *new_state* if it is in one of *expected* (and, when given, at
        stage *expected_stage*), applying *changes* (other TapRequest fields) and bumping
        ``version``. Raise StoreConflict otherwise, or if the move would make a second
        approved/issuing request for the same target. Exactly one of several concurrent callers
        wins."""
        ...

    async def update_request(self, request_id: str, *, changes: Mapping[str, Any]) -> TapRequest:
        """Change fields of a request without changing its state (e.g. its card reference)."""
        ...

    async def list_requests(
        self,
        *,
        requester_id: str | None = None,
        target_id: str | None = None,
        states: Iterable[RequestState] | None = None,
        created_since: datetime | None = None,
        updated_before: datetime | None = None,
        due_before: datetime | None = None,
        reasons: Iterable[str] | None = None,
        after: RequestCursor | None = None,
        oldest_first: bool = False,
        limit: int = 100,
    ) -> list[TapRequest]:
        """Return matching requests ordered by (created_at, id), newest first (oldest first
        with *oldest_first*).

        *updated_before* and *due_before* select requests last moved, or whose pending stage
        expires, at or before that moment (work that is due); *reasons* matches ``reason``.
        With *after* only requests past that position in the order read are returned (older
        than it newest first, newer than it oldest first): the next page of a keyset walk."""
        ...

    async def count_requests(
        self,
        *,
        requester_id: str | None = None,
        target_id: str | None = None,
        created_since: datetime,
    ) -> int:
        """Count requests created since *created_since* (for rate limits)."""
        ...

    async def add_request_message(self, message: RequestMessage) -> None:
        """Remember a posted copy of a request's card."""
        ...

    async def list_request_messages(self, request_id: str) -> list[RequestMessage]:
        """Return every remembered copy of *request_id*'s cards, oldest first."""
        ...

    # Rate limits
    async def admit(self, bucket: str, key: str, *, at: datetime, limit: RateLimit) -> bool:
        """Record one event for (*bucket*, *key*) at *at* unless ``limit.limit`` events or more
        were recorded since ``limit.since``; True when recorded. Atomic across processes."""
        ...

    async def prune_rate_events(self, before: datetime) -> int:
        """Forget rate-limit events older than *before*; return how many."""
        ...

    # Audit
    async def append_audit(self, event: AuditEvent) -> AuditEvent:
        """Append *event* and return it with its id. Audit rows are never updated or deleted."""
        ...

    async def list_audit(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        target_id: str | None = None,
        actor_id: str | None = None,
        outcome: str | None = None,
        action: str | None = None,
        after: AuditCursor | None = None,
        oldest_first: bool = False,
        limit: int = 100,
    ) -> list[AuditEvent]:
        """Return at most *limit* audit events in [since, until) matching every filter given,
        ordered by (at, id): newest first, or oldest first when *oldest_first*.

        With *after* (`AuditCursor.after` of the last event of the previous page, read in the
        same order) the page starts just past that event: the next page of a keyset walk,
        which neither skips nor repeats events however many share a timestamp."""
        ...

    # Conversation references
    async def save_conversation(self, record: ConversationRecord) -> None:
        """Insert or replace the reference stored under ``record.key``."""
        ...

    async def get_conversation(self, key: str) -> ConversationRecord | None: ...

    async def list_conversations(
        self, prefix: str, *, limit: int = 100
    ) -> list[ConversationRecord]:
        """Return references whose key starts with *prefix*, most recently saved first."""
        ...

    # Exactly-once job runs
    async def claim(self, job: str, run_key: str, owner: str, at: datetime) -> bool:
        """Claim run *run_key* of *job* for *owner*; True for exactly one caller ever."""
        ...

    # tapbot's record of each person's manager
    async def manager_records(self, user_ids: Collection[str]) -> dict[str, ManagerRecord]:
        """Return the records of those of *user_ids* tapbot has one for, by user id."""
        ...

    async def save_manager_record(self, record: ManagerRecord) -> ManagerRecord | None:
        """Compare-and-set: store *record* if the stored one still has ``record.version`` (0:
        none stored yet) and return it as stored, one version higher; return None, changing
        nothing, when another writer got there first. Exactly one of several concurrent
        writers of the same version wins."""
        ...

    # The users delta query's progress, read by one process at a time
    async def users_delta_state(self) -> UsersDeltaState:
        """Return where reading the users delta stands (an empty state before the first read)."""
        ...

    async def claim_users_delta(
        self, owner: str, now: datetime, lease_until: datetime
    ) -> UsersDeltaState | None:
        """Take the lease on reading the users delta for *owner* until *lease_until* and return
        the state, or None when another owner holds an unexpired lease. Exactly one of several
        concurrent claimants wins; *owner* may renew its own lease."""
        ...

    async def save_users_delta(
        self, owner: str, state: UsersDeltaState, lease_until: datetime
    ) -> bool:
        """Store *state* and extend the lease, if *owner* still holds it; False otherwise."""
        ...

    async def release_users_delta(self, owner: str) -> None:
        """Give up *owner*'s lease (nothing happens if it holds none)."""
        ...

    # Joiner reminders: one event per (joiner, hire day), one sweep run per day
    async def claim_joiner(
        self,
        joiner_id: str,
        hire_day: date,
        owner: str,
        *,
        now: datetime,
        lease_until: datetime,
    ) -> JoinerClaim:
        """Claim the event of *joiner_id* and *hire_day* for *owner*, creating it if new.

        Won (the event is then ``claimed`` by *owner* until *lease_until*, attempts + 1) when
        the event is new, ``open``, ``claimed`` under a lease that ended by *now*, or
        ``snoozed`` with ``remind_at`` by *now*. Otherwise lost, with the event as it stands.
        Exactly one of several concurrent claimers wins."""
        ...

    async def move_joiner(
        self,
        joiner_id: str,
        hire_day: date,
        *,
        expected: Iterable[JoinerState],
        new_state: JoinerState,
        at: datetime,
        owner: str | None = None,
        changes: Mapping[str, Any] | None = None,
    ) -> JoinerEvent:
        """Move the event to *new_state* if it is in one of *expected* (and held by *owner*,
        when given), applying *changes* (owner, lease_until, remind_at, recipient,
        recipient_id, conversation_key, activity_id, reason, details); ``updated_at`` becomes
        *at* and ``version`` grows by one. StoreConflict otherwise; ValueError for other
        fields."""
        ...

    async def get_joiner(self, joiner_id: str, hire_day: date) -> JoinerEvent | None: ...

    async def claim_sweep(
        self, day: date, owner: str, *, now: datetime, lease_until: datetime
    ) -> bool:
        """Claim the daily sweep of *day* for *owner* until *lease_until*: True when *day* has
        no run yet, or a run that is not done and whose ``lease_until`` has passed by *now*
        (an instance died mid-run, or a failed run is due for retry). One winner."""
        ...

    async def renew_sweep(self, day: date, owner: str, *, lease_until: datetime) -> bool:
        """Extend *owner*'s running sweep of *day*; False when it is no longer theirs."""
        ...

    async def finish_sweep(
        self,
        day: date,
        owner: str,
        *,
        state: SweepState,
        at: datetime,
        retry_at: datetime | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> bool:
        """End *owner*'s running sweep of *day* as ``done`` or ``failed``; a failed run may be
        claimed again from *retry_at* (default *at*). False when it was not theirs."""
        ...

    async def get_sweep(self, day: date) -> SweepRun | None: ...

    # Scheduled message edits
    async def schedule_edit(self, edit: ScheduledEdit) -> None: ...

    async def due_edits(self, now: datetime, *, limit: int = 100) -> list[ScheduledEdit]:
        """Return edits whose due time has passed and that are not done, oldest first."""
        ...

    async def mark_edit_done(self, edit_id: str) -> bool:
        """Mark an edit done; True only for the caller that changed it (compare-and-set)."""
        ...


class RequestBoard(Protocol):
    """Where people see a request: the requester's card, and the approval cards in the helpdesk
    channel and in approvers' chats. Every method is best effort: a Teams failure is logged and
    never undoes a state change (the request's state lives in the store)."""

    async def ask_for_approval(
        self, request: TapRequest, *, approver_ids: Sequence[str]
    ) -> ApprovalPosting:
        """Post the approval card for *request*'s current stage where its deciders will see it
        (the helpdesk channel for a group stage, the approvers' 1:1 chats given in
        *approver_ids*), remember each copy, and say how many were posted; when none was, why
        (`Unseen`). Never raises for a Teams failure."""
        ...

    async def show(self, request: TapRequest) -> None:
        """Bring every remembered copy of *request*'s cards up to date with *request*."""
        ...


class PassDelivery(Protocol):
    """Hands a freshly issued pass to the person who should have it."""

    async def cannot_deliver(self, request: TapRequest) -> str | None:
        """Why ``request.delivery`` cannot reach the person now, as a sentence for the
        requester, or None when it can. Sends nothing and never raises for an outside failure
        (one that keeps it from telling is a reason). Asked right before a pass is created: the
        directory may have changed while an approval waited."""
        ...

    async def deliver(self, request: TapRequest, issued: IssuedPass) -> DeliveryReceipt:
        """Deliver *issued* for *request* by ``request.delivery``; raise DeliveryFailed when it
        cannot be delivered (the caller then deletes the pass)."""
        ...

    async def redact(self, edit: ScheduledEdit) -> None:
        """Replace a delivered pass's message with one that no longer shows the pass."""
        ...

    async def notify(self, user_id: str, text: str) -> bool:
        """Tell *user_id* something in their 1:1 chat; False when the bot cannot reach them."""
        ...


class JoinerReminders(Protocol):
    """Puts a joiner reminder card in front of the person who should act on it."""

    async def to_manager(self, reminder: Reminder) -> ReminderReceipt:
        """Send *reminder* to ``reminder.manager`` in their 1:1 chat with the bot, opening that
        chat first when it can (installing the app for them). Raise ReminderUndeliverable
        when they cannot be reached."""
        ...

    async def to_helpdesk(self, reminder: Reminder) -> ReminderReceipt:
        """Post *reminder* in the helpdesk channel; raise ReminderUndeliverable when there is
        none the bot can post in."""
        ...


class ChatReachability(Protocol):
    """What tapbot knows about reaching a person in Teams, for the delivery choices."""

    async def chat_reach(self, user_id: str) -> ChatReach:
        """A stored conversation with *user_id*, else whether tapbot's app is installed for
        them (None when it could not be told). Never raises for a directory failure."""
        ...
