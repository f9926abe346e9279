"""What the port adapters add to GraphClient: concurrency, the policy cache, port semantics."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.domain.errors import DirectoryRejected
from bot.graph.adapters import GraphDirectory, GraphPassIssuer

POLICY = {
    "id": "TemporaryAccessPass",
    "state": "enabled",
    "defaultLifetimeInMinutes": 60,
    "defaultLength": 8,
    "minimumLifetimeInMinutes": 60,
    "maximumLifetimeInMinutes": 480,
    "isUsableOnce": False,
    "includeTargets": [{"targetType": "group", "id": "all_users"}],
    "excludeTargets": [],
}


class ManualClock:
    def __init__(self) -> None:
        self.at = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


async def test_no_groups_to_check_costs_no_call(harness) -> None:
    directory = GraphDirectory(harness.client(lambda r: harness.ok({"value": []})))
    assert await directory.member_of_groups("u1", []) == set()
    assert harness.requests == []


async def test_app_installation_is_a_yes_or_no(harness) -> None:
    answers = iter([harness.ok({"value": [{"id": "i1"}]}), harness.ok({"value": []})])
    directory = GraphDirectory(harness.client(lambda r: next(answers)))
    assert await directory.is_app_installed_for("u1", "app")
    assert not await directory.is_app_installed_for("u1", "app")


async def test_the_policy_is_cached_for_its_ttl(harness) -> None:
    clock = ManualClock()
    issuer = GraphPassIssuer(
        harness.client(lambda r: harness.ok(POLICY)), clock, policy_ttl=timedelta(minutes=10)
    )
    first = await issuer.get_policy()
    clock.at += timedelta(minutes=9, seconds=59)
    assert await issuer.get_policy() is first
    assert len(harness.requests) == 1
    clock.at += timedelta(seconds=1)
    await issuer.get_policy()
    assert len(harness.requests) == 2


async def test_concurrent_first_reads_share_one_call(harness) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        return harness.ok(POLICY)

    issuer = GraphPassIssuer(harness.client(handler), ManualClock())
    policies = await asyncio.gather(*(issuer.get_policy() for _ in range(5)))
    assert len({id(p) for p in policies}) == 1
    assert len(harness.requests) == 1


async def test_a_rejected_creation_drops_the_cached_policy(harness) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return harness.graph_error(400, "badRequest", "Invalid LifetimeInMinutes specified.")
        return harness.ok(POLICY)

    issuer = GraphPassIssuer(harness.client(handler), ManualClock())
    await issuer.get_policy()
    with pytest.raises(DirectoryRejected):
        await issuer.create_pass("u1", lifetime_minutes=999, is_usable_once=False, start_at=None)
    await issuer.get_policy()
    assert [r.method for r in harness.requests] == ["GET", "POST", "GET"]


async def test_deleting_a_pass_that_is_gone_is_success(harness) -> None:
    issuer = GraphPassIssuer(
        harness.client(lambda r: harness.graph_error(404, "itemNotFound")), ManualClock()
    )
    await issuer.delete_pass("u1", "p1")
    assert len(harness.requests) == 1
