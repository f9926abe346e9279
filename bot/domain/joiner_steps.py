"""What the sweep does for one joiner, in this order:

1. a missing, unreadable or past hire date: skipped, reason audited; a hire day after the
   window: left for a later sweep; outside the optional group scope: not a joiner of ours;
2. the event (joiner, hire day) is claimed in the store under a lease. Already reminded,
   answered or interrupted mid-send: skipped as already handled (audited); claimed by
   another instance right now: left to it;
3. the joiner's facts are read (`gather_target_facts`) and checked with the manager as the
   requester (`check_target`): a live pass exists already, or the joiner may not get one:
   skipped, reason audited, and the claim given back so a later sweep looks again; roles
   that could not be read are a failure of this run (counted, so the schedule retries), and
   roles Graph throttled are waited for and read again like any throttled read;
4. with ``JOINER_AUTO_ISSUE``, the pass is asked for by email in the manager's name
   (`bot.domain.joiner_issue`), only for an account created at most
   ``JOINER_AUTO_MAX_ACCOUNT_AGE_DAYS`` days ago (its ``createdDateTime`` from the listing);
   the card then says what happened, or why not and offers the buttons;
5. the reminder goes to the manager's 1:1 chat; with no manager, a manager who has left or
   one the bot cannot reach, to the helpdesk channel. The event is ``sending`` during the send
   and ``reminded`` after it, so a crash in between is never sent again (it becomes
   ``unknown``, audited); a crash before it is retried once the lease has run out.

Graph and store failures propagate (after the claim is given back) for the sweep to count.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from dataclasses import dataclass, replace
from datetime import date, timedelta

from bot.domain.audit import Auditor
from bot.domain.eligibility import gather_target_facts
from bot.domain.errors import (
    DirectoryError,
    DirectoryObjectNotFound,
    DirectoryThrottled,
    ReminderUndeliverable,
    StoreConflict,
    StoreError,
)
from bot.domain.joiner_issue import JoinerIssuing, joiner_deliveries, joiner_terms
from bot.domain.joiners import (
    HelpdeskReason,
    Joiner,
    JoinerConfig,
    JoinerEvent,
    JoinerState,
    JoinerWindow,
    Placement,
    Recipient,
    Reminder,
    ReminderReceipt,
    SkipReason,
    day_one_start,
    place_joiner,
)
from bot.domain.model import DirectoryUser, TapPolicy, TapRequest
from bot.domain.policy import (
    PolicyConfig,
    Refusal,
    check_policy,
    check_target,
    existing_pass_needs_confirmation,
    needs_helpdesk_approval,
)
from bot.domain.ports import Clock, Directory, JoinerReminders, PassIssuer, Store

# Longer than one joiner's work takes at worst (Graph retries included): a sweep that died
# holding a claim gives it up after this.
JOINER_LEASE = timedelta(minutes=10)
ACTOR = "tapbot"


@dataclass(frozen=True, slots=True)
class SweepPorts:
    """What a sweep talks to."""

    directory: Directory
    pass_issuer: PassIssuer
    store: Store
    reminders: JoinerReminders
    auditor: Auditor
    clock: Clock
    # Set when JOINER_AUTO_ISSUE is on: asks for each joiner's pass before the card goes out.
    issuing: JoinerIssuing | None = None


class OutcomeKind(enum.StrEnum):
    REMINDED = "reminded"
    SKIPPED = "skipped"
    FAILED = "failed"
    UNDELIVERABLE = "undeliverable"
    BUSY = "busy"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class JoinerOutcome:
    """What the sweep did for one joiner (for the command line and the counts).

    *reason* is the audited reason of a skip or failure; *recipient_name* whom a reminder
    went to.
    """

    joiner_id: str
    name: str
    kind: OutcomeKind
    day: date | None = None
    days_until: int | None = None
    reason: str = ""
    recipient: Recipient | None = None
    recipient_name: str = ""


class Ignored(enum.Enum):
    """A joiner the sweep leaves alone without a word: not in the window yet, or out of scope."""

    AFTER_WINDOW = "after_window"
    OUT_OF_SCOPE = "out_of_scope"


class JoinerSteps:
    """One sweep's per-joiner work: its window, the tenant TAP policy read at its start, and
    the managers it has read (each once, however many joiners they have)."""

    def __init__(
        self,
        ports: SweepPorts,
        *,
        config: JoinerConfig,
        policy: PolicyConfig,
        owner: str,
        window: JoinerWindow,
        tap_policy: TapPolicy,
    ) -> None:
        self._p = ports
        self._config = config
        self._policy = policy
        self._owner = owner
        self._window = window
        self._tap_policy = tap_policy
        self._managers: dict[str, asyncio.Future[DirectoryUser | None]] = {}

    async def handle(self, joiner: Joiner) -> JoinerOutcome | Ignored:
        """Do everything for *joiner* (see the module docstring)."""
        user = joiner.user
        placed = place_joiner(joiner, self._window)
        if placed is None:
            return Ignored.AFTER_WINDOW
        if isinstance(placed, SkipReason):
            hired = user.employee_hire_date
            shown = hired.isoformat() if hired else joiner.hire_date_text or ""
            await self._audit_skip(user.id, placed, {"hire_date": shown})
            return _outcome(joiner, OutcomeKind.SKIPPED, reason=placed.value)
        group = self._config.group_id
        if group and group not in await self._p.directory.member_of_groups(user.id, [group]):
            return Ignored.OUT_OF_SCOPE
        now = self._p.clock.now()
        claim = await self._p.store.claim_joiner(
            user.id, placed.day, self._owner, now=now, lease_until=now + JOINER_LEASE
        )
        if not claim.won:
            return await self._not_ours(joiner, placed, claim.event)
        try:
            return await self._decide(joiner, placed)
        except (DirectoryError, StoreError):
            await self._release(user.id, placed.day)
            raise

    async def failed(self, joiner: Joiner, code: str) -> JoinerOutcome:
        """Audit that *joiner* could not be dealt with this time (*code* says why)."""
        # The outcome is reported all the same if the audit store is what failed.
        with contextlib.suppress(StoreError):
            await self._p.auditor.record(
                "joiner", "failed", actor_id=ACTOR, target_id=joiner.user.id, reason=code
            )
        return _outcome(joiner, OutcomeKind.FAILED, reason=code)

    async def _not_ours(
        self, joiner: Joiner, placed: Placement, event: JoinerEvent
    ) -> JoinerOutcome:
        now = self._p.clock.now()
        if event.state is JoinerState.SENDING and (
            event.lease_until is None or event.lease_until <= now
        ):
            # Its sender died mid-send. Whether the card arrived is unknown, so it is never
            # sent again.
            try:
                await self._p.store.move_joiner(
                    event.joiner_id,
                    event.hire_day,
                    expected=[JoinerState.SENDING],
                    new_state=JoinerState.UNKNOWN,
                    at=now,
                    owner=event.owner,
                )
            except StoreConflict:
                return _outcome(joiner, OutcomeKind.BUSY, placed)
            await self._p.auditor.record(
                "joiner",
                "outcome_unknown",
                actor_id=ACTOR,
                target_id=event.joiner_id,
                reason="interrupted_while_sending",
                detail={"hire_day": event.hire_day.isoformat()},
            )
            return _outcome(joiner, OutcomeKind.UNKNOWN, placed, reason="interrupted")
        if event.state in (JoinerState.CLAIMED, JoinerState.SENDING):
            return _outcome(joiner, OutcomeKind.BUSY, placed)
        detail = {"hire_day": placed.day.isoformat(), "state": event.state.value}
        await self._audit_skip(joiner.user.id, SkipReason.ALREADY_HANDLED, detail)
        return _outcome(joiner, OutcomeKind.SKIPPED, placed, reason=f"already {event.state.value}")

    async def _decide(self, joiner: Joiner, placed: Placement) -> JoinerOutcome:
        user = joiner.user
        now = self._p.clock.now()
        facts = await gather_target_facts(
            self._p.directory,
            self._p.pass_issuer,
            user.id,
            self._policy,
            now,
            policy=self._tap_policy,
        )
        day = {"hire_day": placed.day.isoformat()}
        found = facts.user
        if found is None:
            await self._release(user.id, placed.day)
            await self._audit_skip(user.id, SkipReason.NOT_ELIGIBLE, day | {"refusal": "gone"})
            return _outcome(joiner, OutcomeKind.SKIPPED, placed, reason="not found")
        live = existing_pass_needs_confirmation(facts.passes, now)
        if live is not None:
            await self._release(user.id, placed.day)
            detail = day | {"pass_ends_at": live.ends_at.isoformat()}
            await self._audit_skip(user.id, SkipReason.PASS_EXISTS, detail)
            return _outcome(joiner, OutcomeKind.SKIPPED, placed, reason="a pass exists")
        manager_id = facts.manager_id
        refusal = check_policy(self._tap_policy, self._policy) or check_target(
            manager_id or "", facts, self._policy, via_helpdesk=manager_id is None
        )
        if refusal is Refusal.ROLE_CHECK_FAILED:
            # Not knowing the roles is a failure of this run, not a verdict on the joiner:
            # the sweep counts it, so the schedule tries again.
            if facts.role_check_retry_after is not None:
                # Graph asked us to wait: the sweep waits and tries this joiner again, as for
                # any other throttled read (`handle` gives the claim back).
                raise DirectoryThrottled(
                    "Graph throttled the role check", retry_after=facts.role_check_retry_after
                )
            await self._release(user.id, placed.day)
            return await self.failed(joiner, refusal.value)
        if refusal is not None:
            await self._release(user.id, placed.day)
            await self._audit_skip(
                user.id, SkipReason.NOT_ELIGIBLE, day | {"refusal": refusal.value}
            )
            return _outcome(
                joiner, OutcomeKind.SKIPPED, placed, reason=f"not eligible: {refusal.value}"
            )
        reminder = Reminder(
            joiner_id=user.id,
            joiner_name=found.display_name or user.display_name,
            job_title=found.job_title,
            department=joiner.department,
            hire_day=placed.day,
            days_until=placed.days_until,
            starts_at=day_one_start(placed.day, self._config.timezone, now),
            manager=await self._manager(manager_id) if manager_id else None,
            deliveries=joiner_deliveries(found, self._config),
        )
        minutes, one_time = joiner_terms(self._tap_policy, self._policy, self._config)
        reminder = replace(reminder, lifetime_minutes=minutes, one_time=one_time)
        if self._p.issuing is not None:
            made = await self._p.issuing.automatically(reminder, account_created=joiner.created_at)
            reminder = (
                replace(reminder, request=made)
                if isinstance(made, TapRequest)
                else replace(reminder, notice=made)
            )
        changed = needs_helpdesk_approval(facts, self._policy, now) is not None
        return await self._send(joiner, placed, reminder, manager_changed=changed)

    async def _send(
        self, joiner: Joiner, placed: Placement, reminder: Reminder, *, manager_changed: bool
    ) -> JoinerOutcome:
        store, clock, key = self._p.store, self._p.clock, (reminder.joiner_id, reminder.hire_day)
        await store.move_joiner(
            *key,
            expected=[JoinerState.CLAIMED],
            new_state=JoinerState.SENDING,
            at=clock.now(),
            owner=self._owner,
            changes={"lease_until": clock.now() + JOINER_LEASE},
        )
        receipt, sent, why, maybe_sent = await self._deliver(reminder)
        detail = {"hire_day": placed.day.isoformat(), "days_until": str(placed.days_until)}
        if receipt is None:
            reason = "; ".join(why)
            await store.move_joiner(
                *key,
                expected=[JoinerState.SENDING],
                new_state=JoinerState.UNKNOWN if maybe_sent else JoinerState.OPEN,
                at=clock.now(),
                owner=self._owner,
                changes={"reason": reason[:500], "lease_until": None},
            )
            outcome = "outcome_unknown" if maybe_sent else "undeliverable"
            await self._p.auditor.record(
                "joiner",
                outcome,
                actor_id=ACTOR,
                target_id=reminder.joiner_id,
                reason=reason,
                detail=detail,
            )
            kind = OutcomeKind.UNKNOWN if maybe_sent else OutcomeKind.UNDELIVERABLE
            return _outcome(joiner, kind, placed, reason=reason)
        manager = reminder.manager
        request = reminder.request
        await store.move_joiner(
            *key,
            expected=[JoinerState.SENDING],
            new_state=JoinerState.REQUESTED if request else JoinerState.REMINDED,
            at=clock.now(),
            owner=self._owner,
            changes={
                # A requested event's owner is its request (`bot.domain.joiner_issue`).
                **({"owner": request.id} if request else {}),
                "lease_until": None,
                "recipient": receipt.recipient.value,
                "recipient_id": manager.id if manager else None,
                "conversation_key": receipt.conversation_key,
                "activity_id": receipt.activity_id,
                "reason": sent.helpdesk_reason.value if sent.helpdesk_reason else None,
                "details": sent.details(receipt.recipient),
            },
        )
        detail["recipient"] = receipt.recipient.value
        if sent.helpdesk_reason is not None:
            detail["helpdesk_reason"] = sent.helpdesk_reason.value
        if manager_changed:
            detail["manager_changed_recently"] = "true"
        if request is not None:
            detail["request_id"] = request.id
        await self._p.auditor.record(
            "joiner", "reminded", actor_id=ACTOR, target_id=reminder.joiner_id, detail=detail
        )
        to_manager = receipt.recipient is Recipient.MANAGER and manager is not None
        return _outcome(
            joiner,
            OutcomeKind.REMINDED,
            placed,
            reason=f"pass asked for automatically, {request.state.value}" if request else "",
            recipient=receipt.recipient,
            recipient_name=manager.display_name if to_manager and manager else "the helpdesk",
        )

    async def _deliver(
        self, reminder: Reminder
    ) -> tuple[ReminderReceipt | None, Reminder, list[str], bool]:
        """Send to the manager, else to the helpdesk. Returns the receipt (None when neither
        worked), the reminder as sent, why each try failed, and whether one may have
        arrived all the same (then nothing more is tried)."""
        manager = reminder.manager
        why: list[str] = []
        if manager is not None and manager.account_enabled:
            try:
                return await self._p.reminders.to_manager(reminder), reminder, why, False
            except ReminderUndeliverable as failure:
                why.append(f"manager: {failure.reason}")
                if failure.maybe_sent:
                    return None, reminder, why, True
            reason = HelpdeskReason.MANAGER_UNREACHABLE
        else:
            reason = HelpdeskReason.NO_MANAGER if manager is None else HelpdeskReason.MANAGER_LEFT
        to_helpdesk = replace(reminder, helpdesk_reason=reason)
        try:
            return await self._p.reminders.to_helpdesk(to_helpdesk), to_helpdesk, why, False
        except ReminderUndeliverable as failure:
            why.append(f"helpdesk: {failure.reason}")
            return None, to_helpdesk, why, failure.maybe_sent

    async def _manager(self, manager_id: str) -> DirectoryUser | None:
        """The manager, read once per sweep; None when the directory no longer knows them.
        A failed read is not kept: the next joiner of theirs tries again."""
        task = self._managers.get(manager_id)
        if task is None:
            task = asyncio.ensure_future(self._read_manager(manager_id))
            self._managers[manager_id] = task
        try:
            # Shielded: one joiner's cancellation must not cancel a read others wait for.
            return await asyncio.shield(task)
        except DirectoryError:
            if self._managers.get(manager_id) is task:
                del self._managers[manager_id]
            raise

    async def _read_manager(self, manager_id: str) -> DirectoryUser | None:
        try:
            return await self._p.directory.get_user(manager_id)
        except DirectoryObjectNotFound:
            return None

    async def _release(self, joiner_id: str, day: date) -> None:
        """Give the claim back (``open``) so a later sweep looks again."""
        try:
            await self._p.store.move_joiner(
                joiner_id,
                day,
                expected=[JoinerState.CLAIMED],
                new_state=JoinerState.OPEN,
                at=self._p.clock.now(),
                owner=self._owner,
                changes={"lease_until": None},
            )
        except StoreError:
            # Taken over after our lease ran out (StoreConflict), or the store is down: the
            # lease runs out and a later sweep claims it again either way.
            return

    async def _audit_skip(self, joiner_id: str, reason: SkipReason, detail: dict[str, str]) -> None:
        await self._p.auditor.record(
            "joiner",
            "skipped",
            actor_id=ACTOR,
            target_id=joiner_id,
            reason=reason.value,
            detail=detail,
        )


def _outcome(
    joiner: Joiner,
    kind: OutcomeKind,
    placed: Placement | None = None,
    *,
    reason: str = "",
    recipient: Recipient | None = None,
    recipient_name: str = "",
) -> JoinerOutcome:
    return JoinerOutcome(
        joiner_id=joiner.user.id,
        name=joiner.user.display_name,
        kind=kind,
        day=placed.day if placed else None,
        days_until=placed.days_until if placed else None,
        reason=reason,
        recipient=recipient,
        recipient_name=recipient_name,
    )
