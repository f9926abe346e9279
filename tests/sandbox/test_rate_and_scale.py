"""Graph-like throttling by budget (the ``rate`` fault), and a synthetic tenant of many users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from sandbox import org
from sandbox.faults import Fault, fault_from_json
from sandbox.server import FakeTenant, run_fake_tenant
from sandbox.tenant import Tenant
from tests.sandbox.conftest import collect, secret_token


def test_a_rate_budget_admits_its_limit_then_refills_evenly() -> None:
    fault = Fault("*", "rate", limit=3, per_seconds=1.0)

    assert [fault.admit(100.0) for _ in range(3)] == [None, None, None]
    wait = fault.admit(100.0)
    assert wait == pytest.approx(1 / 3)
    assert fault.admit(100.34) is None  # one request's worth came back
    assert fault.admit(100.34) is not None
    assert [fault.admit(200.0) for _ in range(3)] == [None, None, None]  # full again, no more


@pytest.mark.parametrize(
    "spec",
    [
        {"route": "*", "kind": "rate"},
        {"route": "*", "kind": "rate", "limit": 0},
        {"route": "*", "kind": "rate", "limit": 5, "per_seconds": 0},
    ],
)
def test_a_rate_fault_needs_a_budget(spec: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="'limit'"):
        fault_from_json(spec)


async def test_requests_beyond_the_budget_get_429_with_whole_seconds(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as control:
        added = await control.post(
            "/_sandbox/faults",
            json={"route": "/v1.0/", "kind": "rate", "limit": 2, "per_seconds": 60},
        )
        assert added.status_code == 201
        assert added.json()["value"][0]["limit"] == 2

    answers = [await graph.get(f"users/{org.LIAM_ID}") for _ in range(3)]

    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["code"] == "TooManyRequests"
    assert answers[2].headers["Retry-After"] == "30"


async def test_a_synthetic_tenant_lists_its_joiners_across_pages(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    async with run_fake_tenant(
        tmp_path / "state", page_size=999, synthetic_users=3000, synthetic_joiners=1200
    ) as fake:
        token = await secret_token(fake)
        start = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        end = (now + timedelta(days=9)).strftime("%Y-%m-%dT%H:%M:%SZ")
        async with httpx.AsyncClient(
            base_url=fake.graph_url + "/", headers={"Authorization": f"Bearer {token}"}
        ) as graph:
            items, pages = await collect(
                graph,
                f"users?$filter=employeeHireDate ge {start} and employeeHireDate le {end}"
                " and accountEnabled eq true&$count=true&$top=999&$select=id,employeeHireDate",
                headers={"ConsistencyLevel": "eventual"},
            )
    synthetic = [i for i in items if i["id"].startswith("30000000-")]
    assert len(synthetic) == 1200
    assert pages == 2
    assert {i["id"] for i in items} >= set(org.JOINER_IDS[:2])


def test_synthetic_joiners_report_to_a_manager_per_twenty() -> None:
    tenant = Tenant(org.TENANT_ID)
    managers = org.add_synthetic_tenant(tenant, 100, 41, datetime(2025, 6, 10, tzinfo=UTC))

    assert len(managers) == 3
    assert len(tenant.users) == 100
    assert sorted(tenant.managers.values()).count(managers[0]) == 20
    assert sorted(tenant.managers.values()).count(managers[2]) == 1


def test_synthetic_joiners_accounts_are_new_and_everyone_elses_old() -> None:
    """The joiner sweep reads createdDateTime; JOINER_AUTO_ISSUE would take only the joiners."""
    now = datetime(2025, 6, 10, tzinfo=UTC)
    tenant = Tenant(org.TENANT_ID)
    org.add_synthetic_tenant(tenant, 100, 41, now)

    created = {
        u.id: datetime.fromisoformat(u.to_json()["createdDateTime"]) for u in tenant.users.values()
    }
    joiners = {u.id for u in tenant.users.values() if (u.employee_hire_date or now) > now}

    assert len(joiners) == 41
    assert {created[j] for j in joiners} == {now - org.SYNTHETIC_JOINER_CREATED}
    assert all(now - created[u] > timedelta(days=365) for u in created if u not in joiners)
    with pytest.raises(ValueError, match="more joiners than users"):
        org.add_synthetic_tenant(tenant, 1, 2, datetime(2025, 6, 10, tzinfo=UTC))
