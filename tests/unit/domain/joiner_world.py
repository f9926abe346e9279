"""A small organisation with joiners, the sweep, its schedule and the answers wired to twins.

The clock is frozen at Tuesday 10 June 2025, 07:00 UTC (08:00 in London, the sweep time).
Olivia manages Ethan (starts in 3 days), Mia (6) and Oscar (10); hire dates are written as
dates (midnight UTC) unless a test says otherwise.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.audit import Auditor
from bot.domain.joiner_answers import JoinerAnswers
from bot.domain.joiner_schedule import JoinerSchedule
from bot.domain.joiner_steps import SweepPorts
from bot.domain.joiner_sweep import JoinerSweep, SweepReport
from bot.domain.joiners import JoinerConfig, JoinerEvent
from bot.domain.model import DirectoryUser
from bot.domain.policy import PolicyConfig
from tests.twins.clock import ManualClock
from tests.twins.directory import FakeDirectory, person
from tests.twins.reminders import FakeReminders
from tests.twins.store import MemoryStore

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2025, 6, 10, 7, 0, tzinfo=UTC)
TODAY = date(2025, 6, 10)
HELPDESK_GROUP = "a1b2c3d4-0001-4a5b-8c9d-0e1f2a3b4c01"
BLOCKED_GROUP = "a1b2c3d4-0002-4a5b-8c9d-0e1f2a3b4c02"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"

OLIVIA = person("Olivia Bennett", id="10000000-0000-4000-8000-000000000002")
DANIEL = person("Daniel Okafor", id="10000000-0000-4000-8000-000000000004")
PRIYA = person("Priya Shah", id="10000000-0000-4000-8000-000000000031")
STRANGER = person("Sam Stranger", id="10000000-0000-4000-8000-000000000099")
ETHAN_ID = "10000000-0000-4000-8000-000000000021"
MIA_ID = "10000000-0000-4000-8000-000000000022"
OSCAR_ID = "10000000-0000-4000-8000-000000000023"


def hired(days: int, at: time = time(0)) -> datetime:
    """A hire date *days* after TODAY, written at *at* UTC (midnight: written as a date)."""
    return datetime.combine(TODAY + timedelta(days=days), at, UTC)


class JoinerWorld:
    def __init__(self, *, config: JoinerConfig | None = None) -> None:
        self.clock = ManualClock(NOW)
        self.directory = FakeDirectory(self.clock)
        self.store = MemoryStore()
        self.reminders = FakeReminders()
        self.auditor = Auditor(self.store, self.clock)
        self.config = config or JoinerConfig(timezone=LONDON, days_ahead=7, margin_days=2)
        self.policy = PolicyConfig(blocked_group_ids=(BLOCKED_GROUP,))
        self.sleeps: list[float] = []
        for user in (OLIVIA, DANIEL, PRIYA, STRANGER):
            self.directory.add_user(user)
        self.directory.add_group(HELPDESK_GROUP, PRIYA.id)
        self.ethan = self.joiner("Ethan Walsh", ETHAN_ID, 3, job_title="Junior Accountant")
        self.mia = self.joiner("Mia Rossi", MIA_ID, 6, job_title="Treasury Analyst")
        self.oscar = self.joiner("Oscar Nguyen", OSCAR_ID, 10)
        self.sweep = self.sweeper("instance-a")
        self.answers = JoinerAnswers(
            directory=self.directory,
            store=self.store,
            auditor=self.auditor,
            clock=self.clock,
            config=self.config,
            helpdesk_group_id=HELPDESK_GROUP,
        )

    def joiner(
        self,
        name: str,
        user_id: str,
        days: int,
        *,
        manager: DirectoryUser | None = OLIVIA,
        at: time = time(0),
        **fields: object,
    ) -> DirectoryUser:
        user = person(name, id=user_id, employee_hire_date=hired(days, at), **fields)
        return self.directory.add_user(
            user,
            manager_id=manager.id if manager else None,
            department="Finance",
            company="Contoso Ltd",
        )

    def rehire(self, user_id: str, days: int, at: time = time(0)) -> None:
        user = self.directory.users[user_id]
        self.directory.users[user_id] = dataclasses.replace(
            user, employee_hire_date=hired(days, at)
        )

    def sweeper(self, owner: str, *, config: JoinerConfig | None = None) -> JoinerSweep:
        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        return JoinerSweep(
            SweepPorts(
                directory=self.directory,
                pass_issuer=self.directory,
                store=self.store,
                reminders=self.reminders,
                auditor=self.auditor,
                clock=self.clock,
            ),
            config=config or self.config,
            policy=self.policy,
            owner=owner,
            sleep=sleep,
        )

    def schedule(self, owner: str = "instance-a", **changes: object) -> JoinerSchedule:
        config = dataclasses.replace(self.config, **changes)  # type: ignore[arg-type]
        return JoinerSchedule(self.sweeper(owner, config=config))

    async def run(self) -> SweepReport:
        return await self.sweep.run()

    async def event(self, user_id: str, days: int) -> JoinerEvent | None:
        return await self.store.get_joiner(user_id, TODAY + timedelta(days=days))

    async def audit(self, action: str = "joiner") -> list[tuple[str, str | None, str | None]]:
        events = await self.store.list_audit(limit=1000)
        return [(e.outcome, e.target_id, e.reason) for e in reversed(events) if e.action == action]
