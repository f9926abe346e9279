"""The `Store` contract for the request lifecycle: approval plans and decisions, stage-checked
transitions, due work, card copies, and atomic rate limits — on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.errors import LimitReached, StoreConflict
from bot.domain.model import (
    ApprovalContext,
    ApproverKind,
    ConversationRecord,
    Decision,
    RateLimit,
    RequestKind,
    RequestMessage,
    RequestState,
    Stage,
    TapRequest,
)
from bot.domain.ports import Store
from tests.integration.store.support import T0, Backend, minutes, request

PENDING = RequestState.PENDING_APPROVAL
PLAN = (
    Stage(ApproverKind.MANAGER, 120),
    Stage(ApproverKind.HELPDESK, 240),
    Stage(ApproverKind.GROUP, 60, group_id="a1b2c3d4-0001-4a5b-8c9d-0e1f2a3b4c01"),
)


def pending(request_id: str = "r1", **fields: object) -> TapRequest:
    values: dict[str, object] = {
        "kind": RequestKind.HELPDESK,
        "stages": PLAN,
        "stage": 1,
        "stage_due_at": T0 + minutes(120),
        "context": ApprovalContext(
            target_job_title="Payroll Officer",
            target_manager_name="Olivia Bennett",
            manager_changed_at=T0 - timedelta(days=2),
            previous_manager_name="Daniel Okafor",
            manager_changed_by="Robert Lang",
            joiner_hire_day="2026-12-14",
        ),
    }
    values.update(fields)
    return request(request_id, **values)


async def test_the_approval_plan_and_context_read_back_equal(store: Store) -> None:
    decided = Decision(1, True, "approver-1", "Tom Becker", T0 + minutes(5))
    await store.add_request(pending(decisions=(decided,)))

    got = await store.get_request("r1")

    assert got == pending(decisions=(decided,))
    assert got is not None
    assert got.kind is RequestKind.HELPDESK
    assert got.current_stage == PLAN[0]
    assert got.decisions[0].at.tzinfo is UTC


async def test_a_request_without_a_plan_reads_back_with_defaults(store: Store) -> None:
    await store.add_request(request(state=RequestState.DRAFT))
    got = await store.get_request("r1")
    assert got is not None
    assert (got.kind, got.stages, got.decisions, got.context) == (
        RequestKind.MANAGER,
        (),
        (),
        ApprovalContext(),
    )
    assert got.current_stage is None


async def test_a_decision_moves_the_stage_only_once(store: Store) -> None:
    await store.add_request(pending())

    async def decide(who: str) -> TapRequest:
        current = await store.get_request("r1")
        assert current is not None
        decision = Decision(1, True, who, who, T0)
        return await store.transition(
            "r1",
            expected=[PENDING],
            expected_stage=1,
            new_state=PENDING,
            at=T0,
            changes={"stage": 2, "decisions": (*current.decisions, decision)},
        )

    results = await asyncio.gather(decide("a"), decide("b"), return_exceptions=True)

    winners = [r for r in results if isinstance(r, TapRequest)]
    assert len(winners) == 1
    assert sum(isinstance(r, StoreConflict) for r in results) == 1
    stored = await store.get_request("r1")
    assert stored is not None
    assert stored.stage == 2
    assert [d.decider_id for d in stored.decisions] == [winners[0].decisions[0].decider_id]


async def test_a_transition_for_another_stage_conflicts(store: Store) -> None:
    await store.add_request(pending(stage=2))
    with pytest.raises(StoreConflict, match="stage"):
        await store.transition(
            "r1", expected=[PENDING], expected_stage=1, new_state=RequestState.DENIED, at=T0
        )
    stored = await store.get_request("r1")
    assert stored is not None
    assert stored.state is PENDING


async def test_due_and_stale_work_is_found_oldest_first(store: Store) -> None:
    await store.add_request(pending("late", stage_due_at=T0 + minutes(10)))
    await store.add_request(
        pending("later", stage_due_at=T0 + minutes(30), created_at=T0 + minutes(1))
    )
    await store.add_request(pending("fresh", stage_due_at=T0 + minutes(90)))
    await store.add_request(
        request("stuck", state=RequestState.ISSUING, updated_at=T0 - minutes(20))
    )
    await store.add_request(
        request("failed", state=RequestState.FAILED, reason="pass_unknown", target_id="t2")
    )

    due = await store.list_requests(
        states=[PENDING], due_before=T0 + minutes(30), oldest_first=True
    )
    stale = await store.list_requests(
        states=[RequestState.ISSUING], updated_before=T0 - minutes(10)
    )
    unknown = await store.list_requests(reasons=["pass_unknown", "pass_not_deleted"])

    assert [r.id for r in due] == ["late", "later"]
    assert [r.id for r in stale] == ["stuck"]
    assert [r.id for r in unknown] == ["failed"]


async def test_the_issuing_window_is_kept(store: Store) -> None:
    await store.add_request(request(state=RequestState.APPROVED))
    started = datetime(2025, 6, 9, 8, 0, 1, 500, tzinfo=UTC)
    moved = await store.transition(
        "r1",
        expected=[RequestState.APPROVED],
        new_state=RequestState.ISSUING,
        at=started,
        changes={"issuing_started_at": started},
    )
    ended = await store.update_request("r1", changes={"issuing_ended_at": started + minutes(1)})
    assert moved.issuing_started_at == started
    assert ended.issuing_ended_at == started + minutes(1)
    assert await store.get_request("r1") == ended


async def test_card_copies_are_remembered_in_order(store: Store) -> None:
    for n, audience in enumerate(("requester", "channel", "approver")):
        await store.add_request_message(
            RequestMessage("r1", audience, f"act-{n}", {"serviceUrl": f"u{n}"}, T0 + minutes(n))
        )
    await store.add_request_message(RequestMessage("r2", "channel", "x", {}, T0))

    copies = await store.list_request_messages("r1")

    assert [(c.audience, c.activity_id, c.reference) for c in copies] == [
        ("requester", "act-0", {"serviceUrl": "u0"}),
        ("channel", "act-1", {"serviceUrl": "u1"}),
        ("approver", "act-2", {"serviceUrl": "u2"}),
    ]
    assert await store.list_request_messages("nope") == []


async def test_conversations_are_listed_by_prefix_newest_first(store: Store) -> None:
    for n, key in enumerate(("service:https://a", "service:https://b", "user:x", "service%")):
        await store.save_conversation(ConversationRecord(key, "t", {"n": n}, T0 + minutes(n)))

    found = await store.list_conversations("service:")

    assert [r.key for r in found] == ["service:https://b", "service:https://a"]
    assert await store.list_conversations("service:", limit=1) == found[:1]


async def test_the_target_limit_is_counted_and_enforced(store: Store) -> None:
    limit = RateLimit(2, T0 - timedelta(days=1))
    for n in range(2):
        await store.add_request(request(f"r{n}", state=RequestState.DELIVERED), target_limit=limit)
    with pytest.raises(LimitReached):
        await store.add_request(request("r9", state=RequestState.DRAFT), target_limit=limit)
    assert await store.get_request("r9") is None
    # Other targets and older requests do not count.
    await store.add_request(request("o1", target_id="other"), target_limit=limit)
    assert await store.get_request("o1") is not None


async def test_parallel_inserts_never_pass_the_target_limit_together(backend: Backend) -> None:
    limit = RateLimit(3, T0 - timedelta(days=1))
    stores: list[Store] = [backend.store]
    if backend.url is not None:
        async with backend.another_instance() as other:
            stores.append(other)
            results = await _insert_many(stores, limit)
    else:
        results = await _insert_many(stores, limit)
    assert sum(r is None for r in results) == 3
    assert all(r is None or isinstance(r, LimitReached) for r in results)
    assert len(await backend.store.list_requests(target_id="joiner-1")) == 3


async def _insert_many(stores: list[Store], limit: RateLimit) -> list[BaseException | None]:
    attempts = [
        stores[n % len(stores)].add_request(
            request(f"p{n}", state=RequestState.DELIVERED), target_limit=limit
        )
        for n in range(12)
    ]
    return list(await asyncio.gather(*attempts, return_exceptions=True))


async def test_admission_counts_within_the_window_only(store: Store) -> None:
    window = RateLimit(2, T0)
    assert await store.admit("submit", "u1", at=T0 - minutes(1), limit=window)
    assert await store.admit("submit", "u1", at=T0, limit=window)
    assert await store.admit("submit", "u1", at=T0 + minutes(1), limit=window)
    assert not await store.admit("submit", "u1", at=T0 + minutes(2), limit=window)
    assert await store.admit("submit", "u2", at=T0, limit=window)
    assert await store.admit("other", "u1", at=T0, limit=window)


async def test_parallel_admissions_never_pass_the_limit_together(backend: Backend) -> None:
    limit = RateLimit(5, T0 - minutes(60))

    async def admit_many(stores: list[Store]) -> list[bool]:
        tries = [
            stores[n % len(stores)].admit("submit", "flooder", at=T0, limit=limit)
            for n in range(20)
        ]
        return list(await asyncio.gather(*tries))

    if backend.url is not None:
        async with backend.another_instance() as other:
            admitted = await admit_many([backend.store, other])
    else:
        admitted = await admit_many([backend.store])
    assert admitted.count(True) == 5


async def test_old_rate_events_are_pruned(store: Store) -> None:
    window = RateLimit(1, T0 - timedelta(days=2))
    assert await store.admit("submit", "u1", at=T0 - timedelta(days=1), limit=window)
    assert await store.admit("submit", "u2", at=T0, limit=window)
    assert await store.prune_rate_events(T0 - minutes(1)) == 1
    assert await store.admit("submit", "u1", at=T0, limit=window)
    assert not await store.admit("submit", "u2", at=T0, limit=window)
