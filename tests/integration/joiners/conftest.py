"""The joiner sweep for real: Graph adapters against the fake tenant (frozen clock) and the
SQL store on SQLite and PostgreSQL (the store suite's fixtures)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.domain.ports import Directory, PassIssuer
from bot.graph.wiring import GraphPorts, build_graph_ports
from sandbox.server import FakeTenant, run_fake_tenant
from tests.integration.store.conftest import (  # noqa: F401  # fixtures used by these tests
    postgres_run_url,
    sql_backend,
)
from tests.twins.clock import ManualClock

# Tuesday 10 June 2025, 08:00 in London: the sweep's usual time.
FROZEN = datetime(2025, 6, 10, 7, 0, tzinfo=UTC)


@dataclass
class Tenant:
    fake: FakeTenant
    clock: ManualClock
    directory: Directory
    pass_issuer: PassIssuer


@pytest.fixture
async def tenant(tmp_path: Path) -> AsyncIterator[Tenant]:
    """The seeded organisation as of FROZEN, one joiner to a Graph page, and Graph ports."""
    clock = ManualClock(FROZEN)
    async with run_fake_tenant(tmp_path / "state", clock=clock.now, page_size=1) as fake:
        settings = Settings.from_env(
            {
                "GRAPH_TENANT_ID": fake.tenant_id,
                "GRAPH_CLIENT_ID": fake.client_id,
                "GRAPH_CLIENT_SECRET": fake.client_secret,
                "GRAPH_AUTHORITY_HOST": fake.authority.rsplit("/", 1)[0],
                "GRAPH_BASE_URL": fake.graph_url,
                "GRAPH_CA_BUNDLE": str(fake.ca_cert_path),
            }
        )
        async with httpx.AsyncClient(timeout=settings.graph_timeout_seconds) as http:
            ports: GraphPorts = build_graph_ports(settings, http, clock)
            try:
                yield Tenant(fake, clock, ports.directory, ports.pass_issuer)
            finally:
                ports.close()
