"""The audit export's formats, its window, and that it goes a page at a time."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bot.audit_export import (
    COLUMNS,
    MOMENT_FORMAT,
    AuditExport,
    ExportFormat,
    InvalidExport,
    audit_export,
    export_audit,
    parse_format,
    parse_moment,
)
from bot.domain.errors import StoreError
from bot.domain.model import AuditEvent
from tests.twins.store import MemoryStore

T0 = datetime(2025, 6, 9, 8, 0, tzinfo=UTC)
EVERYTHING = AuditExport(T0 - timedelta(days=1), T0 + timedelta(days=1), ExportFormat.CSV)


async def _store(count: int, **fields: Any) -> MemoryStore:
    store = MemoryStore()
    for n in range(count):
        values: dict[str, Any] = {
            "at": T0 + timedelta(seconds=n // 2),
            "action": "request",
            "outcome": "created",
            "actor_id": "manager-1",
            "target_id": f"person-{n}",
        }
        values.update(fields)
        await store.append_audit(AuditEvent(**values))
    return store


async def _chunks(store: Any, export: AuditExport, page_size: int = 1000) -> list[bytes]:
    return [chunk async for chunk in export_audit(store, export, page_size=page_size)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-01", datetime(2025, 6, 1, tzinfo=UTC)),
        ("2025-06-01T08:30", datetime(2025, 6, 1, 8, 30, tzinfo=UTC)),
        ("2025-06-01T08:30:00Z", datetime(2025, 6, 1, 8, 30, tzinfo=UTC)),
        ("2025-06-01T10:30:00+02:00", datetime(2025, 6, 1, 8, 30, tzinfo=UTC)),
        (" 2025-06-01 08:30:15.5 ", datetime(2025, 6, 1, 8, 30, 15, 500000, tzinfo=UTC)),
    ],
)
def test_moments_are_iso_8601_and_utc_without_an_offset(text: str, expected: datetime) -> None:
    moment = parse_moment(text, name="--since")
    assert moment == expected
    assert moment.tzinfo is UTC


@pytest.mark.parametrize("text", ["yesterday", "01/06/2025", "2025-13-01", "", "x" * 200])
def test_a_malformed_moment_is_refused_naming_the_option_and_the_format(text: str) -> None:
    with pytest.raises(InvalidExport) as caught:
        parse_moment(text, name="--since")
    message = str(caught.value)
    assert message.startswith(f"--since must be {MOMENT_FORMAT}")
    assert "2025-06-01T08:30:00Z" in message
    assert len(message) < 250


def test_formats_are_csv_and_json() -> None:
    assert parse_format("CSV", name="--format") is ExportFormat.CSV
    assert parse_format("json", name="--format") is ExportFormat.JSON
    with pytest.raises(InvalidExport, match="--format must be csv or json"):
        parse_format("xml", name="--format")


def test_the_window_ends_now_unless_given_and_must_not_be_empty() -> None:
    export = audit_export(since=T0, until=None, format=ExportFormat.CSV, now=T0 + timedelta(1))
    assert export.until == T0 + timedelta(1)
    with pytest.raises(InvalidExport, match="--since must be before --until"):
        audit_export(since=T0, until=T0, format=ExportFormat.CSV, now=T0)
    with pytest.raises(InvalidExport, match="before now"):
        audit_export(since=T0, until=None, format=ExportFormat.JSON, now=T0 - timedelta(1))


async def test_csv_has_a_header_and_one_row_per_event_oldest_first() -> None:
    store = await _store(3, request_id="r1", reason="direct_report", detail={"delivery": "sms"})

    text = b"".join(await _chunks(store, EVERYTHING)).decode()

    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(COLUMNS)
    assert [row[0] for row in rows[1:]] == ["1", "2", "3"]
    assert rows[1] == [
        "1",
        "2025-06-09T08:00:00.000000Z",
        "request",
        "created",
        "manager-1",
        "person-0",
        "r1",
        "direct_report",
        '{"delivery":"sms"}',
    ]


async def test_json_lines_hold_one_event_object_per_line() -> None:
    store = await _store(2, at=T0.astimezone(timezone(timedelta(hours=2))))
    export = AuditExport(EVERYTHING.since, EVERYTHING.until, ExportFormat.JSON)

    lines = b"".join(await _chunks(store, export)).decode().splitlines()

    records = [json.loads(line) for line in lines]
    assert [list(r) for r in records] == [list(COLUMNS)] * 2
    assert records[0] == {
        "id": 1,
        "at": "2025-06-09T08:00:00.000000Z",
        "action": "request",
        "outcome": "created",
        "actor_id": "manager-1",
        "target_id": "person-0",
        "request_id": None,
        "reason": None,
        "detail": {},
    }


async def test_only_the_window_is_exported() -> None:
    store = await _store(10)  # two events per second from T0
    export = AuditExport(T0 + timedelta(seconds=1), T0 + timedelta(seconds=3), ExportFormat.JSON)
    lines = b"".join(await _chunks(store, export)).decode().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [3, 4, 5, 6]


async def test_detail_keys_that_name_a_secret_are_never_written() -> None:
    detail = {"pass": "Xy7!", "temporaryAccessPass": "Xy7!", "client_secret": "s", "pass_id": "p"}
    store = await _store(1, detail=detail)
    for format in ExportFormat:
        export = AuditExport(EVERYTHING.since, EVERYTHING.until, format)
        text = b"".join(await _chunks(store, export)).decode()
        assert "Xy7!" not in text
        assert '"s"' not in text
        assert "pass_id" in text


async def test_csv_cells_a_spreadsheet_would_run_are_made_inert() -> None:
    store = await _store(1, actor_id="=HYPERLINK(1)", reason="+1", detail={"tenant": "=x"})
    rows = list(csv.reader(io.StringIO(b"".join(await _chunks(store, EVERYTHING)).decode())))
    assert rows[1][4] == "'=HYPERLINK(1)"
    assert rows[1][7] == "'+1"
    assert rows[1][8] == '{"tenant":"=x"}'  # a JSON object cell starts with "{"


async def test_each_page_is_one_chunk_so_memory_holds_one_page() -> None:
    store = await _store(7)
    chunks = await _chunks(store, EVERYTHING, page_size=3)
    assert len(chunks) == 3  # 3 + 3 + 1 events; the header rides with the first page
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert [row[0] for row in rows[1:]] == [str(n) for n in range(1, 8)]


async def test_an_empty_window_is_a_header_only_csv_and_an_empty_json_export() -> None:
    store = MemoryStore()
    assert await _chunks(store, EVERYTHING) == [(",".join(COLUMNS) + "\r\n").encode()]
    export = AuditExport(EVERYTHING.since, EVERYTHING.until, ExportFormat.JSON)
    assert await _chunks(store, export) == []


class _Failing(MemoryStore):
    """A store that fails on the *fail_at*-th audit read."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.reads = 0
        self.fail_at = fail_at

    async def list_audit(self, **query: Any) -> list[AuditEvent]:
        self.reads += 1
        if self.reads == self.fail_at:
            raise StoreError("store list_audit failed: OperationalError")
        return await super().list_audit(**query)


async def _until_failure(chunks: AsyncIterator[bytes], exported: list[bytes]) -> None:
    async for chunk in chunks:
        exported.append(chunk)


async def test_a_store_that_fails_first_yields_nothing_not_even_the_header() -> None:
    store = _Failing(fail_at=1)
    exported: list[bytes] = []
    with pytest.raises(StoreError):
        await _until_failure(export_audit(store, EVERYTHING), exported)
    assert exported == []


async def test_a_store_that_fails_part_way_raises_after_the_pages_read() -> None:
    store = _Failing(fail_at=2)
    for n in range(3):
        await store.append_audit(
            AuditEvent(at=T0, action="request", outcome="created", actor_id=f"m{n}")
        )
    exported: list[bytes] = []
    with pytest.raises(StoreError):
        await _until_failure(export_audit(store, EVERYTHING, page_size=2), exported)
    assert len(exported) == 1
