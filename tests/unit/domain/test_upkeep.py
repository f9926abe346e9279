"""Upkeep: recovery after crashes, retried deletions, and redaction that survives failures."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.errors import DeliveryFailed, DirectoryUnavailable
from bot.domain.model import DeliveryMethod, RequestState, ScheduledEdit, TapRequest
from bot.domain.outcomes import request_id_for
from tests.unit.domain.world import ADA, LIAM, MANAGER, World


async def _stuck(world: World, *, pass_id: str | None, state: RequestState) -> TapRequest:
    now = world.clock.now()
    request = TapRequest(
        id=request_id_for(MANAGER.id, "f0000000-0000-4000-8000-0000000000aa"),
        requester_id=MANAGER.id,
        requester_name=MANAGER.display_name,
        target_id=LIAM.id,
        target_name=LIAM.display_name,
        lifetime_minutes=60,
        is_usable_once=True,
        start_at=None,
        delivery=DeliveryMethod.CHAT_TO_REQUESTER,
        justification="x",
        state=state,
        created_at=now,
        updated_at=now,
        pass_id=pass_id,
        issuing_started_at=now if state is RequestState.ISSUING else None,
    )
    await world.store.add_request(request)
    return request


async def _issue_directly(world: World) -> str:
    issued = await world.directory.create_pass(
        LIAM.id, lifetime_minutes=60, is_usable_once=True, start_at=None
    )
    return issued.info.id


async def test_a_stale_request_is_failed_its_pass_deleted_and_the_requester_told(
    world: World,
) -> None:
    stuck = await _stuck(world, pass_id=await _issue_directly(world), state=RequestState.ISSUING)
    assert await world.upkeep.recover() == 0  # within the lease: maybe still being worked on
    world.clock.advance(minutes=11)
    assert await world.upkeep.recover() == 1
    assert world.directory.pass_of(LIAM.id) is None
    failed = await world.store.get_request(stuck.id)
    assert failed is not None
    assert (failed.state, failed.reason) == (RequestState.FAILED, "interrupted")
    assert [user for user, _ in world.delivery.notices] == [MANAGER.id]
    assert await world.upkeep.recover() == 0


async def test_a_crash_before_the_pass_id_was_saved_still_deletes_the_pass(world: World) -> None:
    await _stuck(world, pass_id=None, state=RequestState.ISSUING)
    await _issue_directly(world)
    world.clock.advance(minutes=11)
    assert await world.upkeep.recover() == 1
    assert world.directory.pass_of(LIAM.id) is None


async def test_a_pass_that_cannot_be_deleted_yet_is_retried_later(world: World) -> None:
    stuck = await _stuck(world, pass_id=await _issue_directly(world), state=RequestState.ISSUING)
    world.directory.fail("delete_pass", DirectoryUnavailable("down"), times=None)
    world.clock.advance(minutes=11)
    await world.upkeep.recover()
    assert (await world.store.get_request(stuck.id)).reason == "pass_not_deleted"  # type: ignore[union-attr]
    assert "couldn't yet make sure" in world.delivery.notices[0][1]
    assert await world.upkeep.retry_deletions() == 0
    world.directory.heal("delete_pass")
    assert await world.upkeep.retry_deletions() == 1
    assert world.directory.pass_of(LIAM.id) is None
    assert await world.upkeep.retry_deletions() == 0


async def test_redaction_happens_once_when_due(world: World) -> None:
    await world.submit()
    assert await world.upkeep.redact_due() == 0
    world.clock.advance(minutes=31)
    assert await world.upkeep.redact_due() == 1
    assert await world.upkeep.redact_due() == 0
    assert len(world.delivery.redacted) == 1
    assert ("delivery", "redacted", None) in await world.audit()


async def test_a_failing_redaction_is_retried_without_blocking_and_abandoned_late(
    world: World,
) -> None:
    first = await world.submit()
    await world.submit(target=ADA.id, form_id="f0000000-0000-4000-8000-000000000002")
    real_redact = world.delivery.redact
    broken = f"redact:{first.request.id}"  # type: ignore[attr-defined]

    async def first_one_fails(edit: ScheduledEdit) -> None:
        if edit.id == broken:
            raise DeliveryFailed("Teams did not accept the edit")
        await real_redact(edit)

    world.delivery.redact = first_one_fails  # type: ignore[method-assign]
    world.clock.advance(minutes=31)
    assert await world.upkeep.redact_due() == 1  # the second edit went through
    assert await world.upkeep.redact_due() == 0  # the first is retried, still failing
    world.clock.advance(days=2)
    assert await world.upkeep.redact_due() == 0
    assert ("delivery", "redaction_abandoned", None) in await world.audit()
    assert await world.store.due_edits(world.clock.now() + timedelta(days=30)) == []
