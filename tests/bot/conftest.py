"""The bot's HTTP surface under test: the real aiohttp app with in-memory twins behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import OPS_URL, UPKEEP, GraphComponents, create_app
from bot.config import Settings
from bot.domain.upkeep import Upkeep
from tests.bot.channel import FakeChannelTokens
from tests.bot.connector import RecordingConnector
from tests.twins.clock import ManualClock
from tests.twins.directory import FakeDirectory, person
from tests.twins.sms import FakeSms
from tests.twins.store import MemoryStore

TENANT_ID = "11111111-1111-1111-1111-111111111111"
HELPDESK_GROUP_ID = "99999999-0000-0000-0000-000000000001"
BASE_SETTINGS = {
    "GRAPH_TENANT_ID": TENANT_ID,
    "GRAPH_CLIENT_ID": "22222222-2222-2222-2222-222222222222",
    "GRAPH_CLIENT_SECRET": "test-only-secret",
    "HELPDESK_GROUP_ID": HELPDESK_GROUP_ID,
    "LOG_FORMAT": "console",
    "OPS_PORT": "0",  # any free port: /healthz and /metrics have a listener of their own
    # The joiner tests start their sweeps themselves; the others see no sweep in their audit.
    "JOINER_SWEEP_AT_START": "false",
}

MANAGER = person("Megan Bowen", id="aaaaaaaa-0000-0000-0000-00000000000a")
HELPDESK = person("Hana Desk", id="aaaaaaaa-0000-0000-0000-00000000000b")
NOBODY = person("Nora Body", id="aaaaaaaa-0000-0000-0000-00000000000c")


def seeded_directory(clock: ManualClock) -> FakeDirectory:
    directory = FakeDirectory(clock)
    for user in (MANAGER, HELPDESK):
        directory.add_user(user)
    directory.add_user(NOBODY, manager_id=HELPDESK.id)
    for name in ("Adele Vance", "Lee Gu", "Lynne Robbins"):
        directory.add_user(person(name), manager_id=MANAGER.id)
    directory.add_group(HELPDESK_GROUP_ID, HELPDESK.id)
    return directory


class BotUnderTest:
    """The running app, its twins, and the recording connector replies go to."""

    def __init__(
        self,
        client: TestClient[Any, Any],
        directory: FakeDirectory,
        store: MemoryStore,
        clock: ManualClock,
    ) -> None:
        self.client = client
        self.directory = directory
        self.store = store
        self.clock = clock
        self.graph_healthy = True

    @property
    def upkeep(self) -> Upkeep:
        return self.client.server.app[UPKEEP]

    @property
    def ops_url(self) -> str:
        """Where /healthz and /metrics are served: not the Teams port."""
        return self.client.server.app[OPS_URL]

    async def ops_get(self, path: str, *, token: str | None = None) -> tuple[int, str]:
        """GET *path* from the operator's listener over real HTTP; return status and body."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            aiohttp.ClientSession() as http,
            http.get(self.ops_url + path, headers=headers) as response,
        ):
            return response.status, await response.text()

    async def invoke(self, connector_url: str, verb: str, data: dict[str, Any], **who: Any) -> Any:
        """Click an Action.Execute button; return the invoke response's body."""
        value = {"action": {"type": "Action.Execute", "verb": verb, "data": data}}
        body = activity(
            connector_url, type="invoke", name="adaptiveCard/action", value=value, **who
        )
        response = await self.post(body)
        assert response.status == 200, await response.text()
        return await response.json()

    async def post(self, body: object, *, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.post("/api/messages", json=body, headers=headers)


def activity(
    connector_url: str,
    *,
    type: str = "message",
    text: str | None = None,
    user: Any = MANAGER,
    tenant_id: str = TENANT_ID,
    **extra: Any,
) -> dict[str, Any]:
    """An activity shaped as Teams sends it in a personal chat."""
    body: dict[str, Any] = {
        "type": type,
        "id": "activity-1",
        "channelId": "msteams",
        "serviceUrl": connector_url,
        "from": {"id": f"29:{user.id}", "name": user.display_name, "aadObjectId": user.id},
        "recipient": {"id": "28:tapbot", "name": "tapbot"},
        "conversation": {
            "id": f"a:{user.id}",
            "conversationType": "personal",
            "tenantId": tenant_id,
        },
        "channelData": {"tenant": {"id": tenant_id}},
        "locale": "en-GB",
    }
    if text is not None:
        body["text"] = text
    body.update(extra)
    return body


@pytest.fixture
def connector() -> Iterator[RecordingConnector]:
    server = RecordingConnector()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def channel_tokens() -> Iterator[FakeChannelTokens]:
    tokens = FakeChannelTokens()
    tokens.start()
    yield tokens
    tokens.stop()


StartBot = Callable[..., Awaitable[BotUnderTest]]


@pytest.fixture
async def start_bot() -> AsyncIterator[StartBot]:
    """Start the app with *overrides* on top of the base settings; stopped at test end."""
    clients: list[TestClient[Any, Any]] = []

    async def start(
        *, after: BotUnderTest | None = None, sms: FakeSms | None = None, **overrides: str
    ) -> BotUnderTest:
        """With *after*, the new app shares that one's store, directory and clock: a restart.
        *sms* stands in for the SMS provider the settings name."""
        settings = Settings.from_env(BASE_SETTINGS | overrides)
        clock = after.clock if after else ManualClock()
        directory = after.directory if after else seeded_directory(clock)
        store = after.store if after else MemoryStore()
        holder: dict[str, BotUnderTest] = {}

        async def probe() -> None:
            if not holder["bot"].graph_healthy:
                raise RuntimeError("no token")

        graph = GraphComponents(directory, directory, directory, probe)
        app: web.Application = create_app(settings, store=store, graph=graph, clock=clock, sms=sms)
        client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        holder["bot"] = BotUnderTest(client, directory, store, clock)
        return holder["bot"]

    yield start
    for client in clients:
        await client.close()
