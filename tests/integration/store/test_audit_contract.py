"""Reading the audit trail: filters and keyset paging on (at, id), on every backend."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.audit_query import AuditCursor
from bot.domain.model import AuditEvent
from bot.domain.ports import Store
from tests.integration.store.support import T0, minutes


def _event(at: datetime, **fields: object) -> AuditEvent:
    values: dict[str, object] = {
        "action": "request",
        "outcome": "created",
        "actor_id": "manager-1",
        "target_id": "joiner-1",
    }
    values.update(fields)
    return AuditEvent(at=at, **values)  # type: ignore[arg-type]


async def _walk(store: Store, page: int, **query: object) -> list[AuditEvent]:
    """Every event matching *query*, read *page* at a time through the cursor."""
    seen: list[AuditEvent] = []
    after: AuditCursor | None = None
    while True:
        batch = await store.list_audit(after=after, limit=page, **query)  # type: ignore[arg-type]
        seen += batch
        if len(batch) < page:
            return seen
        after = AuditCursor.after(batch[-1])


async def _ties(store: Store) -> list[AuditEvent]:
    """Nine events at three moments, three each, appended out of time order."""
    stored = []
    for moment in (2, 0, 1):
        for n in range(3):
            stored.append(await store.append_audit(_event(T0 + minutes(moment), reason=f"{n}")))
    return stored


async def test_a_walk_newest_first_crosses_shared_timestamps_without_loss_or_repeat(
    store: Store,
) -> None:
    stored = await _ties(store)
    expected = sorted(stored, key=lambda e: (e.at, e.id), reverse=True)

    for page in (1, 2, 4, 9, 10):
        assert await _walk(store, page) == expected


async def test_a_walk_oldest_first_is_the_same_events_the_other_way(store: Store) -> None:
    stored = await _ties(store)
    expected = sorted(stored, key=lambda e: (e.at, e.id))

    for page in (1, 2, 4, 9, 10):
        assert await _walk(store, page, oldest_first=True) == expected


async def test_the_cursor_of_the_last_event_gives_an_empty_page(store: Store) -> None:
    stored = await _ties(store)
    newest = max(stored, key=lambda e: (e.at, e.id))
    oldest = min(stored, key=lambda e: (e.at, e.id))
    assert await store.list_audit(after=AuditCursor.after(oldest)) == []
    assert await store.list_audit(after=AuditCursor.after(newest), oldest_first=True) == []


async def test_a_cursor_in_another_time_zone_means_the_same_instant(store: Store) -> None:
    stored = await _ties(store)
    middle = sorted(stored, key=lambda e: (e.at, e.id))[4]
    elsewhere = AuditCursor(middle.at.astimezone(timezone(timedelta(hours=-5))), middle.id or 0)
    older = await store.list_audit(after=elsewhere)
    assert [e.id for e in older] == [
        e.id for e in sorted(stored, key=lambda e: (e.at, e.id), reverse=True)[5:]
    ]


async def test_filters_select_by_person_actor_outcome_and_action(store: Store) -> None:
    a = await store.append_audit(_event(T0, target_id="liam", actor_id="olivia"))
    b = await store.append_audit(
        _event(T0 + minutes(1), target_id="liam", actor_id="tapbot", outcome="failed")
    )
    c = await store.append_audit(
        _event(T0 + minutes(2), target_id="grace", actor_id="olivia", outcome="refused")
    )
    d = await store.append_audit(
        _event(T0 + minutes(3), target_id=None, actor_id="priya", action="audit", outcome="refused")
    )

    async def ids(**query: object) -> list[int | None]:
        return [e.id for e in await store.list_audit(**query)]  # type: ignore[arg-type]

    assert await ids(target_id="liam") == [b.id, a.id]
    assert await ids(actor_id="olivia") == [c.id, a.id]
    assert await ids(outcome="refused") == [d.id, c.id]
    assert await ids(action="audit") == [d.id]
    assert await ids(actor_id="olivia", outcome="refused") == [c.id]
    assert await ids(target_id="liam", since=T0 + minutes(1)) == [b.id]
    assert await ids(outcome="refused", until=T0 + minutes(3)) == [c.id]
    assert await ids(target_id="nobody") == []


async def test_a_filtered_walk_pages_within_the_filter(store: Store) -> None:
    wanted = []
    for n in range(7):
        await store.append_audit(_event(T0 + minutes(n // 2), target_id="other"))
        wanted.append(await store.append_audit(_event(T0 + minutes(n // 2), target_id="liam")))

    walked = await _walk(store, 3, target_id="liam", oldest_first=True)

    assert walked == wanted


async def test_a_walk_within_since_and_until(store: Store) -> None:
    stored = await _ties(store)
    inside = [e for e in stored if T0 + minutes(1) <= e.at < T0 + minutes(2)]

    walked = await _walk(store, 2, since=T0 + minutes(1), until=T0 + minutes(2), oldest_first=True)

    assert walked == sorted(inside, key=lambda e: (e.at, e.id))


def test_a_cursor_needs_a_stored_event() -> None:
    with pytest.raises(ValueError, match="never stored"):
        AuditCursor.after(_event(T0))


async def test_filters_no_engine_can_keep_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="NUL"):
        await store.list_audit(target_id="a\x00b")


_runs = itertools.count()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    moments=st.lists(st.integers(min_value=0, max_value=3), min_size=0, max_size=12),
    outcomes=st.lists(st.sampled_from(["ok", "refused"]), min_size=12, max_size=12),
    page=st.integers(min_value=1, max_value=5),
    oldest_first=st.booleans(),
    only_refused=st.booleans(),
)
async def test_any_walk_equals_the_sorted_filtered_trail(
    store: Store,
    moments: list[int],
    outcomes: list[str],
    page: int,
    oldest_first: bool,
    only_refused: bool,
) -> None:
    # Each example writes under an actor of its own: the store is shared between examples.
    actor = f"actor-{next(_runs)}"
    stored = [
        await store.append_audit(_event(T0 + minutes(m), actor_id=actor, outcome=outcome))
        for m, outcome in zip(moments, outcomes, strict=False)
    ]
    query: dict[str, object] = {"actor_id": actor, "oldest_first": oldest_first}
    if only_refused:
        query["outcome"] = "refused"
    expected = sorted(
        (e for e in stored if not only_refused or e.outcome == "refused"),
        key=lambda e: (e.at, e.id),
        reverse=not oldest_first,
    )

    assert await _walk(store, page, **query) == expected


async def test_a_cursor_outside_the_window_still_keeps_to_the_window(store: Store) -> None:
    stored = sorted(await _ties(store), key=lambda e: (e.at, e.id))
    first, last = AuditCursor.after(stored[0]), AuditCursor.after(stored[-1])
    middle = T0 + minutes(1)

    later = await store.list_audit(after=first, since=middle, oldest_first=True)
    earlier = await store.list_audit(after=last, until=middle)

    assert later == stored[3:]
    assert earlier == stored[:3][::-1]
