"""The sweep over the fake tenant's Graph and a real database: the seeded joiners, a failure in
the middle of a sweep, and two sweepers on one database at the same moment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.audit import Auditor
from bot.domain.joiner_steps import OutcomeKind, SweepPorts
from bot.domain.joiner_sweep import JoinerSweep
from bot.domain.joiners import Joiner, JoinerConfig, Recipient
from bot.domain.policy import PolicyConfig
from bot.domain.ports import Store
from sandbox import org
from sandbox.faults import Fault
from tests.integration.joiners.conftest import Tenant
from tests.integration.store.support import Backend
from tests.twins.reminders import FakeReminders

LONDON = ZoneInfo("Europe/London")
POLICY = PolicyConfig(blocked_group_ids=(org.BLOCKED_GROUP_ID,))


def _sweeper(tenant: Tenant, store: Store, reminders: FakeReminders, owner: str) -> JoinerSweep:
    return JoinerSweep(
        SweepPorts(
            directory=tenant.directory,
            pass_issuer=tenant.pass_issuer,
            store=store,
            reminders=reminders,
            auditor=Auditor(store, tenant.clock),
            clock=tenant.clock,
        ),
        config=JoinerConfig(timezone=LONDON, days_ahead=7, margin_days=2),
        policy=POLICY,
        owner=owner,
    )


async def test_the_seeded_joiners_in_the_window_are_reminded_once(
    tenant: Tenant, sql_backend: Backend
) -> None:
    reminders = FakeReminders()
    sweep = _sweeper(tenant, sql_backend.store, reminders, "a")

    report = await sweep.run()
    again = await sweep.run()

    # Joiners are worked on concurrently: the order they are reminded in is not fixed.
    assert sorted(reminders.to(Recipient.MANAGER)) == ["Ethan Walsh", "Mia Rossi"]
    assert {s.reminder.manager.id for s in reminders.sent if s.reminder.manager} == {org.MANAGER_ID}
    assert (report.found, report.counts[OutcomeKind.REMINDED], report.complete) == (2, 2, True)
    assert again.counts[OutcomeKind.SKIPPED] == 2
    [ethan] = [s.reminder for s in reminders.sent if s.reminder.joiner_name == "Ethan Walsh"]
    assert (ethan.job_title, ethan.department, ethan.days_until) == (
        "Junior Accountant",
        "Finance",
        3,
    )
    # 09:00 UTC on 13 June is 10:00 in London: day one starts at midnight BST.
    assert ethan.starts_at == datetime.fromisoformat("2025-06-12T23:00:00+00:00")


async def test_a_graph_failure_mid_sweep_then_a_rerun_sends_nothing_twice(
    tenant: Tenant, sql_backend: Backend
) -> None:
    reminders = FakeReminders()
    sweep = _sweeper(tenant, sql_backend.store, reminders, "a")
    listing = tenant.directory.list_joiners

    def failing_after_the_first(*args: Any, **kwargs: Any) -> AsyncIterator[Joiner]:
        async def pages() -> AsyncIterator[Joiner]:
            async for joiner in listing(*args, **kwargs):
                yield joiner
                # The next page of joiners fails, as Graph sometimes does mid-listing.
                tenant.fake.faults.add(Fault("list_users", "error", status=500))

        return pages()

    tenant.directory.list_joiners = failing_after_the_first  # type: ignore[method-assign]
    first = await sweep.run()
    tenant.directory.list_joiners = listing  # type: ignore[method-assign]
    tenant.fake.faults.clear()
    second = await sweep.run()

    assert not first.complete
    assert first.listing_error == "generalException"
    assert first.counts[OutcomeKind.REMINDED] == 1
    assert second.complete
    # Joiners are worked on concurrently: the order they are reminded in is not fixed.
    assert sorted(reminders.to(Recipient.MANAGER)) == ["Ethan Walsh", "Mia Rossi"]
    audit = await sql_backend.store.list_audit(limit=100)
    assert [e.outcome for e in reversed(audit) if e.action == "joiner_sweep"] == [
        "incomplete",
        "completed",
    ]


async def test_two_sweepers_on_one_database_at_once_send_one_reminder_each(
    tenant: Tenant, sql_backend: Backend
) -> None:
    reminders = FakeReminders()
    async with sql_backend.another_instance() as other_store:
        sweeps = [
            _sweeper(tenant, sql_backend.store, reminders, "instance-a"),
            _sweeper(tenant, other_store, reminders, "instance-b"),
        ]

        reports = await asyncio.gather(*(s.run() for s in sweeps))

    assert sorted(reminders.to(Recipient.MANAGER)) == ["Ethan Walsh", "Mia Rossi"]
    assert sum(r.counts[OutcomeKind.REMINDED] for r in reports) == 2
    assert all(r.complete for r in reports)
