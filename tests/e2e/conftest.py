"""The sandbox's real processes (fake tenant, bot, two Playgrounds) on free loopback ports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from sandbox.run import Ports, Sandbox
from sandbox.stack import free_port
from tests.e2e.playground_client import PlaygroundClient

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    workdir: Path = tmp_path_factory.mktemp("sandbox")
    ports = Ports(
        bot=free_port(),
        bot_ops=free_port(),
        manager_playground=free_port(),
        helpdesk_playground=free_port(),
        approver_playground=free_port(),
        tenant=0,
    )
    # Passes leave the chat after a minute (not an hour), and the many requests of this suite
    # stay under the per-requester limit.
    quick = {
        "PASS_REDACT_AFTER_MINUTES": "1",
        "SCHEDULER_INTERVAL_SECONDS": "1",
        "RATE_LIMIT_PER_REQUESTER_HOUR": "100",
        "RATE_LIMIT_PER_TARGET_DAY": "100",
        # An approval waits a minute, so the expiry can be seen in a test.
        "APPROVAL_TIMEOUT_MINUTES": "1",
    }
    running = Sandbox(workdir, ports, bot_settings=quick)
    running.start()
    yield running
    running.stop()


async def _client(url: str) -> AsyncIterator[PlaygroundClient]:
    async with aiohttp.ClientSession() as http:
        client = PlaygroundClient(url, http)
        await client.connect()
        client.drain()
        yield client
        await client.close()


@pytest.fixture
async def manager_chat(sandbox: Sandbox) -> AsyncIterator[PlaygroundClient]:
    """The manager's Playground, connected, with old events forgotten."""
    async for client in _client(sandbox.playgrounds[0].url):
        yield client


@pytest.fixture
async def helpdesk_chat(sandbox: Sandbox) -> AsyncIterator[PlaygroundClient]:
    async for client in _client(sandbox.playgrounds[1].url):
        yield client


@pytest.fixture
async def approver_chat(sandbox: Sandbox) -> AsyncIterator[PlaygroundClient]:
    """Tom Becker's Playground: the second helpdesk member, who approves."""
    async for client in _client(sandbox.playgrounds[2].url):
        yield client


@pytest.fixture
async def tenant(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    """The fake tenant's test API, reseeded (its faults cleared) before and after each test."""
    async with aiohttp.ClientSession(base_url=sandbox.tenant["base_url"]) as http:
        async with http.post("/_sandbox/reset") as response:
            response.raise_for_status()
        yield http
        async with http.post("/_sandbox/reset") as response:
            response.raise_for_status()
