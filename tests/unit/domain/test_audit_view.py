"""The audit view: helpdesk members only (asked of the directory every time), paged, named."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.audit import Auditor
from bot.domain.audit_view import (
    CANNOT_CHECK,
    NOT_HELPDESK,
    AuditViewer,
    AuditViewPage,
    AuditViewQuery,
    AuditViewRefused,
    PersonNotFound,
)
from bot.domain.errors import DirectoryUnavailable
from bot.domain.model import AuditEvent
from tests.twins.directory import person
from tests.unit.domain.world import LIAM, MANAGER, NOAH, World

HELPDESK_GROUP = "a1b2c3d4-0001-4a5b-8c9d-0e1f2a3b4c01"
PRIYA = person("Priya Shah", id="10000000-0000-4000-8000-000000000031")
PAGE = 3


@pytest.fixture
def viewer(world: World) -> AuditViewer:
    world.directory.add_user(PRIYA)
    world.directory.add_group(HELPDESK_GROUP, PRIYA.id)
    return _viewer(world, HELPDESK_GROUP)


def _viewer(world: World, group: str) -> AuditViewer:
    return AuditViewer(
        directory=world.directory,
        store=world.store,
        auditor=Auditor(world.store, world.clock),
        clock=world.clock,
        helpdesk_group_id=group,
        page_size=PAGE,
    )


async def _events(world: World, count: int, **fields: object) -> list[AuditEvent]:
    stored = []
    for n in range(count):
        values: dict[str, object] = {
            "at": world.clock.now() - timedelta(minutes=count - n),
            "action": "request",
            "outcome": "refused" if n % 2 else "created",
            "actor_id": MANAGER.id,
            "target_id": LIAM.id if n % 3 else NOAH.id,
        }
        values.update(fields)
        stored.append(await world.store.append_audit(AuditEvent(**values)))  # type: ignore[arg-type]
    return stored


async def test_a_helpdesk_member_pages_through_recent_events_newest_first(
    world: World, viewer: AuditViewer
) -> None:
    stored = await _events(world, 7)
    seen = []
    query = AuditViewQuery()
    while True:
        page = await viewer.page(PRIYA.id, query)
        assert isinstance(page, AuditViewPage)
        seen += page.events
        if page.next is None:
            break
        query = AuditViewQuery(after=page.next)
    assert seen == stored[::-1]


async def test_names_are_looked_up_for_the_people_on_the_page_only(
    world: World, viewer: AuditViewer
) -> None:
    await _events(world, 5, actor_id="tapbot")
    page = await viewer.page(PRIYA.id, AuditViewQuery())
    assert isinstance(page, AuditViewPage)
    assert page.names == {LIAM.id: "Liam Carter", NOAH.id: "Noah Patel"}
    assert world.directory.called("get_user") == 2  # "tapbot" is no directory id


async def test_a_name_the_directory_cannot_give_leaves_the_id(
    world: World, viewer: AuditViewer
) -> None:
    await _events(world, 2)
    world.directory.fail("get_user", DirectoryUnavailable("down"), times=None)
    page = await viewer.page(PRIYA.id, AuditViewQuery())
    assert isinstance(page, AuditViewPage)
    assert page.names == {}
    assert len(page.events) == 2


async def test_filters_by_person_requester_and_outcome(world: World, viewer: AuditViewer) -> None:
    stored = await _events(world, 9)
    await _events(world, 2, actor_id=PRIYA.id, target_id=MANAGER.id)

    page = await viewer.page(
        PRIYA.id, AuditViewQuery(person_id=LIAM.id, requester_id=MANAGER.id, outcome="refused")
    )

    assert isinstance(page, AuditViewPage)
    expected = [e for e in stored if e.target_id == LIAM.id and e.outcome == "refused"][::-1]
    assert page.events == expected[:PAGE]
    assert page.names[MANAGER.id] == "Olivia Bennett"


async def test_someone_outside_the_helpdesk_is_refused_and_audited(
    world: World, viewer: AuditViewer
) -> None:
    await _events(world, 2)
    refused = await viewer.page(MANAGER.id, AuditViewQuery())
    assert refused == AuditViewRefused(NOT_HELPDESK)
    [event] = await world.store.list_audit(action="audit")
    assert (event.outcome, event.reason, event.actor_id) == ("refused", "not_helpdesk", MANAGER.id)


async def test_membership_is_read_at_every_click(world: World, viewer: AuditViewer) -> None:
    assert isinstance(await viewer.page(PRIYA.id, AuditViewQuery()), AuditViewPage)
    world.directory.groups[HELPDESK_GROUP].discard(PRIYA.id)
    assert isinstance(await viewer.page(PRIYA.id, AuditViewQuery()), AuditViewRefused)
    assert world.directory.called("member_of_groups") == 2


async def test_without_a_helpdesk_group_nobody_sees_the_trail(world: World) -> None:
    refused = await _viewer(world, "").page(MANAGER.id, AuditViewQuery())
    assert refused == AuditViewRefused(NOT_HELPDESK)
    assert [(e.outcome, e.reason) for e in await world.store.list_audit()] == [
        ("refused", "no_helpdesk_group")
    ]


async def test_a_directory_failure_is_not_taken_as_membership(
    world: World, viewer: AuditViewer
) -> None:
    world.directory.fail("member_of_groups", DirectoryUnavailable("down", code="timeout"))
    assert await viewer.page(PRIYA.id, AuditViewQuery()) == AuditViewRefused(CANNOT_CHECK)
    [event] = await world.store.list_audit()
    assert (event.action, event.outcome, event.reason) == ("audit", "failed", "directory_error")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (LIAM.id, "Liam Carter"),
        ("liam.carter@contoso.example", "Liam Carter"),
        ("Lia", "Liam Carter"),
        ("noah patel", "Noah Patel"),
    ],
)
async def test_a_filter_finds_one_person_by_id_email_or_name(
    world: World, viewer: AuditViewer, text: str, found: str
) -> None:
    person_found = await viewer.find_person(text)
    assert not isinstance(person_found, PersonNotFound)
    assert person_found.display_name == found


async def test_a_filter_naming_nobody_or_several_says_so(world: World, viewer: AuditViewer) -> None:
    world.directory.add_user(person("Liam Carterson"))
    several = await viewer.find_person("Liam")
    assert isinstance(several, PersonNotFound)
    assert "Several people match" in several.text
    assert "Liam Carter, Liam Carterson" in several.text
    exact = await viewer.find_person("Liam Carter")
    assert not isinstance(exact, PersonNotFound)
    nobody = await viewer.find_person("Zebedee")
    assert isinstance(nobody, PersonNotFound)
    assert "No one in the directory matches" in nobody.text
    unknown_id = await viewer.find_person("10000000-0000-4000-8000-00000000beef")
    assert isinstance(unknown_id, PersonNotFound)
