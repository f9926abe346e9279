"""JOINER_AUTO_ISSUE asks for a pass without a person only for an account that is really new.

A hire date and a personal address can be written by anyone who may write users; an
account's createdDateTime only by Entra, when it makes the account. Set on a long-standing
employee, the first two would have tapbot email a pass to an address of the writer's choice.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.delivery_options import DeliverySetup
from bot.domain.joiner_answers import JoinerAnswers
from bot.domain.joiner_issue import JoinerIssuing
from bot.domain.joiner_steps import SweepPorts
from bot.domain.joiner_sweep import JoinerSweep
from bot.domain.joiners import JoinerConfig, JoinerState, Reminder, is_new_account
from bot.domain.model import DeliveryMethod, RequestKind
from tests.twins.clock import ManualClock
from tests.twins.reminders import FakeReminders
from tests.unit.domain.world import HELPDESK, LIAM, MANAGER, World

NOW = datetime(2025, 6, 10, 7, 0, tzinfo=UTC)
DAY = timedelta(days=1)


# The rule


@pytest.mark.parametrize(
    ("created", "max_days", "new"),
    [
        (NOW - 4 * DAY, 60, True),
        (NOW - 60 * DAY, 60, True),  # exactly the limit: still new
        (NOW - 60 * DAY - timedelta(seconds=1), 60, False),
        (NOW - 400 * DAY, 60, False),
        (NOW - DAY, 1, True),
        (NOW - DAY - timedelta(seconds=1), 1, False),
        (NOW, 60, True),
        # Entra's clock a little ahead of ours: made just now, not in the future.
        (NOW + timedelta(seconds=30), 60, True),
        (None, 60, False),
        (None, 365, False),
    ],
)
def test_an_account_is_new_for_its_first_max_days(
    created: datetime | None, max_days: int, new: bool
) -> None:
    assert is_new_account(created, NOW, max_days) is new


def test_the_rule_compares_instants_whatever_the_offset() -> None:
    sydney = ZoneInfo("Australia/Sydney")
    created = (NOW - 60 * DAY).astimezone(sydney)
    assert is_new_account(created, NOW, 60)
    assert not is_new_account(created - timedelta(seconds=1), NOW.astimezone(sydney), 60)


def test_the_rule_refuses_naive_times() -> None:
    naive = datetime(2025, 6, 1, 9, 0)  # noqa: DTZ001  # the case under test
    with pytest.raises(ValueError, match="timezone-aware"):
        is_new_account(naive, NOW, 60)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_new_account(NOW, naive, 60)


# The sweep's automatic path


class AutoSweep:
    """Liam starts in three days with a personal address and JOINER_AUTO_ISSUE on; his
    account was created at *created* (None: the directory does not say)."""

    def __init__(self, created: datetime | None, *, max_days: int = 60) -> None:
        self.world = world = World(clock=ManualClock(NOW))
        now = world.clock.now()
        self.day = now.date() + timedelta(days=3)
        self.config = JoinerConfig(
            timezone=ZoneInfo("UTC"),
            delivery=DeliverySetup(sms=False, email=True, chat_to_target=False),
            auto_issue=True,
            auto_max_account_age_days=max_days,
        )
        world.directory.users[LIAM.id] = dataclasses.replace(
            LIAM,
            employee_hire_date=datetime.combine(self.day, time(0), UTC),
            other_mails=("liam.home@example.net",),
        )
        world.directory.set_created(LIAM.id, created)
        auditor = world.requests._audit
        answers = JoinerAnswers(
            directory=world.directory,
            store=world.store,
            auditor=auditor,
            clock=world.clock,
            config=self.config,
            helpdesk_group_id=HELPDESK,
        )
        issuing = JoinerIssuing(
            answers=answers,
            requests=world.requests,
            store=world.store,
            auditor=auditor,
            clock=world.clock,
            config=self.config,
            offers=world.offers,
        )
        self.reminders = FakeReminders()
        self.sweep = JoinerSweep(
            SweepPorts(
                directory=world.directory,
                pass_issuer=world.directory,
                store=world.store,
                reminders=self.reminders,
                auditor=auditor,
                clock=world.clock,
                issuing=issuing,
            ),
            config=self.config,
            policy=world.config,
            owner="instance-a",
        )

    async def run(self) -> Reminder:
        await self.world.baseline()
        report = await self.sweep.run()
        assert report.complete
        [sent] = self.reminders.sent
        return sent.reminder

    async def skips(self) -> list[tuple[str | None, str | None, dict[str, str]]]:
        events = await self.world.store.list_audit(limit=1000)
        return [
            (e.target_id, e.reason, dict(e.detail))
            for e in events
            if (e.action, e.outcome) == ("joiner", "auto_skipped")
        ]


async def test_an_account_created_400_days_ago_gets_the_reminder_and_no_automatic_pass() -> None:
    setup = AutoSweep(NOW - 400 * DAY)

    reminder = await setup.run()

    assert reminder.request is None
    assert reminder.notice == (
        "I didn't issue it automatically: their account was created 400 days ago, so a "
        "person should confirm they are new."
    )
    assert reminder.manager == MANAGER
    assert any(o.method is DeliveryMethod.EMAIL and o.available for o in reminder.deliveries)
    world = setup.world
    assert await world.store.list_requests() == []
    assert world.directory.pass_of(LIAM.id) is None
    event = await world.store.get_joiner(LIAM.id, setup.day)
    assert event is not None
    assert event.state is JoinerState.REMINDED
    assert event.details["notice"] == reminder.notice
    created = NOW - 400 * DAY
    assert await setup.skips() == [
        (
            LIAM.id,
            "account_not_new",
            {
                "hire_day": setup.day.isoformat(),
                "created_at": created.isoformat(),
                "max_account_age_days": "60",
            },
        )
    ]
    audited = [(a, o) for a, o, _ in await world.audit()]
    assert ("joiner", "reminded") in audited
    assert ("joiner", "auto_requested") not in audited


async def test_an_account_of_unknown_age_gets_the_reminder_and_no_automatic_pass() -> None:
    setup = AutoSweep(None)

    reminder = await setup.run()

    assert reminder.request is None
    assert reminder.notice == (
        "I didn't issue it automatically: the directory doesn't say when their account was "
        "created, so a person should confirm they are new."
    )
    assert await setup.world.store.list_requests() == []
    [(_, reason, detail)] = await setup.skips()
    assert (reason, detail["created_at"]) == ("account_not_new", "unknown")


async def test_just_past_the_limit_the_card_says_more_than_the_limit() -> None:
    """30 days less a minute is 29 whole days: the card does not say "29 days ago" when 29
    days are allowed."""
    setup = AutoSweep(NOW - 30 * DAY + timedelta(minutes=1), max_days=29)

    reminder = await setup.run()

    assert reminder.notice == (
        "I didn't issue it automatically: their account was created more than 29 days ago, "
        "so a person should confirm they are new."
    )
    assert await setup.world.store.list_requests() == []


@pytest.mark.parametrize("days", [4, 60])
async def test_a_new_account_gets_its_pass_asked_for_automatically(days: int) -> None:
    setup = AutoSweep(NOW - days * DAY)

    reminder = await setup.run()

    assert reminder.notice == ""
    assert reminder.request is not None
    [request] = await setup.world.store.list_requests()
    assert (request.id, request.kind, request.requester_id, request.delivery) == (
        reminder.request.id,
        RequestKind.JOINER,
        MANAGER.id,
        DeliveryMethod.EMAIL,
    )
    event = await setup.world.store.get_joiner(LIAM.id, setup.day)
    assert event is not None
    assert (event.state, event.owner) == (JoinerState.REQUESTED, request.id)
    assert await setup.skips() == []
