"""`ManagerCheck`: the one service the eligibility read asks "did this person's manager change
recently?", and `WatchedDirectory`, which carries it to callers that only take a `Directory`.

A check reads tapbot's record, the audit log's "Set user manager" events of the window and
(only when a joiner's first manager might be trusted) the "Add user" event, all while the
current manager is being read; then it decides (`bot.domain.manager_changes`) and records what
it saw: a manager that differs from the record is written as a change, compare-and-set, so
the next check and every other process agree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import TypeVar

from bot.domain.audit import Auditor
from bot.domain.manager_changes import (
    ACCOUNT_CREATION_TOLERANCE,
    ManagerEvidence,
    needs_account_creation,
    recent_manager_change,
    record_after_check,
)
from bot.domain.model import ManagerRecord, RecentManagerChange
from bot.domain.ports import Directory, Store

T = TypeVar("T")

# A compare-and-set lost this many times in a row means a storm of writers; the answer from
# the last read still stands, and the next check writes again.
MAX_RECORD_ATTEMPTS = 3


class ManagerCheck:
    """Decides whether a person's manager changed recently, and keeps tapbot's record.

    *window* is the change window (PolicyConfig.manager_change_window_days); a zero window
    switches the check off. *trusted_provisioning_ids* are the app ids and service principal
    ids whose first manager assignment for a joiner is trusted. Detected changes are audited
    (``manager``/``change_seen``) by *auditor* when given.
    """

    def __init__(
        self,
        *,
        directory: Directory,
        store: Store,
        window: timedelta,
        trusted_provisioning_ids: frozenset[str] = frozenset(),
        auditor: Auditor | None = None,
    ) -> None:
        self._directory = directory
        self._store = store
        self._window = window
        self._trusted = trusted_provisioning_ids
        self._auditor = auditor
        self._baseline_known = False

    async def recent_change(
        self, user_id: str, current_manager: Awaitable[str | None], *, now: datetime
    ) -> RecentManagerChange | None:
        """Return the recent manager change of *user_id* that tapbot does not trust, or None.

        *current_manager* resolves to the manager Graph reports now (None: none); it is awaited
        while the record and the audit log are read, so the check adds no round trip before
        it. If it raises, nothing is recorded and the error propagates, as do DirectoryError
        and StoreError from the reads.
        """
        if self._window <= timedelta(0):
            await current_manager
            return None
        since = now - self._window
        settled = await asyncio.gather(
            _settle(current_manager),
            _settle(self._store.manager_records([user_id])),
            _settle(self._baseline_exists()),
            _settle(self._directory.manager_changes(user_id, since)),
        )
        # Every read has finished; the first failure (the manager read's first) is the answer.
        manager_id, records, baseline, audit = (
            _ok(settled[0]),
            _ok(settled[1]),
            _ok(settled[2]),
            _ok(settled[3]),
        )
        evidence = ManagerEvidence(manager_id, records.get(user_id), tuple(audit))
        if needs_account_creation(evidence, self._trusted):
            # A first manager is trusted when set with the account: look for its creation.
            creation = await self._directory.account_created(
                user_id, since - ACCOUNT_CREATION_TOLERANCE
            )
            evidence = ManagerEvidence(manager_id, evidence.record, evidence.audit, creation)
        for _ in range(MAX_RECORD_ATTEMPTS):
            update = record_after_check(
                evidence.record, user_id, manager_id, now=now, baseline_exists=baseline
            )
            if update is None or await self._record(update, "check"):
                break
            # Another process recorded something meanwhile: decide on what it recorded.
            fresh = await self._store.manager_records([user_id])
            evidence = ManagerEvidence(
                manager_id, fresh.get(user_id), evidence.audit, evidence.creation
            )
        return recent_manager_change(
            evidence, now=now, window=self._window, trusted_provisioning_ids=self._trusted
        )

    async def _baseline_exists(self) -> bool:
        # Once the baseline exists it always will: no need to ask the store again.
        if not self._baseline_known:
            state = await self._store.users_delta_state()
            self._baseline_known = state.baseline_at is not None
        return self._baseline_known

    async def _record(self, record: ManagerRecord, source: str) -> bool:
        stored = await self._store.save_manager_record(record)
        if stored is None:
            return False
        await audit_record_change(self._auditor, stored, source)
        return True


async def _settle(call: Awaitable[T]) -> T | Exception:
    # Hold a failure as a value so every read finishes before one is raised.
    try:
        return await call
    except Exception as exc:  # re-raised by _ok once every read has finished
        return exc


def _ok(result: T | Exception) -> T:
    if isinstance(result, Exception):
        raise result
    return result


async def audit_record_change(auditor: Auditor | None, record: ManagerRecord, source: str) -> None:
    """Audit a change tapbot recorded (a baseline entry is not one)."""
    if auditor is None or record.changed_at is None:
        return
    await auditor.record(
        "manager",
        "first_seen" if record.first_seen else "change_seen",
        actor_id="tapbot",
        target_id=record.user_id,
        detail={
            "previous_manager_id": record.previous_manager_id or "",
            "manager_id": record.manager_id or "",
            "seen_by": source,
        },
    )
