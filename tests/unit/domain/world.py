"""A small organisation in memory, with the request lifecycle and upkeep wired to twins."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.domain.approvals import ApprovalPolicy
from bot.domain.audit import Auditor
from bot.domain.checks import RequestChecks
from bot.domain.cleanup import PassCleanup
from bot.domain.issuing import PassIssuing
from bot.domain.manager_check import ManagerCheck
from bot.domain.manager_sync import ManagerSync
from bot.domain.membership import GroupMembership
from bot.domain.model import (
    ApproverKind,
    DeliveryMethod,
    IssuedPass,
    RequestKind,
    RequestState,
    RoleAssignmentKind,
    Stage,
    TapRequest,
)
from bot.domain.offers import RequestOffers
from bot.domain.policy import PolicyConfig
from bot.domain.ports import Store
from bot.domain.request_form import RequestForm
from bot.domain.team import TeamPasses
from bot.domain.upkeep import Upkeep
from bot.domain.workflow import Person, RequestService
from tests.twins.board import FakeBoard
from tests.twins.clock import ManualClock
from tests.twins.delivery import FakeDelivery
from tests.twins.directory import FakeDirectory, person
from tests.twins.store import MemoryStore

UTC = ZoneInfo("UTC")

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
BLOCKED = "b1000000-0000-4000-8000-000000000001"
HELPDESK = "a1b2c3d4-0001-4a5b-8c9d-0e1f2a3b4c01"
MANAGER = person("Olivia Bennett", id="10000000-0000-4000-8000-000000000002")
LIAM = person("Liam Carter", id="10000000-0000-4000-8000-000000000011")
NOAH = person("Noah Patel", id="10000000-0000-4000-8000-000000000014")
ADA = person("Ada Lovelace", id="10000000-0000-4000-8000-000000000016")
HARRY = person("Harry Jones", id="10000000-0000-4000-8000-000000000015", account_enabled=False)
STRANGER = person("Sam Stranger", id="10000000-0000-4000-8000-000000000099")
OTHER_MANAGER = person("Daniel Okafor", id="10000000-0000-4000-8000-000000000004")
PRIYA = person("Priya Shah", id="10000000-0000-4000-8000-000000000031")
TOM = person("Tom Becker", id="10000000-0000-4000-8000-000000000032")
CHLOE = person("Chloe Martin", id="10000000-0000-4000-8000-000000000033")
FOUR_EYES = ApprovalPolicy(helpdesk_stages=(Stage(ApproverKind.HELPDESK, 240),))
MANAGER_AND_HELPDESK = ApprovalPolicy(
    helpdesk_stages=(Stage(ApproverKind.MANAGER, 60), Stage(ApproverKind.HELPDESK, 240))
)


class World:
    """The organisation and tapbot's request machinery over it.

    *store*, *clock* and *directory* let a second World run as another bot process over the
    same database and the same tenant (given a *directory*, the organisation is not seeded
    again)."""

    def __init__(
        self,
        *,
        approvals: ApprovalPolicy = FOUR_EYES,
        config: PolicyConfig | None = None,
        store: Store | None = None,
        clock: ManualClock | None = None,
        directory: FakeDirectory | None = None,
        helpdesk_group_id: str = HELPDESK,
        timezone: ZoneInfo = UTC,
    ) -> None:
        self.helpdesk_group_id = helpdesk_group_id
        self.timezone = timezone
        self.clock = clock or ManualClock()
        self.store = store or MemoryStore()  # type: ignore[assignment]
        self.delivery = FakeDelivery()
        self.board = FakeBoard(self.store, self.clock)
        if directory is None:
            self.directory = FakeDirectory(self.clock)
            self._seed()
        else:
            self.directory = directory
        self._wire(approvals, config)

    def _seed(self) -> None:
        for user in (MANAGER, STRANGER, OTHER_MANAGER, PRIYA, TOM, CHLOE):
            self.directory.add_user(user)
        for user in (LIAM, NOAH, HARRY, ADA):
            self.directory.add_user(user, manager_id=MANAGER.id)
        for helper in (PRIYA, TOM, CHLOE):
            self.directory.set_manager(
                helper.id, OTHER_MANAGER.id, at=self.clock.now() - timedelta(days=300)
            )
        self.directory.set_manager(
            STRANGER.id, OTHER_MANAGER.id, at=self.clock.now() - timedelta(days=90)
        )
        self.directory.assign_role(NOAH.id, GLOBAL_ADMIN, RoleAssignmentKind.ELIGIBLE)
        self.directory.add_group(HELPDESK, PRIYA.id, TOM.id, CHLOE.id)

    def _wire(self, approvals: ApprovalPolicy, config: PolicyConfig | None) -> None:
        self.config = config or PolicyConfig(blocked_group_ids=(BLOCKED,))
        auditor = Auditor(self.store, self.clock)
        self.manager_check = ManagerCheck(
            directory=self.directory,
            store=self.store,
            window=timedelta(days=self.config.manager_change_window_days),
            auditor=auditor,
        )
        self.manager_sync = ManagerSync(
            directory=self.directory, store=self.store, clock=self.clock, owner="world"
        )
        self.checks = RequestChecks(
            directory=self.directory,
            pass_issuer=self.directory,
            membership=GroupMembership(self.directory, self.clock),
            clock=self.clock,
            config=self.config,
            helpdesk_group_id=self.helpdesk_group_id,
            manager_check=self.manager_check,
        )
        cleanup = PassCleanup(self.directory, auditor, self.store)
        self.requests = RequestService(
            directory=self.directory,
            checks=self.checks,
            issuing=PassIssuing(
                pass_issuer=self.directory,
                delivery=self.delivery,
                store=self.store,
                auditor=auditor,
                clock=self.clock,
                cleanup=cleanup,
                redact_after=timedelta(minutes=30),
            ),
            delivery=self.delivery,
            board=self.board,
            store=self.store,
            auditor=auditor,
            clock=self.clock,
            config=self.config,
            approvals=approvals,
            helpdesk_group_id=self.helpdesk_group_id,
            timezone=self.timezone,
        )
        self.offers = RequestOffers(
            directory=self.directory,
            pass_issuer=self.directory,
            checks=self.checks,
            store=self.store,
            clock=self.clock,
            config=self.config,
        )
        self.upkeep = Upkeep(
            store=self.store,
            delivery=self.delivery,
            cleanup=cleanup,
            auditor=auditor,
            clock=self.clock,
            expire=self.requests.expire_due,
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

    async def submit(self, by: Person | None = None, **changes: object) -> object:
        return await self.requests.submit(by or as_person(MANAGER), self.form(**changes))

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


def as_person(user: object) -> Person:
    return Person(user.id, user.display_name)  # type: ignore[attr-defined]


def team_passes(world: World) -> TeamPasses:
    """ "team" over *world*'s directory and store."""
    return TeamPasses(
        directory=world.directory,
        pass_issuer=world.directory,
        delivery=world.delivery,
        auditor=Auditor(world.store, world.clock),
        clock=world.clock,
        store=world.store,
    )


TWO_STAGES = (Stage(ApproverKind.MANAGER, 60), Stage(ApproverKind.HELPDESK, 240))


def stored_request(world: World, n: int = 0, **fields: object) -> TapRequest:
    """Priya's helpdesk request number *n* for Liam, as the store would hold it: waiting at
    the first of `TWO_STAGES`, made 100 - *n* minutes ago; *fields* change any of it."""
    at = world.clock.now() - timedelta(minutes=100 - n)
    values: dict[str, object] = {
        "id": f"r{n:03d}",
        "requester_id": PRIYA.id,
        "requester_name": PRIYA.display_name,
        "target_id": LIAM.id,
        "target_name": LIAM.display_name,
        "lifetime_minutes": 60,
        "is_usable_once": True,
        "start_at": None,
        "delivery": DeliveryMethod.CHAT_TO_REQUESTER,
        "justification": "Lost phone",
        "state": RequestState.PENDING_APPROVAL,
        "created_at": at,
        "updated_at": at,
        "kind": RequestKind.HELPDESK,
        "stages": TWO_STAGES,
        "stage": 1,
        "stage_due_at": at + timedelta(minutes=60),
    }
    values.update(fields)
    return TapRequest(**values)  # type: ignore[arg-type]
