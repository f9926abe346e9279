"""The ports the domain needs from the outside world, as Protocols.

Each has a real adapter (Graph over httpx, SQLAlchemy, Teams) and an in-memory twin that passes
the same contract tests. Every method may raise the errors in `bot.domain.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

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
    AuditEvent,
    ConversationRecord,
    DeliveryReceipt,
    DirectoryUser,
    IssuedPass,
    MailMessage,
    ManagerChange,
    PassInfo,
    RequestState,
    RoleAssignment,
    ScheduledEdit,
    TapPolicy,
    TapRequest,
)


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

    async def list_role_assignments(self, user_id: str) -> list[RoleAssignment]:
        """Return *user_id*'s directory roles: active assignments and PIM-eligible ones."""
        ...

    async def manager_changes(self, user_id: str, since: datetime) -> list[ManagerChange]:
        """Return "Set user manager" audit events for *user_id* since *since*, newest first."""
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
    async def add_request(self, request: TapRequest) -> None:
        """Insert a new request; raise StoreConflict if its id exists, or if it is approved or
        issuing while another request for the same target is (one pass in flight per person)."""
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
    ) -> TapRequest:
        """Move a request to *new_state* if it is in one of *expected*, applying *changes*
        (other TapRequest fields) and bumping ``version``. Raise StoreConflict otherwise, or if
        the move would make a second approved/issuing request for the same target.
        Exactly one of several concurrent callers wins."""
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
        limit: int = 100,
    ) -> list[TapRequest]:
        """Return matching requests, newest first."""
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

    # Audit
    async def append_audit(self, event: AuditEvent) -> AuditEvent:
        """Append *event* and return it with its id. Audit rows are never updated or deleted."""
        ...

    async def list_audit(
        self, *, since: datetime | None = None, until: datetime | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        """Return audit events in [since, until), newest first."""
        ...

    # Conversation references
    async def save_conversation(self, record: ConversationRecord) -> None:
        """Insert or replace the reference stored under ``record.key``."""
        ...

    async def get_conversation(self, key: str) -> ConversationRecord | None: ...

    # Exactly-once job runs
    async def claim(self, job: str, run_key: str, owner: str, at: datetime) -> bool:
        """Claim run *run_key* of *job* for *owner*; True for exactly one caller ever."""
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

    async def find_conversations(self, prefix: str, *, limit: int = 10) -> list[ConversationRecord]:
        """Return stored conversations whose key starts with *prefix* (exact case), most
        recently updated first."""
        ...

    # Scheduled message edits
    async def schedule_edit(self, edit: ScheduledEdit) -> None: ...

    async def due_edits(self, now: datetime, *, limit: int = 100) -> list[ScheduledEdit]:
        """Return edits whose due time has passed and that are not done, oldest first."""
        ...

    async def mark_edit_done(self, edit_id: str) -> bool:
        """Mark an edit done; True only for the caller that changed it (compare-and-set)."""
        ...


class PassDelivery(Protocol):
    """Hands a freshly issued pass to the person who should have it."""

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
