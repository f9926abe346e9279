"""``GET /audit/export``: the audit trail for operators, over HTTP, behind a bearer token.

``Authorization: Bearer <AUDIT_EXPORT_TOKEN>``, compared in constant time; anything else gets a
bare 401 and is audited. Query: ``since`` (required), ``until`` (default now), ``format``
(``csv`` or ``json``), as for ``python -m bot audit export``. The body is streamed with chunked
transfer encoding a page at a time (`bot.audit_export`); if the store fails part-way the
connection is dropped, so the client sees a broken transfer, never a short export that looks
complete. The composition root registers the route only when a token is configured.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from aiohttp import web

from bot.audit_export import (
    AuditExport,
    InvalidExport,
    audit_export,
    export_audit,
    parse_format,
    parse_moment,
)
from bot.domain.audit import Auditor
from bot.domain.errors import StoreError
from bot.domain.ports import Clock, Store

log = structlog.get_logger(__name__)

PATH = "/audit/export"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class ExportDeps:
    store: Store
    clock: Clock


def audit_export_handler(token: str, deps_of: Callable[[web.Request], ExportDeps]) -> Handler:
    """Return the route's handler for *token* (non-empty); *deps_of* finds the running store."""
    if not token:
        raise ValueError("the audit export needs a token; without one it must stay off")
    expected = f"Bearer {token}".encode()

    async def handle(request: web.Request) -> web.StreamResponse:
        deps = deps_of(request)
        auditor = Auditor(deps.store, deps.clock)
        given = request.headers.get("Authorization")
        if given is None or not hmac.compare_digest(
            given.encode("utf-8", "surrogateescape"), expected
        ):
            await auditor.record(
                "audit_export",
                "refused",
                actor_id="anonymous",
                reason="missing_token" if given is None else "wrong_token",
                detail={"remote": request.remote or ""},
            )
            return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})
        try:
            export = _export_of(request, deps.clock)
        except InvalidExport as invalid:
            return web.json_response({"error": str(invalid)}, status=400)
        await auditor.record(
            "audit_export",
            "started",
            actor_id="export_token",
            detail={
                "since": export.since.isoformat(),
                "until": export.until.isoformat(),
                "format": export.format.value,
                "remote": request.remote or "",
            },
        )
        return await _stream(request, deps.store, export)

    return handle


def _export_of(request: web.Request, clock: Clock) -> AuditExport:
    query = request.query
    since = query.get("since")
    if not since:
        raise InvalidExport("since is required: ?since=2025-06-01 (an ISO 8601 date or time)")
    until = query.get("until")
    return audit_export(
        since=parse_moment(since, name="since"),
        until=parse_moment(until, name="until") if until else None,
        format=parse_format(query.get("format", ""), name="format"),
        now=clock.now(),
        since_name="since",
        until_name="until",
    )


async def _stream(request: web.Request, store: Store, export: AuditExport) -> web.StreamResponse:
    name = f"tapbot-audit-{export.since:%Y%m%dT%H%M%SZ}-{export.until:%Y%m%dT%H%M%SZ}"
    response = web.StreamResponse(
        headers={
            "Content-Type": export.format.media_type,
            "Content-Disposition": f'attachment; filename="{name}.{export.format.suffix}"',
            "Cache-Control": "no-store",
        }
    )
    response.enable_chunked_encoding()
    chunks = export_audit(store, export)
    try:
        # The first page is read before the status line goes out, so a store that is down
        # gets a 503 rather than a 200 that breaks off.
        first = await anext(chunks, b"")
    except StoreError as error:
        log.warning("audit export failed", error=str(error))
        return web.json_response({"error": "the audit store is unavailable"}, status=503)
    await response.prepare(request)
    try:
        await response.write(first)
        async for chunk in chunks:
            await response.write(chunk)
    except StoreError as error:
        log.warning("audit export broke off", error=str(error))
        if request.transport is not None:
            request.transport.abort()
        return response
    await response.write_eof()
    return response
