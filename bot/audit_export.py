"""Exporting the audit trail as CSV or JSON Lines, streamed a page at a time.

One implementation behind both ``python -m bot audit export`` and ``GET /audit/export``. Events
are read oldest first by keyset on (at, id), and each page is encoded and handed on before the
next is read, so memory holds one page (`PAGE_SIZE` events) however long the trail is.

Formats:

- ``csv``: RFC 4180 (comma, CRLF, a header row of `COLUMNS`). ``detail`` is a JSON object in
  one cell. A text cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``,
  ``-``, ``@``, tab or carriage return) gets a leading ``'``: some values, such as a refused
  caller's tenant id, come from outside.
- ``json``: JSON Lines (one object per line, keys `COLUMNS`, ``detail`` an object). Chosen over
  one streamed array because every line stands alone: a consumer can process it as it comes,
  and an export cut short by a failure ends at a line boundary instead of in broken JSON.

Only `COLUMNS` are written, never a whole row; audit rows never hold a pass value, and detail
keys that name a secret (``pass``, ``password``, ``secret``, ``token``, ``value`` …) are dropped
all the same.
"""

from __future__ import annotations

import csv
import enum
import functools
import io
import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.audit_query import AuditCursor
from bot.domain.model import AuditEvent
from bot.domain.ports import Store

COLUMNS = (
    "id",
    "at",
    "action",
    "outcome",
    "actor_id",
    "target_id",
    "request_id",
    "reason",
    "detail",
)
PAGE_SIZE = 1000
MOMENT_FORMAT = (
    "an ISO 8601 date or date-time, e.g. 2025-06-01, 2025-06-01T08:30:00Z or "
    "2025-06-01T10:30:00+02:00 (without an offset it is UTC)"
)
_SECRET_DETAIL = re.compile(
    r"(^|_)(pass|password|passcode|secret|token|value|temporaryaccesspass)$", re.I
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    JSON = "json"

    @property
    def media_type(self) -> str:
        return "text/csv; charset=utf-8" if self is ExportFormat.CSV else "application/x-ndjson"

    @property
    def suffix(self) -> str:
        return "csv" if self is ExportFormat.CSV else "jsonl"


class InvalidExport(ValueError):
    """The export was asked for with a value it cannot use; the message says which and how."""


@dataclass(frozen=True, slots=True)
class AuditExport:
    """Which events to export ([since, until)) and how."""

    since: datetime
    until: datetime
    format: ExportFormat


def parse_moment(text: str, *, name: str) -> datetime:
    """Read *text* as an ISO 8601 date or date-time (UTC unless it has an offset). Raise
    InvalidExport naming *name* (``--since``, ``since``) and the accepted format."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise InvalidExport(f"{name} must be {MOMENT_FORMAT}; got {shown!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_format(text: str, *, name: str) -> ExportFormat:
    try:
        return ExportFormat(text.strip().lower())
    except ValueError:
        choices = " or ".join(f.value for f in ExportFormat)
        raise InvalidExport(f"{name} must be {choices}") from None


def audit_export(
    *,
    since: datetime,
    until: datetime | None,
    format: ExportFormat,
    now: datetime,
    until_name: str = "--until",
    since_name: str = "--since",
) -> AuditExport:
    """Check an export's window; *until* defaults to *now* (so events that arrive while it
    runs are left for the next export). Raise InvalidExport when the window is empty."""
    end = until or now
    if since >= end:
        raise InvalidExport(f"{since_name} must be before {until_name} (or before now)")
    return AuditExport(since=since, until=end, format=format)


async def export_audit(
    store: Store, export: AuditExport, *, page_size: int = PAGE_SIZE
) -> AsyncIterator[bytes]:
    """Yield the export as UTF-8 chunks, one per page of events (the first with the CSV header).

    A store failure raises StoreError part-way; the caller must then make the reader see an
    incomplete export (a non-zero exit, a dropped connection), never a complete-looking one.
    """
    # The header waits for the first page, so a store that cannot be read yields nothing.
    header = _csv_lines([list(COLUMNS)]) if export.format is ExportFormat.CSV else b""
    after: AuditCursor | None = None
    while True:
        page = await store.list_audit(
            since=export.since,
            until=export.until,
            after=after,
            oldest_first=True,
            limit=page_size,
        )
        chunk = header + _encode(page, export.format) if page else header
        header = b""
        if chunk:
            yield chunk
        if len(page) < page_size:
            return
        after = AuditCursor.after(page[-1])


def _encode(events: Sequence[AuditEvent], format: ExportFormat) -> bytes:
    if format is ExportFormat.CSV:
        return _csv_lines([_csv_cells(event) for event in events])
    lines = [_JSON.encode(_record(event)) for event in events]
    return ("\n".join(lines) + "\n").encode("utf-8")


# One encoder for every row: json.dumps builds a new one per call when given options.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _record(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": _timestamp(event.at),
        "action": event.action,
        "outcome": event.outcome,
        "actor_id": event.actor_id,
        "target_id": event.target_id,
        "request_id": event.request_id,
        "reason": event.reason,
        "detail": exportable_detail(event.detail),
    }


def exportable_detail(detail: Mapping[str, str]) -> dict[str, str]:
    """*detail* by key, without keys that name a secret (the audit view shows the same)."""
    return {key: detail[key] for key in sorted(detail) if _may_export(key)}


@functools.lru_cache(maxsize=1024)
def _may_export(key: str) -> bool:
    return _SECRET_DETAIL.search(key) is None


def _csv_cells(event: AuditEvent) -> list[str]:
    return [
        str(event.id),
        _timestamp(event.at),
        _inert(event.action),
        _inert(event.outcome),
        _inert(event.actor_id),
        _inert(event.target_id or ""),
        _inert(event.request_id or ""),
        _inert(event.reason or ""),
        _JSON.encode(exportable_detail(event.detail)),
    ]


def _inert(cell: str) -> str:
    """Keep a spreadsheet from running *cell* as a formula (OWASP's CSV injection advice)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _csv_lines(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
