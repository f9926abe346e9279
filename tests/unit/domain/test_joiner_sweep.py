"""The joiner sweep against twins: who is reminded, who is skipped and why, exactly once."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.errors import DirectoryThrottled, DirectoryUnavailable
from bot.domain.joiner_steps import OutcomeKind
from bot.domain.joiner_sweep import THROTTLE_RETRIES
from bot.domain.joiners import HelpdeskReason, JoinerConfig, JoinerState, Recipient
from bot.domain.model import RoleAssignmentKind
from tests.twins.directory import person
from tests.unit.domain.joiner_world import (
    BLOCKED_GROUP,
    DANIEL,
    ETHAN_ID,
    GLOBAL_ADMIN,
    LONDON,
    MIA_ID,
    OLIVIA,
    OSCAR_ID,
    TODAY,
    JoinerWorld,
)

NEW_YORK = ZoneInfo("America/New_York")


async def test_the_manager_is_reminded_of_joiners_in_the_window_only() -> None:
    world = JoinerWorld()

    report = await world.run()

    assert world.reminders.to(Recipient.MANAGER) == ["Ethan Walsh", "Mia Rossi"]
    assert (report.found, report.counts[OutcomeKind.REMINDED], report.complete) == (2, 2, True)
    ethan = world.reminders.sent[0].reminder
    assert (ethan.hire_day, ethan.days_until, ethan.job_title, ethan.department) == (
        TODAY + timedelta(days=3),
        3,
        "Junior Accountant",
        "Finance",
    )
    assert ethan.manager == OLIVIA
    # Day one starts at midnight in London (BST), not midnight UTC.
    assert ethan.starts_at == datetime(2025, 6, 12, 23, 0, tzinfo=UTC)
    event = await world.event(ETHAN_ID, 3)
    assert event is not None
    assert (event.state, event.recipient, event.recipient_id) == (
        JoinerState.REMINDED,
        "manager",
        OLIVIA.id,
    )
    assert (event.conversation_key, event.activity_id) == (f"user:{OLIVIA.id}", "activity-1")
    assert event.details["joiner_name"] == "Ethan Walsh"
    assert await world.event(OSCAR_ID, 10) is None
    assert [(o, t) for o, t, _ in await world.audit()] == [
        ("reminded", ETHAN_ID),
        ("reminded", MIA_ID),
    ]
    assert [o for o, _, _ in await world.audit("joiner_sweep")] == ["completed"]


async def test_a_second_sweep_sends_nothing_again_and_says_why() -> None:
    world = JoinerWorld()
    await world.run()

    world.clock.advance(days=1)
    report = await world.run()

    assert len(world.reminders.sent) == 2
    assert report.counts[OutcomeKind.SKIPPED] == 2
    skips = [(t, r) for o, t, r in await world.audit() if o == "skipped"]
    assert skips == [(ETHAN_ID, "already_handled"), (MIA_ID, "already_handled")]


async def test_a_changed_hire_date_is_a_new_joiner_event() -> None:
    world = JoinerWorld()
    await world.run()
    world.rehire(ETHAN_ID, 5)

    await world.run()

    assert world.reminders.to(Recipient.MANAGER) == ["Ethan Walsh", "Mia Rossi", "Ethan Walsh"]
    assert world.reminders.sent[-1].reminder.days_until == 5


async def test_joiners_beyond_the_window_are_reminded_once_it_reaches_them() -> None:
    world = JoinerWorld()
    await world.run()

    world.clock.advance(days=3)
    await world.run()

    assert world.reminders.to(Recipient.MANAGER) == ["Ethan Walsh", "Mia Rossi", "Oscar Nguyen"]
    assert world.reminders.sent[-1].reminder.days_until == 7


async def test_a_joiner_with_a_pass_is_skipped_until_it_is_gone() -> None:
    world = JoinerWorld()
    issued = await world.directory.create_pass(
        ETHAN_ID, lifetime_minutes=480, is_usable_once=True, start_at=None
    )

    await world.run()

    assert world.reminders.to(Recipient.MANAGER) == ["Mia Rossi"]
    assert (ETHAN_ID, "pass_exists") in [(t, r) for _, t, r in await world.audit()]
    event = await world.event(ETHAN_ID, 3)
    assert event is not None
    assert event.state is JoinerState.OPEN

    await world.directory.delete_pass(ETHAN_ID, issued.info.id)
    await world.run()

    assert world.reminders.to(Recipient.MANAGER) == ["Mia Rossi", "Ethan Walsh"]


async def test_an_expired_pass_does_not_count() -> None:
    world = JoinerWorld()
    await world.directory.create_pass(
        ETHAN_ID,
        lifetime_minutes=60,
        is_usable_once=False,
        start_at=world.clock.now() - timedelta(days=2),
    )

    await world.run()

    assert "Ethan Walsh" in world.reminders.to(Recipient.MANAGER)


async def test_joiners_who_may_not_get_a_pass_are_skipped_with_the_refusal() -> None:
    world = JoinerWorld()
    world.directory.assign_role(ETHAN_ID, GLOBAL_ADMIN, RoleAssignmentKind.ELIGIBLE)
    world.directory.add_group(BLOCKED_GROUP, MIA_ID)

    report = await world.run()

    assert world.reminders.sent == []
    assert report.counts[OutcomeKind.SKIPPED] == 2
    skipped = await world.store.list_audit(limit=100)
    refusals = {e.target_id: e.detail.get("refusal") for e in skipped if e.outcome == "skipped"}
    assert refusals == {ETHAN_ID: "privileged_role_eligible", MIA_ID: "blocked_group"}


async def test_roles_that_cannot_be_read_fail_the_run_and_a_later_sweep_reminds() -> None:
    world = JoinerWorld()
    world.directory.fail("list_role_assignments", DirectoryUnavailable("down"), times=None)

    report = await world.run()

    # Not knowing whether a joiner is an administrator is no verdict: nothing is sent, the
    # claim is given back and the sweep is incomplete, so the schedule runs it again.
    assert world.reminders.sent == []
    assert (report.counts[OutcomeKind.FAILED], report.complete) == (2, False)
    event = await world.event(ETHAN_ID, 3)
    assert event is not None
    assert event.state is JoinerState.OPEN
    assert await world.audit() == [
        ("failed", ETHAN_ID, "role_check_failed"),
        ("failed", MIA_ID, "role_check_failed"),
    ]

    world.directory.heal()
    await world.run()

    assert world.reminders.to(Recipient.MANAGER) == ["Ethan Walsh", "Mia Rossi"]


async def test_a_tenant_without_passes_reminds_nobody() -> None:
    world = JoinerWorld()
    world.directory.policy = dataclasses.replace(world.directory.policy, enabled=False)

    await world.run()

    assert world.reminders.sent == []
    refusals = {e.detail.get("refusal") for e in await world.store.list_audit(limit=100)}
    assert "tap_policy_disabled" in refusals


async def test_a_joiner_without_a_manager_goes_to_the_helpdesk() -> None:
    world = JoinerWorld()
    world.joiner("Nia Lone", "10000000-0000-4000-8000-000000000024", 2, manager=None)

    await world.run()

    assert world.reminders.to(Recipient.HELPDESK) == ["Nia Lone"]
    sent = world.reminders.sent[0].reminder
    assert (sent.manager, sent.helpdesk_reason) == (None, HelpdeskReason.NO_MANAGER)


async def test_a_manager_who_left_or_cannot_be_reached_is_replaced_by_the_helpdesk() -> None:
    world = JoinerWorld()
    world.joiner("Lea Left", "10000000-0000-4000-8000-000000000025", 2, manager=DANIEL)
    world.directory.users[DANIEL.id] = dataclasses.replace(DANIEL, account_enabled=False)
    world.reminders.unreachable.add(OLIVIA.id)

    await world.run()

    reasons = {s.reminder.joiner_name: s.reminder.helpdesk_reason for s in world.reminders.sent}
    assert reasons == {
        "Lea Left": HelpdeskReason.MANAGER_LEFT,
        "Ethan Walsh": HelpdeskReason.MANAGER_UNREACHABLE,
        "Mia Rossi": HelpdeskReason.MANAGER_UNREACHABLE,
    }
    assert {s.recipient for s in world.reminders.sent} == {Recipient.HELPDESK}
    event = await world.event(ETHAN_ID, 3)
    assert event is not None
    assert (event.recipient, event.reason) == ("helpdesk", "manager_unreachable")


async def test_a_manager_deleted_from_the_directory_leaves_the_joiner_to_the_helpdesk() -> None:
    world = JoinerWorld()
    world.directory.users.pop(OLIVIA.id)

    await world.run()

    assert {s.reminder.helpdesk_reason for s in world.reminders.sent} == {HelpdeskReason.NO_MANAGER}


async def test_nobody_to_reach_leaves_the_joiner_for_the_next_sweep() -> None:
    world = JoinerWorld()
    world.reminders.unreachable.add(OLIVIA.id)
    world.reminders.helpdesk_channel = False

    report = await world.run()

    assert world.reminders.sent == []
    assert report.counts[OutcomeKind.UNDELIVERABLE] == 2
    assert report.complete  # nothing failed: the next day's sweep tries again
    event = await world.event(ETHAN_ID, 3)
    assert event is not None
    assert (event.state, event.reason) == (
        JoinerState.OPEN,
        "manager: no_chat; helpdesk: no_helpdesk_channel",
    )

    world.reminders.unreachable.clear()
    world.clock.advance(days=1)
    await world.run()

    assert world.reminders.to(Recipient.MANAGER) == ["Ethan Walsh", "Mia Rossi"]


async def test_a_send_that_may_have_arrived_is_never_repeated() -> None:
    world = JoinerWorld()
    world.reminders.fail_after_sending = True

    report = await world.run()
    world.clock.advance(days=1)
    await world.run()

    assert report.counts[OutcomeKind.UNKNOWN] == 1
    assert world.reminders.to(Recipient.MANAGER) == ["Mia Rossi"]
    event = await world.event(ETHAN_ID, 3)
    assert event is not None
    assert event.state is JoinerState.UNKNOWN
    assert ("outcome_unknown", ETHAN_ID) in [(o, t) for o, t, _ in await world.audit()]


async def test_hire_dates_in_the_past_missing_or_unreadable_are_skipped() -> None:
    # West of UTC the query reaches into the evening before the window's first day.
    world = JoinerWorld(config=JoinerConfig(timezone=NEW_YORK, days_ahead=7, margin_days=2))
    world.joiner("Pia Past", "10000000-0000-4000-8000-000000000026", -1)
    # 02:00 UTC on 8 June is 22:00 on 7 June in New York: a day before the margin.
    world.joiner("Ola Older", "10000000-0000-4000-8000-000000000027", -2, at=time(2))
    world.joiner("Una Readable", "10000000-0000-4000-8000-000000000028", 2)
    world.directory.set_unreadable_hire_date("10000000-0000-4000-8000-000000000028", "soon")

    await world.run()

    # Started yesterday: within the margin, still reminded.
    assert world.reminders.to(Recipient.MANAGER) == ["Pia Past", "Ethan Walsh", "Mia Rossi"]
    assert world.reminders.sent[0].reminder.days_until == -1
    # A day one that has passed starts now.
    assert world.reminders.sent[0].reminder.starts_at == world.clock.now()
    skipped = {t: r for o, t, r in await world.audit() if o == "skipped"}
    assert skipped == {
        "10000000-0000-4000-8000-000000000027": "hire_date_past",
        "10000000-0000-4000-8000-000000000028": "hire_date_unreadable",
    }


async def test_the_hire_day_is_read_in_the_time_zone() -> None:
    world = JoinerWorld()
    # 23:30 UTC on day 7 is 00:30 on day 8 in London (BST): after the window.
    world.joiner("Late Larry", "10000000-0000-4000-8000-000000000029", 7, at=time(23, 30))
    # 23:30 UTC on day -3 is 00:30 on day -2 in London: the last day of the margin.
    world.joiner("Early Erin", "10000000-0000-4000-8000-000000000030", -3, at=time(23, 30))

    await world.run()

    names = world.reminders.to(Recipient.MANAGER)
    assert "Late Larry" not in names
    assert "Early Erin" in names


async def test_a_failure_mid_listing_is_resumed_and_nothing_is_sent_twice() -> None:
    world = JoinerWorld()
    for n in range(5):
        world.joiner(f"Bulk {n}", f"10000000-0000-4000-8000-0000000001{n:02d}", 1 + n % 5)
    world.directory.joiner_page_size = 2
    world.directory.joiner_page_failures[2] = DirectoryUnavailable(
        "down", code="serviceNotAvailable"
    )

    first = await world.run()

    assert not first.complete
    assert first.listing_error == "serviceNotAvailable"
    sent_first = len(world.reminders.sent)
    assert sent_first == 4
    assert [o for o, _, _ in await world.audit("joiner_sweep")] == ["incomplete"]

    second = await world.run()

    assert second.complete
    names = [s.reminder.joiner_name for s in world.reminders.sent]
    assert len(names) == len(set(names)) == 7


async def test_a_graph_failure_for_one_joiner_releases_it_for_the_next_run() -> None:
    world = JoinerWorld()
    world.directory.fail("list_passes", DirectoryUnavailable("down", code="generalException"))

    first = await world.run()

    assert first.counts[OutcomeKind.FAILED] == 1
    assert not first.complete
    assert len(world.reminders.sent) == 1
    failed = [t for o, t, _ in await world.audit() if o == "failed"]
    [failed_id] = failed
    event = await world.store.get_joiner(failed_id, world.reminders.sent[0].reminder.hire_day)
    assert event is None or event.state in (JoinerState.OPEN, JoinerState.REMINDED)

    await world.run()

    assert sorted(world.reminders.to(Recipient.MANAGER)) == ["Ethan Walsh", "Mia Rossi"]


async def test_a_throttled_joiner_is_tried_again_after_the_wait() -> None:
    world = JoinerWorld()
    world.directory.fail("list_passes", DirectoryThrottled("slow down", retry_after=7.5), times=2)

    report = await world.run()

    assert report.complete
    assert world.reminders.to(Recipient.MANAGER) == ["Ethan Walsh", "Mia Rossi"]
    assert world.sleeps == [7.5, 7.5]


async def test_a_throttled_role_read_is_tried_again_after_the_wait() -> None:
    # Roles are most of a joiner's Graph calls: when Graph asks the sweep to wait, it waits
    # and tries that joiner again, as for any other read, rather than failing it at once
    # and going on calling Graph for the next.
    world = JoinerWorld()
    world.directory.fail(
        "list_role_assignments", DirectoryThrottled("slow down", retry_after=7.5), times=2
    )

    report = await world.run()

    assert report.complete
    assert world.reminders.to(Recipient.MANAGER) == ["Ethan Walsh", "Mia Rossi"]
    assert world.sleeps == [7.5, 7.5]


async def test_a_role_read_throttled_for_too_long_fails_the_run() -> None:
    world = JoinerWorld()
    world.directory.fail(
        "list_role_assignments", DirectoryThrottled("slow down", retry_after=1), times=None
    )

    report = await world.run()

    assert (report.counts[OutcomeKind.FAILED], report.complete) == (2, False)
    assert world.reminders.sent == []
    assert len(world.sleeps) == 2 * THROTTLE_RETRIES
    event = await world.event(ETHAN_ID, 3)
    assert event is not None
    assert event.state is JoinerState.OPEN
    assert await world.audit() == [
        ("failed", ETHAN_ID, "throttled"),
        ("failed", MIA_ID, "throttled"),
    ]


async def test_a_joiner_throttled_for_too_long_is_left_for_the_next_run() -> None:
    world = JoinerWorld()
    world.directory.fail("list_passes", DirectoryThrottled("slow down", retry_after=1), times=None)

    report = await world.run()

    assert report.counts[OutcomeKind.FAILED] == 2
    assert world.reminders.sent == []


async def test_a_claim_left_by_a_crashed_sweep_is_taken_over_after_its_lease() -> None:
    world = JoinerWorld()
    day = TODAY + timedelta(days=3)
    now = world.clock.now()
    await world.store.claim_joiner(
        ETHAN_ID, day, "crashed", now=now, lease_until=now + timedelta(minutes=10)
    )

    await world.run()
    assert world.reminders.to(Recipient.MANAGER) == ["Mia Rossi"]

    world.clock.advance(minutes=10)
    await world.run()
    assert world.reminders.to(Recipient.MANAGER) == ["Mia Rossi", "Ethan Walsh"]


async def test_a_sweep_that_crashed_while_sending_never_sends_again() -> None:
    world = JoinerWorld()
    day = TODAY + timedelta(days=3)
    now = world.clock.now()
    await world.store.claim_joiner(
        ETHAN_ID, day, "crashed", now=now, lease_until=now + timedelta(minutes=10)
    )
    await world.store.move_joiner(
        ETHAN_ID,
        day,
        expected=[JoinerState.CLAIMED],
        new_state=JoinerState.SENDING,
        at=now,
        owner="crashed",
    )

    world.clock.advance(minutes=11)
    report = await world.run()

    assert world.reminders.to(Recipient.MANAGER) == ["Mia Rossi"]
    assert report.counts[OutcomeKind.UNKNOWN] == 1
    event = await world.event(ETHAN_ID, 3)
    assert event is not None
    assert event.state is JoinerState.UNKNOWN


async def test_two_sweepers_at_once_send_one_reminder_each() -> None:
    world = JoinerWorld()
    for n in range(20):
        world.joiner(f"Many {n}", f"10000000-0000-4000-8000-0000000002{n:02d}", n % 8)
    other = world.sweeper("instance-b")

    reports = await asyncio.gather(world.sweep.run(), other.run())

    names = [s.reminder.joiner_name for s in world.reminders.sent]
    assert len(names) == len(set(names)) == 22
    assert sum(r.counts[OutcomeKind.REMINDED] for r in reports) == 22


async def test_scope_by_department_company_and_group() -> None:
    world = JoinerWorld()
    outsider = person("Ivy Other", id="10000000-0000-4000-8000-000000000040")
    world.directory.add_user(
        dataclasses.replace(outsider, employee_hire_date=world.ethan.employee_hire_date),
        manager_id=OLIVIA.id,
        department="IT",
        company="Contoso Ltd",
    )

    finance = world.sweeper(
        "a",
        config=JoinerConfig(timezone=LONDON, departments=("finance",), companies=("Contoso Ltd",)),
    )
    await finance.run()
    assert "Ivy Other" not in world.reminders.to(Recipient.MANAGER)

    world.directory.add_group("f0000000-0000-4000-8000-00000000000f", ETHAN_ID)
    group = world.sweeper(
        "b", config=JoinerConfig(timezone=LONDON, group_id="f0000000-0000-4000-8000-00000000000f")
    )
    report = await group.run()
    assert world.reminders.to(Recipient.MANAGER) == ["Ethan Walsh", "Mia Rossi"]
    assert (report.found, report.out_of_scope) == (1, 2)  # Ethan; Mia and Ivy are outside
