"""`ManagerCheck` over the twins: what a check reads, what it records, and races between
processes recording the same person."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.domain.audit import Auditor
from bot.domain.errors import DirectoryAccessDenied, DirectoryObjectNotFound, StoreError
from bot.domain.manager_check import ManagerCheck
from bot.domain.manager_sync import ManagerSync
from bot.domain.model import (
    Actor,
    ActorKind,
    ChangeEvidence,
    ManagerChange,
    ManagerRecord,
    RecentManagerChange,
)
from tests.twins.clock import ManualClock
from tests.twins.directory import FakeDirectory, person
from tests.twins.store import MemoryStore

HR = Actor(ActorKind.APP, "sp-hr", "HR inbound provisioning", app_id="app-hr")


class Org:
    def __init__(self) -> None:
        self.clock = ManualClock()
        self.directory = FakeDirectory(self.clock)
        self.store = MemoryStore()
        self.auditor = Auditor(self.store, self.clock)
        for name in ("olivia", "daniel", "mallory"):
            self.directory.add_user(person(name.title(), id=name))
        self.directory.add_user(person("Liam", id="liam"), manager_id="olivia")
        self.check = ManagerCheck(
            directory=self.directory,
            store=self.store,
            window=timedelta(days=14),
            trusted_provisioning_ids=frozenset({"app-hr"}),
            auditor=self.auditor,
        )

    async def baseline(self) -> None:
        sync = ManagerSync(
            directory=self.directory, store=self.store, clock=self.clock, owner="sync"
        )
        assert (await sync.poll()).round_completed

    async def ask(self, user_id: str = "liam") -> RecentManagerChange | None:
        manager = self.directory.managers.get(user_id)

        async def current() -> str | None:
            return manager

        return await self.check.recent_change(user_id, current(), now=self.clock.now())

    async def record(self, user_id: str = "liam") -> ManagerRecord | None:
        return (await self.store.manager_records([user_id])).get(user_id)


@pytest.fixture
async def org() -> Org:
    made = Org()
    await made.baseline()
    return made


async def test_a_baselined_person_with_the_same_manager_has_no_recent_change(org: Org) -> None:
    assert await org.ask() is None


async def test_a_check_records_a_manager_that_differs_and_audits_it(org: Org) -> None:
    org.directory.managers["liam"] = "mallory"  # the audit log has not shown it yet
    found = await org.ask()
    assert found is not None
    assert found.evidence is ChangeEvidence.TAPBOT_RECORD
    record = await org.record()
    assert record is not None
    assert (record.manager_id, record.previous_manager_id) == ("mallory", "olivia")
    assert record.changed_at == org.clock.now()
    [seen] = [e for e in await org.store.list_audit() if e.action == "manager"]
    assert (seen.outcome, seen.target_id) == ("change_seen", "liam")
    assert seen.detail == {
        "previous_manager_id": "olivia",
        "manager_id": "mallory",
        "seen_by": "check",
    }


async def test_the_change_still_counts_on_the_next_check_and_the_next_process(org: Org) -> None:
    org.directory.managers["liam"] = "mallory"
    await org.ask()
    org.clock.advance(minutes=2)
    other_process = ManagerCheck(
        directory=org.directory, store=org.store, window=timedelta(days=14)
    )

    async def current() -> str | None:
        return "mallory"

    found = await other_process.recent_change("liam", current(), now=org.clock.now())
    assert found is not None
    assert found.changed_at == org.clock.now() - timedelta(minutes=2)
    assert found.previous_manager_id == "olivia"


async def test_until_the_baseline_exists_everyone_is_never_seen_and_nothing_is_written() -> None:
    fresh = Org()
    found = await fresh.ask()
    assert found is not None
    assert found.evidence is ChangeEvidence.NEVER_SEEN
    assert await fresh.record() is None


async def test_a_person_new_since_the_baseline_is_recorded_as_first_seen(org: Org) -> None:
    org.directory.add_user(person("Nina New", id="nina"), manager_id="olivia")
    found = await org.ask("nina")
    assert found is not None
    assert found.evidence is ChangeEvidence.NEVER_SEEN
    record = await org.record("nina")
    assert record is not None
    assert record.first_seen
    assert [e.outcome for e in await org.store.list_audit()] == ["first_seen"]


async def test_a_joiner_created_by_the_listed_hr_app_is_not_a_change(org: Org) -> None:
    at = org.clock.now() - timedelta(days=3)
    org.directory.add_user(
        person("Ethan", id="ethan"), manager_id="olivia", created_at=at, created_by=HR
    )
    assert await org.ask("ethan") is None
    assert org.directory.called("account_created") == 0  # the app alone was enough


async def test_a_joiner_whose_manager_a_person_set_later_is_a_change(org: Org) -> None:
    at = org.clock.now() - timedelta(days=3)
    org.directory.add_user(person("Ethan", id="ethan"), created_at=at, created_by=HR)
    org.directory.set_manager("ethan", "olivia", at=at + timedelta(days=1), by="olivia")
    found = await org.ask("ethan")
    assert found is not None
    assert found.evidence is ChangeEvidence.AUDIT_LOG
    assert found.changed_by == Actor(ActorKind.USER, "olivia")
    assert org.directory.called("account_created") == 1


async def test_an_unreadable_audit_event_is_a_change(org: Org) -> None:
    org.directory.audit.append(
        ManagerChange("liam", None, None, None, None, old_manager_known=False, readable=False)
    )
    found = await org.ask()
    assert found is not None
    assert found.evidence is ChangeEvidence.UNREADABLE_AUDIT


async def test_a_lost_race_decides_on_what_the_other_process_recorded(org: Org) -> None:
    org.directory.managers["liam"] = "mallory"
    real_save = org.store.save_manager_record
    raced = False

    async def save_after_another(record: ManagerRecord) -> ManagerRecord | None:
        nonlocal raced
        if not raced:
            raced = True
            # Another process saw Mallory a minute earlier and recorded it first.
            stored = await org.store.manager_records(["liam"])
            earlier = ManagerRecord(
                "liam",
                "mallory",
                org.clock.now() - timedelta(minutes=1),
                org.clock.now() - timedelta(minutes=1),
                "olivia",
                version=stored["liam"].version,
            )
            await real_save(earlier)
        return await real_save(record)

    org.store.save_manager_record = save_after_another  # type: ignore[method-assign]  # the race
    found = await org.ask()
    assert found is not None
    assert found.changed_at == org.clock.now() - timedelta(minutes=1)
    record = await org.record()
    assert record is not None
    assert record.version == 2  # baseline, then the other process; nothing more


async def test_concurrent_checks_record_the_change_once(org: Org) -> None:
    org.directory.managers["liam"] = "mallory"
    results = await asyncio.gather(*(org.ask() for _ in range(5)))
    assert all(r is not None for r in results)
    assert [e.outcome for e in await org.store.list_audit()] == ["change_seen"]


async def test_an_unknown_person_is_not_recorded(org: Org) -> None:
    async def missing() -> str | None:
        raise DirectoryObjectNotFound("no such user", status=404)

    with pytest.raises(DirectoryObjectNotFound):
        await org.check.recent_change("ghost", missing(), now=org.clock.now())
    assert await org.record("ghost") is None


async def test_an_unreadable_audit_log_fails_the_check(org: Org) -> None:
    org.directory.fail("manager_changes", DirectoryAccessDenied("AuditLog.Read.All", status=403))
    with pytest.raises(DirectoryAccessDenied):
        await org.ask()


async def test_a_store_outage_fails_the_check(org: Org) -> None:
    org.store.unavailable = True
    with pytest.raises(StoreError):
        await org.ask()


async def test_a_zero_window_reads_nothing() -> None:
    fresh = Org()
    off = ManagerCheck(directory=fresh.directory, store=fresh.store, window=timedelta(0))

    async def current() -> str | None:
        return "olivia"

    assert await off.recent_change("liam", current(), now=fresh.clock.now()) is None
    assert fresh.directory.called("manager_changes") == 0
