"""`ManagerSync` over the twins: the baseline, changes within one poll, resync after 410,
removals, replays, the lease and resuming a round another poll began."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.audit import Auditor
from bot.domain.errors import DirectoryDeltaExpired, DirectoryUnavailable
from bot.domain.manager_sync import ManagerSync
from bot.domain.model import ManagerRecord
from tests.twins.clock import ManualClock
from tests.twins.directory import FakeDirectory, person
from tests.twins.store import MemoryStore

PEOPLE = {
    "amelia": None,
    "olivia": "amelia",
    "daniel": "amelia",
    "liam": "olivia",
    "grace": "olivia",
    "lucas": "daniel",
    "ava": "daniel",
}


class Tenant:
    def __init__(self) -> None:
        self.clock = ManualClock()
        self.directory = FakeDirectory(self.clock)
        self.store = MemoryStore()
        for user_id, manager in PEOPLE.items():
            self.directory.add_user(person(user_id.title(), id=user_id), manager_id=manager)
        self.sync = self.reader("process-1")

    def reader(self, owner: str, **options: object) -> ManagerSync:
        return ManagerSync(
            directory=self.directory,
            store=self.store,
            clock=self.clock,
            owner=owner,
            auditor=Auditor(self.store, self.clock),
            **options,  # type: ignore[arg-type]  # lease and page budget, per test
        )

    async def records(self) -> dict[str, ManagerRecord]:
        return await self.store.manager_records([*PEOPLE, "nina"])

    async def seen(self) -> list[tuple[str, str | None, str]]:
        events = await self.store.list_audit(limit=1000)
        return [
            (e.outcome, e.target_id, e.detail["manager_id"])
            for e in reversed(events)
            if e.action == "manager"
        ]


@pytest.fixture
def tenant() -> Tenant:
    return Tenant()


async def test_the_baseline_records_everyone_before_anyone_asks(tenant: Tenant) -> None:
    report = await tenant.sync.poll()
    assert (report.ran, report.round_completed, report.recorded) == (True, True, len(PEOPLE))
    records = await tenant.records()
    assert {u: r.manager_id for u, r in records.items()} == PEOPLE
    assert all(r.changed_at is None and not r.first_seen for r in records.values())
    state = await tenant.store.users_delta_state()
    assert state.baseline_at == tenant.clock.now()
    assert state.link is not None
    assert not state.full_round
    assert await tenant.seen() == []  # a baseline is not a change


async def test_a_manager_change_is_recorded_within_one_poll(tenant: Tenant) -> None:
    await tenant.sync.poll()
    tenant.clock.advance(minutes=1)
    tenant.directory.set_manager("lucas", "olivia", by="olivia")

    report = await tenant.sync.poll()

    assert report.round_completed
    lucas = (await tenant.records())["lucas"]
    assert (lucas.manager_id, lucas.previous_manager_id) == ("olivia", "daniel")
    assert lucas.changed_at == tenant.clock.now()
    assert await tenant.seen() == [("change_seen", "lucas", "olivia")]


async def test_replays_change_nothing(tenant: Tenant) -> None:
    await tenant.sync.poll()
    tenant.directory.set_manager("lucas", "olivia", by="olivia")
    await tenant.sync.poll()
    # The next round re-delivers the last change (Graph replays): nothing new is written.
    again = await tenant.sync.poll()
    assert again.pages == 1
    assert again.recorded == 0
    assert len(await tenant.seen()) == 1


async def test_a_person_added_after_the_baseline_is_first_seen(tenant: Tenant) -> None:
    await tenant.sync.poll()
    tenant.directory.add_user(person("Nina", id="nina"), manager_id="olivia")
    await tenant.sync.poll()
    nina = (await tenant.records())["nina"]
    assert nina.first_seen
    assert nina.changed_at == tenant.clock.now()
    assert await tenant.seen() == [("first_seen", "nina", "olivia")]


async def test_a_removed_manager_is_read_and_recorded(tenant: Tenant) -> None:
    await tenant.sync.poll()
    tenant.directory.set_manager("grace", None, by="olivia")
    await tenant.sync.poll()
    grace = (await tenant.records())["grace"]
    assert (grace.manager_id, grace.previous_manager_id) == (None, "olivia")
    # The delta did not say: the manager was read.
    assert tenant.directory.called("get_manager") >= 1


async def test_a_deleted_person_is_recorded_without_a_manager(tenant: Tenant) -> None:
    await tenant.sync.poll()
    tenant.directory.remove_user("ava")
    await tenant.sync.poll()
    ava = (await tenant.records())["ava"]
    assert (ava.manager_id, ava.previous_manager_id) == (None, "daniel")


async def test_an_expired_link_starts_a_full_round_where_differences_are_changes(
    tenant: Tenant,
) -> None:
    await tenant.sync.poll()
    tenant.directory.expire_delta_links()
    tenant.directory.managers["liam"] = "daniel"  # a change the old link would have shown
    tenant.directory.add_user(person("Nina", id="nina"), manager_id="olivia")

    report = await tenant.sync.poll()

    assert report.restarted
    assert report.round_completed
    records = await tenant.records()
    assert records["liam"].previous_manager_id == "olivia"
    assert records["liam"].changed_at == tenant.clock.now()
    assert records["nina"].first_seen  # not part of the baseline: new
    assert records["grace"].changed_at is None  # unchanged people stay as they were


async def test_links_older_than_seven_days_expire(tenant: Tenant) -> None:
    await tenant.sync.poll()
    tenant.clock.advance(days=8)
    report = await tenant.sync.poll()
    assert report.restarted
    assert report.recorded == 0  # nobody changed


async def test_one_process_polls_at_a_time(tenant: Tenant) -> None:
    now = tenant.clock.now()
    assert await tenant.store.claim_users_delta("process-2", now, now + timedelta(minutes=5))
    report = await tenant.sync.poll()
    assert not report.ran
    assert tenant.directory.called("users_delta_page") == 0
    tenant.clock.advance(minutes=6)  # process-2 died: its lease runs out
    assert (await tenant.sync.poll()).round_completed


async def test_a_large_baseline_spreads_over_polls_and_resumes_where_it_stopped(
    tenant: Tenant,
) -> None:
    small = tenant.reader("process-1", pages_per_poll=1)
    first = await small.poll()
    assert (first.pages, first.round_completed) == (1, False)
    state = await tenant.store.users_delta_state()
    assert state.baseline_at is None
    assert state.full_round
    # Another process carries on from the saved link.
    other = tenant.reader("process-2", pages_per_poll=1)
    polls = [first, await other.poll(), await other.poll()]
    assert [p.round_completed for p in polls] == [False, False, True]  # seven people, 3 a page
    records = await tenant.records()
    assert {u: r.manager_id for u, r in records.items()} == PEOPLE
    assert all(r.changed_at is None for r in records.values())


async def test_a_failed_read_gives_the_lease_up_and_the_next_poll_resumes(tenant: Tenant) -> None:
    small = tenant.reader("process-1", pages_per_poll=1)
    await small.poll()
    tenant.directory.fail("users_delta_page", DirectoryUnavailable("503", status=503))
    with pytest.raises(DirectoryUnavailable):
        await tenant.sync.poll()
    other = tenant.reader("process-2")
    report = await other.poll()  # not blocked by a lease, and not starting over
    assert report.round_completed
    assert report.pages == 2


async def test_links_that_keep_expiring_stop_the_poll_instead_of_looping(tenant: Tenant) -> None:
    small = tenant.reader("process-1", pages_per_poll=1)
    await small.poll()  # one page of the baseline: a next link is saved
    tenant.directory.fail(
        "users_delta_page", DirectoryDeltaExpired("Resync required.", status=410), times=None
    )
    with pytest.raises(DirectoryDeltaExpired):
        await tenant.sync.poll()
    assert tenant.directory.called("users_delta_page") == 3  # the saved link, then one restart


async def test_a_poll_can_be_given_a_larger_page_budget(tenant: Tenant) -> None:
    small = tenant.reader("process-1", pages_per_poll=1)
    report = await small.poll(pages=10)
    assert (report.pages, report.round_completed) == (3, True)
