"""`ManagerSync`: keeps tapbot's record of every person's manager from the users delta query.

The first full round (the baseline) records everyone's manager before anyone asks, so a fresh
install is usable; later rounds bring each manager change within one poll, whether or not the
audit log shows it yet. One process at a time reads the delta: the poll is a lease in the
store, and each page's progress is saved with it, so a crashed reader's successor resumes
where it stopped. A link Graph no longer accepts (410) starts a new full round, in which every
difference from the record is a change. Replays change nothing: a sighting that matches the
record writes nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from bot.domain.audit import Auditor
from bot.domain.errors import DirectoryDeltaExpired
from bot.domain.manager_changes import record_after_sighting
from bot.domain.manager_check import MAX_RECORD_ATTEMPTS, audit_record_change
from bot.domain.model import ManagerSighting, UsersDeltaPage, UsersDeltaState
from bot.domain.ports import Clock, Directory, Store

# Longer than a healthy reader spends on one page (Graph retries included); renewed per page.
DELTA_LEASE = timedelta(minutes=5)
# Pages read per poll: bounds one poll's work so a large tenant's baseline spreads over several
# polls, each resuming from the saved link.
PAGES_PER_POLL = 50
# The start-up poll may read this many, so most tenants have their baseline before the bot
# answers anyone (Graph's users delta pages hold up to a few hundred users).
STARTUP_PAGES = 1000
# Managers read at once for users a page shows without saying their manager.
MANAGER_READS_AT_ONCE = 8


@dataclasses.dataclass(frozen=True, slots=True)
class PollReport:
    """What one poll did: pages read, records written, whether it finished a round, and
    whether it ran at all (another process may hold the lease)."""

    ran: bool
    pages: int = 0
    recorded: int = 0
    round_completed: bool = False
    restarted: bool = False


class ManagerSync:
    """Reads the users delta for *owner* (unique per process) and records what it shows."""

    def __init__(
        self,
        *,
        directory: Directory,
        store: Store,
        clock: Clock,
        owner: str,
        auditor: Auditor | None = None,
        lease: timedelta = DELTA_LEASE,
        pages_per_poll: int = PAGES_PER_POLL,
    ) -> None:
        self._directory = directory
        self._store = store
        self._clock = clock
        self._owner = owner
        self._auditor = auditor
        self._lease = lease
        self._pages_per_poll = pages_per_poll

    async def poll(self, *, pages: int | None = None) -> PollReport:
        """Read up to *pages* pages (default: the poll's page budget), or to the end of a
        round, and record them.

        Returns at once when another process holds the lease. DirectoryError (other than an
        expired link) and StoreError propagate, after the lease is given up; the saved link
        is where the next poll resumes.
        """
        now = self._clock.now()
        state = await self._store.claim_users_delta(self._owner, now, now + self._lease)
        if state is None:
            return PollReport(ran=False)
        try:
            return await self._read(state, pages or self._pages_per_poll)
        finally:
            await self._store.release_users_delta(self._owner)

    async def _read(self, state: UsersDeltaState, budget: int) -> PollReport:
        pages = recorded = 0
        restarted = False
        while pages < budget:
            full = state.link is None or state.full_round
            try:
                page = await self._directory.users_delta_page(state.link)
            except DirectoryDeltaExpired:
                if state.link is None or restarted:
                    # A new round's first page cannot have expired, and a link that expires as
                    # soon as it is given is Graph failing: let the next poll try again.
                    raise
                # Graph no longer knows where we were: enumerate everyone again.
                state = dataclasses.replace(state, link=None, full_round=True)
                restarted = True
                continue
            pages += 1
            recorded += await self._apply(
                page, full_round=full, baseline_round=full and state.baseline_at is None
            )
            now = self._clock.now()
            if page.next_link is not None:
                state = dataclasses.replace(state, link=page.next_link, full_round=full)
            else:
                state = UsersDeltaState(
                    link=page.delta_link,
                    full_round=False,
                    baseline_at=state.baseline_at or now,
                    polled_at=now,
                )
            if not await self._store.save_users_delta(self._owner, state, now + self._lease):
                break  # the lease went to another process: it carries on from what we saved
            if page.next_link is None:
                return PollReport(True, pages, recorded, round_completed=True, restarted=restarted)
        return PollReport(True, pages, recorded, restarted=restarted)

    async def _apply(self, page: UsersDeltaPage, *, full_round: bool, baseline_round: bool) -> int:
        sightings = await self._with_managers(page.users, full_round=full_round)
        records = await self._store.manager_records([s.user_id for s in sightings])
        written = 0
        for sighting in sightings:
            record = records.get(sighting.user_id)
            for _ in range(MAX_RECORD_ATTEMPTS):
                update = record_after_sighting(
                    record,
                    sighting.user_id,
                    sighting.manager_id,
                    now=self._clock.now(),
                    baseline_round=baseline_round,
                )
                if update is None:
                    break
                stored = await self._store.save_manager_record(update)
                if stored is not None:
                    written += 1
                    await audit_record_change(self._auditor, stored, "users_delta")
                    break
                record = (await self._store.manager_records([sighting.user_id])).get(
                    sighting.user_id
                )
        return written

    async def _with_managers(
        self, users: tuple[ManagerSighting, ...], *, full_round: bool
    ) -> list[ManagerSighting]:
        """The page's sightings, each with its manager. A full round lists every user with
        ``manager@delta`` when they have a manager, so a user without one has none; a later
        round leaves it out when the manager was removed or did not change, so it is read."""
        limit = asyncio.Semaphore(MANAGER_READS_AT_ONCE)

        async def settled(sighting: ManagerSighting) -> ManagerSighting:
            if sighting.removed:
                return dataclasses.replace(sighting, manager_id=None, manager_known=True)
            if sighting.manager_known or full_round:
                return sighting
            async with limit:
                manager = await self._directory.get_manager(sighting.user_id)
            return dataclasses.replace(
                sighting, manager_id=manager.id if manager else None, manager_known=True
            )

        results = await asyncio.gather(*(settled(s) for s in users), return_exceptions=True)
        # Every read has finished before a failure is raised, so none is left unawaited.
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return [r for r in results if isinstance(r, ManagerSighting)]
