"""The composition root: the one place that builds adapters and wires them together.

`create_app` builds nothing at call time beyond the aiohttp application; long-lived resources
(the pooled HTTP client, the store, the Teams runtime) are created on start-up in a cleanup
context and closed on shutdown. Tests pass in-memory twins through the keyword arguments.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot import audit_http
from bot.config import Settings
from bot.domain.audit import Auditor
from bot.domain.audit_view import AuditViewer
from bot.domain.cleanup import PassCleanup
from bot.domain.clock import SystemClock
from bot.domain.errors import StoreError
from bot.domain.policy import PRIVILEGED_ROLE_IDS, PolicyConfig
from bot.domain.ports import Clock, Directory, Mailer, PassIssuer, Store
from bot.domain.team import TeamPasses
from bot.domain.upkeep import Upkeep
from bot.domain.workflow import ManagerRequests
from bot.graph.wiring import build_graph_ports
from bot.observability import Metrics
from bot.store.sql import SqlStore, create_store, migrate
from bot.teams.audit_cards import AuditCards
from bot.teams.delivery import ChatDelivery
from bot.teams.handler import TeamsDeps
from bot.teams.proactive import ConversationReferences
from bot.teams.request_cards import RequestCards
from bot.teams.runtime import TeamsRuntime
from bot.teams.team_cards import TeamCards

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the running app holds: built once at start-up, closed at shutdown."""

    settings: Settings
    store: Store
    directory: Directory
    pass_issuer: PassIssuer
    mailer: Mailer
    clock: Clock
    teams: TeamsRuntime
    metrics: Metrics
    graph_token_probe: Callable[[], Awaitable[None]]


RUNTIME = web.AppKey("runtime", Runtime)
UPKEEP = web.AppKey("upkeep", Upkeep)


@dataclass(frozen=True, slots=True)
class GraphComponents:
    """The Graph-backed ports, and a coroutine function that fails unless a token can be had."""

    directory: Directory
    pass_issuer: PassIssuer
    mailer: Mailer
    token_probe: Callable[[], Awaitable[None]]


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    graph: GraphComponents | None = None,
    clock: Clock | None = None,
) -> web.Application:
    """Return the bot's aiohttp application for *settings*.

    *store*, *graph* and *clock* replace the real adapters (tests); when *store* is given it is
    used as is (no migration, not closed by the app).
    """
    app = web.Application(client_max_size=settings.max_request_bytes)
    metrics = Metrics()

    async def resources(app: web.Application) -> AsyncIterator[None]:
        the_clock = clock or SystemClock()
        own_store: SqlStore | None = None
        the_store: Store
        if store is None:
            await migrate(settings.database_url)
            the_store = own_store = create_store(settings.database_url)
        else:
            the_store = store
        http: httpx.AsyncClient | None = None
        close_auth: Callable[[], None] = lambda: None  # noqa: E731  # nothing to close for twins
        components = graph
        if components is None:
            http = _graph_http_client(settings)
            ports = build_graph_ports(settings, http, the_clock)
            close_auth = ports.close
            components = GraphComponents(
                ports.directory, ports.pass_issuer, ports.mailer, ports.token_probe
            )
        teams = TeamsRuntime(settings, metrics)
        references = ConversationReferences(the_store, the_clock)
        auditor = Auditor(the_store, the_clock)
        timezone = ZoneInfo(settings.timezone)
        delivery = ChatDelivery(
            teams.adapter, references, app_id=settings.app_id, timezone=timezone
        )
        requests = ManagerRequests(
            directory=components.directory,
            pass_issuer=components.pass_issuer,
            delivery=delivery,
            store=the_store,
            auditor=auditor,
            clock=the_clock,
            config=policy_config(settings),
            redact_after=timedelta(minutes=settings.pass_redact_after_minutes),
        )
        request_cards = RequestCards(requests, timezone)
        team = TeamPasses(
            directory=components.directory,
            pass_issuer=components.pass_issuer,
            delivery=delivery,
            auditor=auditor,
            clock=the_clock,
        )
        audit_viewer = AuditViewer(
            directory=components.directory,
            store=the_store,
            auditor=auditor,
            helpdesk_group_id=settings.helpdesk_group_id,
        )
        teams.serve(
            TeamsDeps(
                directory=components.directory,
                references=references,
                auditor=auditor,
                tenant_id=settings.tenant_id,
                helpdesk_group_id=settings.helpdesk_group_id,
                request_cards=request_cards,
                team_cards=TeamCards(team, request_cards, timezone),
                audit_cards=AuditCards(audit_viewer, timezone),
            )
        )
        app[RUNTIME] = Runtime(
            settings=settings,
            store=the_store,
            directory=components.directory,
            pass_issuer=components.pass_issuer,
            mailer=components.mailer,
            clock=the_clock,
            teams=teams,
            metrics=metrics,
            graph_token_probe=components.token_probe,
        )
        log.info("tapbot started", production=settings.production, store=_engine(settings))
        upkeep = Upkeep(
            store=the_store,
            delivery=delivery,
            cleanup=PassCleanup(components.pass_issuer, auditor),
            auditor=auditor,
            clock=the_clock,
        )
        app[UPKEEP] = upkeep
        scheduler = asyncio.create_task(
            _every(settings.scheduler_interval_seconds, upkeep.run), name="upkeep"
        )
        try:
            yield
        finally:
            scheduler.cancel()
            await asyncio.gather(scheduler, return_exceptions=True)
            close_auth()
            if http is not None:
                await http.aclose()
            if own_store is not None:
                await own_store.close()

    app.cleanup_ctx.append(resources)
    app.router.add_post("/api/messages", _messages)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    if settings.audit_export_token:  # no token: the export stays off (404)
        app.router.add_get(
            audit_http.PATH, audit_http.audit_export_handler(settings.audit_export_token, _export)
        )
    return app


def policy_config(settings: Settings) -> PolicyConfig:
    """The domain's view of the policy knobs."""
    return PolicyConfig(
        allow_indirect_reports=settings.allow_indirect_reports,
        allow_guests=settings.allow_guests,
        privileged_role_ids=(
            frozenset(settings.privileged_role_ids)
            if settings.privileged_role_ids is not None
            else PRIVILEGED_ROLE_IDS
        ),
        blocked_group_ids=tuple(settings.blocked_group_ids),
        max_lifetime_minutes=settings.max_lifetime_minutes,
        require_one_time=settings.require_one_time,
        requests_per_requester_per_hour=settings.requests_per_requester_per_hour,
        requests_per_target_per_day=settings.requests_per_target_per_day,
        manager_change_window_days=settings.manager_change_window_days,
    )


async def _every(seconds: float, job: Callable[[], Awaitable[object]]) -> None:
    """Run *job* now and then every *seconds* until cancelled; a failed run is logged."""
    while True:
        try:
            await job()
        except Exception:  # the next run retries; one bad run must not stop the loop
            log.exception("scheduled job failed", job=getattr(job, "__qualname__", "job"))
        await asyncio.sleep(seconds)


def _graph_http_client(settings: Settings) -> httpx.AsyncClient:
    """One pooled client for every Graph call of this process."""
    verify: Any = str(settings.graph_ca_bundle) if settings.graph_ca_bundle else True
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.graph_timeout_seconds, connect=5.0),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        verify=verify,
        headers={"User-Agent": "tapbot/0.1"},
    )


def _engine(settings: Settings) -> str:
    return settings.database_url.split(":", 1)[0]


async def _messages(request: web.Request) -> web.StreamResponse:
    return await request.app[RUNTIME].teams.messages(request)


def _export(request: web.Request) -> audit_http.ExportDeps:
    runtime = request.app[RUNTIME]
    return audit_http.ExportDeps(runtime.store, runtime.clock)


async def _healthz(request: web.Request) -> web.Response:
    """Report whether the store answers and a Graph token can be had; 503 if either fails."""
    runtime = request.app[RUNTIME]
    checks: dict[str, str] = {}
    try:
        await runtime.store.ping()
        checks["store"] = "ok"
    except StoreError:
        checks["store"] = "unreachable"
    try:
        await runtime.graph_token_probe()
        checks["graph"] = "ok"
    except Exception as exc:  # any failure to get a token makes the bot useless: report it
        log.warning("graph token probe failed", error_type=type(exc).__name__)
        checks["graph"] = "unavailable"
    healthy = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ok" if healthy else "failing", "checks": checks}, status=200 if healthy else 503
    )


async def _metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[RUNTIME].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
