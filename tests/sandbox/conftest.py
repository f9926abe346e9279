"""A running fake tenant per test, and httpx clients for its Graph API and its HTTPS side."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sandbox import org
from sandbox.server import FakeTenant, run_fake_tenant


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeTenant]:
    async with run_fake_tenant(tmp_path / "state") as running:
        yield running


def tls_context(fake: FakeTenant) -> ssl.SSLContext:
    """Trust the sandbox's CA (and nothing else)."""
    return ssl.create_default_context(cafile=str(fake.ca_cert_path))


async def secret_token(fake: FakeTenant) -> str:
    """A Graph token from the HTTPS token endpoint, with the client secret."""
    async with httpx.AsyncClient(verify=tls_context(fake)) as client:
        response = await client.post(
            f"{fake.authority}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": org.CLIENT_ID,
                "client_secret": org.CLIENT_SECRET,
                "scope": "https://graph.microsoft.com/.default",
            },
        )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
async def graph(fake: FakeTenant) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on Graph's root (``…/v1.0/``) carrying a valid token."""
    token = await secret_token(fake)
    async with httpx.AsyncClient(
        base_url=fake.graph_url + "/", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


async def collect(client: httpx.AsyncClient, url: str, **kwargs: object) -> tuple[list[dict], int]:
    """Every item of a paged collection, and the number of pages read."""
    items: list[dict] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        response = await client.get(next_url, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["value"])
        pages += 1
        next_url = body.get("@odata.nextLink")
    return items, pages
