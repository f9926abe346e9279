"""Has this person's manager changed recently, in a way tapbot does not trust? Pure rules.

Whoever controls the manager attribute can ask for a pass as the manager, so a manager's
request for someone whose manager changed recently needs the helpdesk (PRODUCT.md). Three
sources say whether it did, and any one of them is enough:

- the directory audit log: a "Set user manager" event within the window (it says when, from
  whom, by whom, but appears minutes late and can be missing);
- tapbot's own record of each person's manager as last seen (`ManagerRecord`): a manager that
  differs from the record is a change made *now*, and a record that changed within the window
  is a change even after the record has caught up;
- a person tapbot has never seen: nothing shows their manager was not set a moment ago.

An audit event about the person's manager whose shape tapbot cannot read counts as a change of
unknown origin. Only one kind of change is trusted: a joiner's first manager (see
`trusted_first_assignment`). Everything here is plain functions over values; the reads and the
writes are `bot.domain.manager_check` and `bot.domain.manager_sync`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.model import (
    AccountCreation,
    ActorKind,
    ChangeEvidence,
    ManagerChange,
    ManagerRecord,
    RecentManagerChange,
)

# How far apart an account's "Add user" event and its first "Set user manager" event may be
# for the manager to count as set when the account was created. Entra writes both for one
# creation within seconds; provisioning engines resolve the manager reference in the same run.
ACCOUNT_CREATION_TOLERANCE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class ManagerEvidence:
    """Everything the decision about one person looks at, read at one moment.

    *manager_id* is the manager Graph reports now. *record* is tapbot's record before this
    check, None when tapbot has none (or keeps none). *audit* holds the "Set user manager"
    events of the window; *creation* the person's "Add user" event, when it was read.
    """

    manager_id: str | None
    record: ManagerRecord | None
    audit: tuple[ManagerChange, ...] = ()
    creation: AccountCreation | None = None


def trusted_first_assignment(
    event: ManagerChange,
    creation: AccountCreation | None,
    trusted_provisioning_ids: frozenset[str],
) -> bool:
    """Tell whether *event* is a joiner's first manager that is not a change (PRODUCT.md).

    Only a readable event that says the person had no manager before can be trusted, and only
    when it names who made it, and then only when either

    1. the manager was set when the account was created: *creation* (the "Add user" event) was
       made by the same person or app within `ACCOUNT_CREATION_TOLERANCE`. Whoever creates an
       account already controls it, so their choice of its first manager gives nothing away; or
    2. it was set by a provisioning identity the organisation lists (HR inbound provisioning):
       ``initiatedBy.user`` is empty and the app's id or service principal id is in
       *trusted_provisioning_ids*.

    This follows the design rule of graph-roles-and-changes.md §5 except its third condition, a
    matching entry in the provisioning log (``GET /auditLogs/provisioning``), which tapbot does
    not require. ``initiatedBy`` is written by Entra from the caller's token, so a person cannot
    pass as the listed app; what the provisioning log would add is proof that the provisioning
    engine itself made the change rather than someone using the listed app's credentials
    directly. But the log cannot exist for an HR integration that writes through Graph itself
    (it would never be trusted), it needs Directory.Read.All on top of AuditLog.Read.All, its
    shape for manager changes is undocumented (an unreadable match would fail closed on every
    joiner), and it is one more read from the audit service that allows five per ten seconds.
    The risk is bounded instead: only a *first* manager is ever trusted, so a listed app's
    stolen credentials could only hand a manager to a person who had none (a later change by
    the same app, or a removal before it, is still a change); and the operator lists only
    identities guarded like HR itself (the provisioning engine's own, see the README).
    """
    if not event.first_assignment or event.changed_by is None or event.changed_at is None:
        return False
    by = event.changed_by
    # GUIDs: compared without regard to case.
    trusted = {i.lower() for i in trusted_provisioning_ids}
    if by.kind is ActorKind.APP and (
        by.id.lower() in trusted or (by.app_id is not None and by.app_id.lower() in trusted)
    ):
        return True
    return (
        creation is not None
        and by.same_as(creation.created_by)
        and abs(event.changed_at - creation.created_at) <= ACCOUNT_CREATION_TOLERANCE
    )


def needs_account_creation(evidence: ManagerEvidence, trusted: frozenset[str]) -> bool:
    """Tell whether the "Add user" event could change the answer: some readable event gives the
    person a first manager and is not already trusted without it."""
    return any(
        event.first_assignment and not trusted_first_assignment(event, None, trusted)
        for event in evidence.audit
    )


def recent_manager_change(
    evidence: ManagerEvidence,
    *,
    now: datetime,
    window: timedelta,
    trusted_provisioning_ids: frozenset[str] = frozenset(),
) -> RecentManagerChange | None:
    """Return the newest manager change within *window* before *now* that tapbot does not
    trust, or None.

    Candidates (a zero or negative *window* switches the check off):

    - tapbot's record: none at all (NEVER_SEEN, changed *now*); a manager other than the
      recorded one (TAPBOT_RECORD, changed *now*, from the recorded manager); the recorded
      manager, recorded as new within the window (its record's evidence and time);
    - each audit event in the window that changes the manager (AUDIT_LOG; setting the same
      manager again is no change), and each unreadable one (UNREADABLE_AUDIT, at its time or
      *now*). Events dated after *now* (clocks disagree) count too.

    Trusted first assignments (`trusted_first_assignment`) are dropped, and so is a record
    candidate they explain: the person had no manager or was never seen, and the trusted event
    set the manager they have now. A record candidate that an untrusted audit event explains
    (the same new manager, from the same previous one or an unknown one, no earlier than tapbot
    last saw the old manager) gives way to that event, which says who made it and when.
    """
    if window <= timedelta(0):
        return None
    since = now - window
    creation = evidence.creation
    audit: list[tuple[ManagerChange, RecentManagerChange]] = []
    trusted: list[ManagerChange] = []
    for event in evidence.audit:
        change = _from_audit(event, now)
        if change is None or change.changed_at < since:
            continue
        if trusted_first_assignment(event, creation, trusted_provisioning_ids):
            trusted.append(event)
        else:
            audit.append((event, change))
    record_change = _from_record(evidence, now, since)
    if record_change is not None:
        explained = _explained_by_trust(record_change, evidence.manager_id, trusted)
        if explained or any(_same_change(record_change, evidence.record, e) for e, _ in audit):
            record_change = None
    candidates = [change for _, change in audit]
    if record_change is not None:
        candidates.append(record_change)
    return max(candidates, key=lambda c: (c.changed_at, _PREFERENCE[c.evidence]), default=None)


# On equal times, the evidence that says the most wins.
_PREFERENCE = {
    ChangeEvidence.NEVER_SEEN: 0,
    ChangeEvidence.TAPBOT_RECORD: 1,
    ChangeEvidence.UNREADABLE_AUDIT: 2,
    ChangeEvidence.AUDIT_LOG: 3,
}


def _from_audit(event: ManagerChange, now: datetime) -> RecentManagerChange | None:
    if not event.readable:
        return RecentManagerChange(
            changed_at=event.changed_at or now,
            previous_manager_id=event.old_manager_id if event.old_manager_known else None,
            new_manager_id=event.new_manager_id,
            changed_by=event.changed_by,
            evidence=ChangeEvidence.UNREADABLE_AUDIT,
        )
    if event.old_manager_known and event.old_manager_id == event.new_manager_id:
        return None  # the same manager set again
    return RecentManagerChange(
        changed_at=event.changed_at or now,
        previous_manager_id=event.old_manager_id,
        new_manager_id=event.new_manager_id,
        changed_by=event.changed_by,
        evidence=ChangeEvidence.AUDIT_LOG,
    )


def _from_record(
    evidence: ManagerEvidence, now: datetime, since: datetime
) -> RecentManagerChange | None:
    record, current = evidence.record, evidence.manager_id
    if record is None:
        return RecentManagerChange(now, None, current, None, ChangeEvidence.NEVER_SEEN)
    if record.manager_id != current:
        return RecentManagerChange(
            now, record.manager_id, current, None, ChangeEvidence.TAPBOT_RECORD
        )
    if record.changed_at is None or record.changed_at < since:
        return None
    kind = ChangeEvidence.NEVER_SEEN if record.first_seen else ChangeEvidence.TAPBOT_RECORD
    return RecentManagerChange(record.changed_at, record.previous_manager_id, current, None, kind)


def _explained_by_trust(
    change: RecentManagerChange, current: str | None, trusted: Iterable[ManagerChange]
) -> bool:
    from_nothing = (
        change.evidence is ChangeEvidence.NEVER_SEEN or change.previous_manager_id is None
    )
    return from_nothing and any(event.new_manager_id == current for event in trusted)


def _same_change(
    change: RecentManagerChange, record: ManagerRecord | None, event: ManagerChange
) -> bool:
    if not event.readable or event.new_manager_id != change.new_manager_id:
        return False
    if change.evidence is ChangeEvidence.NEVER_SEEN or record is None:
        return True
    if event.old_manager_known and event.old_manager_id != change.previous_manager_id:
        return False
    # The event must come after tapbot started seeing the old manager, or it is an older one.
    if record.manager_id != change.new_manager_id:
        seen_old_since = record.changed_at or record.seen_at
    else:
        seen_old_since = None  # the record already moved on; its change time is this change
    return event.changed_at is None or seen_old_since is None or event.changed_at >= seen_old_since


# What tapbot's record becomes


def record_after_check(
    record: ManagerRecord | None,
    user_id: str,
    manager_id: str | None,
    *,
    now: datetime,
    baseline_exists: bool,
) -> ManagerRecord | None:
    """The record to write after a check read *manager_id* for *user_id*, or None.

    A manager other than the recorded one is recorded as changed now, from the recorded one. A
    person without a record is recorded as first seen now, but only once the baseline exists:
    before that the baseline round will record them, and a check must not turn "never seen"
    into a change that outlives the baseline (everyone checked in a fresh install's first
    minutes would otherwise need the helpdesk for the whole window). The result keeps the
    version read, for the store's compare-and-set.
    """
    if record is None:
        if not baseline_exists:
            return None
        return ManagerRecord(user_id, manager_id, now, now, None, first_seen=True)
    if record.manager_id == manager_id:
        return None
    return _changed(record, manager_id, now)


def record_after_sighting(
    record: ManagerRecord | None,
    user_id: str,
    manager_id: str | None,
    *,
    now: datetime,
    baseline_round: bool,
) -> ManagerRecord | None:
    """The record to write after the users delta showed *manager_id* for *user_id*, or None.

    In the baseline round (the first full round) a person without a record gets the manager
    they have as their baseline, with no change time. Later, a person without a record is new
    (or was missed) and is recorded as first seen now. A different manager is a change now.
    """
    if record is None:
        if baseline_round:
            return ManagerRecord(user_id, manager_id, now)
        return ManagerRecord(user_id, manager_id, now, now, None, first_seen=True)
    if record.manager_id == manager_id:
        return None
    return _changed(record, manager_id, now)


def _changed(record: ManagerRecord, manager_id: str | None, now: datetime) -> ManagerRecord:
    return dataclasses.replace(
        record,
        manager_id=manager_id,
        previous_manager_id=record.manager_id,
        changed_at=now,
        first_seen=False,
        seen_at=now,
    )


def newest_first(events: Sequence[ManagerChange]) -> list[ManagerChange]:
    """*events* newest first, those with an unreadable time (counted as now) at the front."""
    timed = [(e.changed_at, e) for e in events if e.changed_at is not None]
    timed.sort(key=lambda pair: pair[0], reverse=True)
    return [e for e in events if e.changed_at is None] + [e for _, e in timed]
