"""A small organisation in memory, with the request flow and upkeep wired to twins."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.domain.audit import Auditor
from bot.domain.cleanup import PassCleanup
from bot.domain.manager_check import ManagerCheck, WatchedDirectory
from bot.domain.manager_sync import ManagerSync
from bot.domain.model import DeliveryMethod, IssuedPass, RoleAssignmentKind
from bot.domain.policy import PolicyConfig
from bot.domain.request_form import RequestForm
from bot.domain.upkeep import Upkeep
from bot.domain.workflow import ManagerRequests
from tests.twins.clock import ManualClock
from tests.twins.delivery import FakeDelivery
from tests.twins.directory import FakeDirectory, person
from tests.twins.store import MemoryStore

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
BLOCKED = "b1000000-0000-4000-8000-000000000001"
MANAGER = person("Olivia Bennett", id="10000000-0000-4000-8000-000000000002")
LIAM = person("Liam Carter", id="10000000-0000-4000-8000-000000000011")
NOAH = person("Noah Patel", id="10000000-0000-4000-8000-000000000014")
ADA = person("Ada Lovelace", id="10000000-0000-4000-8000-000000000016")
HARRY = person("Harry Jones", id="10000000-0000-4000-8000-000000000015", account_enabled=False)
STRANGER = person("Sam Stranger", id="10000000-0000-4000-8000-000000000099")
OTHER_MANAGER = person("Daniel Okafor", id="10000000-0000-4000-8000-000000000004")


class World:
    def __init__(self) -> None:
        self.clock = ManualClock()
        self.directory = FakeDirectory(self.clock)
        self.store = MemoryStore()
        self.delivery = FakeDelivery()
        for user in (MANAGER, STRANGER, OTHER_MANAGER):
            self.directory.add_user(user)
        for user in (LIAM, NOAH, HARRY, ADA):
            self.directory.add_user(user, manager_id=MANAGER.id)
        self.directory.set_manager(
            STRANGER.id, OTHER_MANAGER.id, at=self.clock.now() - timedelta(days=90)
        )
        self.directory.assign_role(NOAH.id, GLOBAL_ADMIN, RoleAssignmentKind.ELIGIBLE)
        config = PolicyConfig(blocked_group_ids=(BLOCKED,))
        self.manager_check = ManagerCheck(
            directory=self.directory,
            store=self.store,
            window=timedelta(days=config.manager_change_window_days),
            auditor=Auditor(self.store, self.clock),
        )
        self.manager_sync = ManagerSync(
            directory=self.directory, store=self.store, clock=self.clock, owner="world"
        )
        self.requests = ManagerRequests(
            directory=WatchedDirectory(self.directory, self.manager_check),
            pass_issuer=self.directory,
            delivery=self.delivery,
            store=self.store,
            auditor=Auditor(self.store, self.clock),
            clock=self.clock,
            config=config,
            redact_after=timedelta(minutes=30),
        )
        self.upkeep = Upkeep(
            store=self.store,
            delivery=self.delivery,
            cleanup=PassCleanup(self.directory, Auditor(self.store, self.clock)),
            auditor=Auditor(self.store, self.clock),
            clock=self.clock,
        )

    async def baseline(self) -> None:
        """Record everyone's manager as the users delta shows them now (a fresh install's
        first poll)."""
        report = await self.manager_sync.poll()
        assert report.round_completed

    def form(
        self,
        target: str = LIAM.id,
        form_id: str = "f0000000-0000-4000-8000-000000000001",
        **changes: object,
    ) -> RequestForm:
        values: dict[str, object] = {
            "form_id": form_id,
            "target_id": target,
            "lifetime_minutes": 60,
            "is_usable_once": True,
            "start_at": None,
            "delivery": DeliveryMethod.CHAT_TO_REQUESTER,
            "justification": "New starter, first day today",
        }
        values.update(changes)
        return RequestForm(**values)  # type: ignore[arg-type]

    async def submit(self, **changes: object) -> object:
        return await self.requests.submit(MANAGER.id, MANAGER.display_name, self.form(**changes))

    async def audit(self) -> list[tuple[str, str, str | None]]:
        events = await self.store.list_audit(limit=1000)
        return [(e.action, e.outcome, e.reason) for e in reversed(events)]

    def hold_pass_creation(self) -> tuple[asyncio.Event, asyncio.Event]:
        """Make create_pass wait: the first event is set when a creation starts, and the
        creation goes on once the second is set (to interleave another caller)."""
        entered = asyncio.Event()
        release = asyncio.Event()
        real_create = self.directory.create_pass

        async def held(*args: object, **kwargs: object) -> IssuedPass:
            entered.set()
            await release.wait()
            return await real_create(*args, **kwargs)  # type: ignore[arg-type]

        self.directory.create_pass = held  # type: ignore[method-assign]
        return entered, release
