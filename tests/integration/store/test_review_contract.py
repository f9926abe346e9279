"""What the attack review relies on from the store, on memory, SQLite and PostgreSQL: two bot
instances deciding, cancelling and expiring one stage make one change; an approval cannot put a
second request for a person in flight; a pass found after a request ended is recorded on it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from bot.domain.errors import StoreConflict
from bot.domain.model import (
    ApprovalContext,
    ApproverKind,
    Decision,
    RequestKind,
    RequestState,
    Stage,
    TapRequest,
)
from bot.domain.ports import Store
from tests.integration.store.support import T0, Backend, minutes, request

PENDING = RequestState.PENDING_APPROVAL


def _pending(request_id: str = "r1", **fields: object) -> TapRequest:
    values: dict[str, object] = {
        "kind": RequestKind.HELPDESK,
        "stages": (Stage(ApproverKind.HELPDESK, 240), Stage(ApproverKind.MANAGER, 60)),
        "stage": 1,
        "stage_due_at": T0 + minutes(240),
    }
    values.update(fields)
    return request(request_id, **values)


async def _on_two_instances(
    backend: Backend, moves: list[Callable[[Store], Awaitable[TapRequest]]]
) -> list[TapRequest | BaseException]:
    """Run *moves* at once, alternating between this store and a second instance's."""
    if backend.url is None:
        return list(
            await asyncio.gather(*(m(backend.store) for m in moves), return_exceptions=True)
        )
    async with backend.another_instance() as other:
        stores = [backend.store, other]
        return list(
            await asyncio.gather(
                *(m(stores[n % 2]) for n, m in enumerate(moves)), return_exceptions=True
            )
        )


async def test_approve_deny_cancel_and_expire_on_two_instances_make_one_change(
    backend: Backend,
) -> None:
    await backend.store.add_request(_pending())

    def decide(who: str, *, approve: bool) -> Callable[[Store], Awaitable[TapRequest]]:
        decision = Decision(1, approve, who, who, T0, "" if approve else "no")
        target = PENDING if approve else RequestState.DENIED
        changes: dict[str, object] = {"decisions": (decision,)}
        if approve:
            changes["stage"] = 2
        return lambda store: store.transition(
            "r1", expected=[PENDING], expected_stage=1, new_state=target, at=T0, changes=changes
        )

    def end(state: RequestState, reason: str) -> Callable[[Store], Awaitable[TapRequest]]:
        return lambda store: store.transition(
            "r1", expected=[PENDING], expected_stage=1, new_state=state, at=T0,
            changes={"reason": reason, "stage_due_at": None},
        )  # fmt: skip

    results = await _on_two_instances(
        backend,
        [
            decide("tom", approve=True),
            decide("chloe", approve=False),
            end(RequestState.CANCELLED, "cancelled_by_requester"),
            end(RequestState.EXPIRED, "stage_timeout"),
        ]
        * 2,
    )

    winners = [r for r in results if isinstance(r, TapRequest)]
    assert len(winners) == 1
    assert all(isinstance(r, StoreConflict) for r in results if r is not winners[0])
    stored = await backend.store.get_request("r1")
    assert stored is not None
    assert (stored.state, stored.stage, stored.version) == (
        winners[0].state,
        winners[0].stage,
        winners[0].version,
    )
    assert len(stored.decisions) <= 1


async def test_a_final_approval_cannot_put_a_second_request_for_the_person_in_flight(
    backend: Backend,
) -> None:
    await backend.store.add_request(request("issuing", state=RequestState.ISSUING))
    await backend.store.add_request(_pending("waiting", stage=2))

    with pytest.raises(StoreConflict):
        await backend.store.transition(
            "waiting",
            expected=[PENDING],
            expected_stage=2,
            new_state=RequestState.APPROVED,
            at=T0,
        )
    stored = await backend.store.get_request("waiting")
    assert stored is not None
    assert (stored.state, stored.stage) == (PENDING, 2)


async def test_a_pass_found_after_the_request_failed_is_recorded_on_it(store: Store) -> None:
    await store.add_request(request(state=RequestState.FAILED, reason="interrupted"))
    ends = T0 + timedelta(hours=1)

    recorded = await store.update_request(
        "r1", changes={"reason": "pass_not_deleted", "pass_id": "p-1", "pass_ends_at": ends}
    )

    assert (recorded.state, recorded.reason, recorded.pass_id, recorded.pass_ends_at) == (
        RequestState.FAILED,
        "pass_not_deleted",
        "p-1",
        ends,
    )
    [due] = await store.list_requests(
        states=[RequestState.FAILED], reasons=["pass_not_deleted", "pass_unknown"]
    )
    assert due.id == "r1"


async def test_the_live_pass_asked_about_is_kept_with_the_question(store: Store) -> None:
    ends = T0 + timedelta(hours=2)
    await store.add_request(request(state=RequestState.ISSUING, issuing_started_at=T0))

    asking = await store.transition(
        "r1",
        expected=[RequestState.ISSUING],
        new_state=RequestState.DRAFT,
        at=T0,
        changes={
            "reason": "existing_pass",
            "issuing_started_at": None,
            "context": ApprovalContext(target_manager_name="Olivia", existing_pass_ends_at=ends),
        },
    )

    assert asking == await store.get_request("r1")
    assert asking.context.existing_pass_ends_at == ends
