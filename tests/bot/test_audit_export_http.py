"""``GET /audit/export``: off without a token, a bare 401 for a wrong one, a streamed export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import GraphComponents, create_app
from bot.audit_export import COLUMNS, MOMENT_FORMAT
from bot.config import Settings
from bot.domain.errors import StoreError
from bot.domain.model import AuditEvent
from tests.bot.conftest import BASE_SETTINGS, BotUnderTest, StartBot, seeded_directory
from tests.twins.clock import ManualClock
from tests.twins.store import MemoryStore

TOKEN = "export-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _seed(store: MemoryStore, clock: ManualClock, count: int) -> None:
    for n in range(count):
        await store.append_audit(
            AuditEvent(
                at=clock.now() - timedelta(hours=1) + timedelta(seconds=n),
                action="pass",
                outcome="issued",
                actor_id="manager-1",
                target_id=f"person-{n}",
                detail={"pass_id": f"p{n}"},
            )
        )


def _since(bot: BotUnderTest) -> str:
    return (bot.clock.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_without_a_token_configured_the_export_is_off(start_bot: StartBot) -> None:
    bot = await start_bot()
    response = await bot.client.get("/audit/export?since=2025-01-01&format=csv", headers=AUTH)
    assert response.status == 404


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing_token"),
        (f"Bearer {TOKEN}x", "wrong_token"),
        (f"Bearer {TOKEN[:-1]}", "wrong_token"),
        (f"bearer {TOKEN}", "wrong_token"),
        (f"Basic {TOKEN}", "wrong_token"),
        ("Bearer é", "wrong_token"),
    ],
    ids=["missing", "longer", "shorter", "lowercase-scheme", "basic", "non-ascii"],
)
async def test_a_missing_or_wrong_token_gets_a_bare_401_and_is_audited(
    start_bot: StartBot, header: str | None, reason: str
) -> None:
    bot = await start_bot(AUDIT_EXPORT_TOKEN=TOKEN)
    await _seed(bot.store, bot.clock, 3)
    headers = {"Authorization": header} if header is not None else {}

    response = await bot.client.get(
        f"/audit/export?since={_since(bot)}&format=csv", headers=headers
    )

    assert response.status == 401
    assert await response.read() == b""
    assert response.headers["WWW-Authenticate"] == "Bearer"
    [refusal] = await bot.store.list_audit(action="audit_export")
    assert (refusal.outcome, refusal.reason, refusal.actor_id) == ("refused", reason, "anonymous")


async def test_a_malformed_since_is_a_400_naming_the_format(start_bot: StartBot) -> None:
    bot = await start_bot(AUDIT_EXPORT_TOKEN=TOKEN)
    response = await bot.client.get("/audit/export?since=last+week&format=csv", headers=AUTH)
    assert response.status == 400
    assert (await response.json())["error"].startswith(f"since must be {MOMENT_FORMAT}")

    missing = await bot.client.get("/audit/export?format=csv", headers=AUTH)
    assert missing.status == 400
    assert "since is required" in (await missing.json())["error"]

    wrong_format = await bot.client.get("/audit/export?since=2025-01-01", headers=AUTH)
    assert wrong_format.status == 400
    assert "format must be csv or json" in (await wrong_format.json())["error"]


async def test_the_export_is_csv_streamed_in_chunks_and_itself_audited(
    start_bot: StartBot,
) -> None:
    bot = await start_bot(AUDIT_EXPORT_TOKEN=TOKEN)
    await _seed(bot.store, bot.clock, 2500)

    response = await bot.client.get(f"/audit/export?since={_since(bot)}&format=csv", headers=AUTH)

    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in response.headers
    assert response.headers["Content-Disposition"].startswith('attachment; filename="tapbot-audit-')
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0] == list(COLUMNS)
    assert [int(row[0]) for row in rows[1:]] == list(range(1, 2501))
    [started] = await bot.store.list_audit(action="audit_export")
    assert (started.outcome, started.actor_id) == ("started", "export_token")
    assert started.detail["format"] == "csv"


async def test_the_export_as_json_lines(start_bot: StartBot) -> None:
    bot = await start_bot(AUDIT_EXPORT_TOKEN=TOKEN)
    await _seed(bot.store, bot.clock, 3)
    until = (bot.clock.now() - timedelta(hours=1) + timedelta(seconds=2)).isoformat()

    response = await bot.client.get(
        "/audit/export",
        params={"since": _since(bot), "until": until, "format": "json"},
        headers=AUTH,
    )

    assert response.headers["Content-Type"] == "application/x-ndjson"
    records = [json.loads(line) for line in (await response.text()).splitlines()]
    assert [(r["target_id"], r["detail"]) for r in records] == [
        ("person-0", {"pass_id": "p0"}),
        ("person-1", {"pass_id": "p1"}),
    ]


class _GatedStore(MemoryStore):
    """A store whose second audit read waits until *release* is set; *fail* makes it raise."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.fail_second = False
        self.fail_first = False
        self._reads = 0

    async def list_audit(self, **query: Any) -> list[AuditEvent]:
        self._reads += 1
        if self._reads == 1 and self.fail_first:
            raise StoreError("store list_audit failed: OperationalError")
        if self._reads == 2:
            await self.release.wait()
            if self.fail_second:
                raise StoreError("store list_audit failed: OperationalError")
        return await super().list_audit(**query)


@pytest.fixture
async def gated() -> AsyncIterator[tuple[TestClient[Any, Any], _GatedStore, ManualClock]]:
    clock = ManualClock()
    store = _GatedStore()
    directory = seeded_directory(clock)

    async def probe() -> None:
        return None

    settings = Settings.from_env(BASE_SETTINGS | {"AUDIT_EXPORT_TOKEN": TOKEN})
    graph = GraphComponents(directory, directory, directory, probe)
    app = create_app(settings, store=store, graph=graph, clock=clock)
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    await _seed(store, clock, 1500)  # two pages of 1000
    yield client, store, clock
    store.release.set()
    await client.close()


async def test_the_first_page_reaches_the_client_before_the_second_is_read(
    gated: tuple[TestClient[Any, Any], _GatedStore, ManualClock],
) -> None:
    client, store, clock = gated
    since = (clock.now() - timedelta(days=1)).isoformat()
    response = await client.get(
        "/audit/export", params={"since": since, "format": "json"}, headers=AUTH
    )
    first = b""
    # The second page is held back: only a streamed response lets these bytes arrive now.
    while first.count(b"\n") < 1000:
        first += await asyncio.wait_for(response.content.readany(), timeout=5)
    assert first.count(b"\n") == 1000

    store.release.set()
    rest = await response.read()
    assert (first + rest).count(b"\n") == 1500


async def test_a_store_down_at_the_start_is_a_503(
    gated: tuple[TestClient[Any, Any], _GatedStore, ManualClock],
) -> None:
    client, store, _clock = gated
    store.fail_first = True
    response = await client.get(
        "/audit/export", params={"since": "2020-01-01", "format": "csv"}, headers=AUTH
    )
    assert response.status == 503
    assert await response.json() == {"error": "the audit store is unavailable"}


async def test_a_store_failing_part_way_breaks_the_transfer(
    gated: tuple[TestClient[Any, Any], _GatedStore, ManualClock],
) -> None:
    client, store, _clock = gated
    store.fail_second = True
    store.release.set()
    response = await client.get(
        "/audit/export", params={"since": "2020-01-01", "format": "csv"}, headers=AUTH
    )
    assert response.status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()
