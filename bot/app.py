"""The composition root: the one place that builds adapters and wires them together.

`create_app` builds nothing at call time beyond the aiohttp application; long-lived resources
(the pooled HTTP client, the store, the Teams runtime) are created on start-up in a cleanup
context and closed on shutdown. Tests pass in-memory twins through the keyword arguments.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.config import Settings
from bot.domain.audit import Auditor
from bot.domain.cleanup import PassCleanup
from bot.domain.clock import SystemClock
from bot.domain.errors import StoreError
from bot.domain.joiner_answers import JoinerAnswers
from bot.domain.joiner_schedule import JoinerSchedule
from bot.domain.joiner_steps import SweepPorts
from bot.domain.joiner_sweep import JoinerSweep
from bot.domain.joiners import JoinerConfig
from bot.domain.policy import PRIVILEGED_ROLE_IDS, PolicyConfig
from bot.domain.ports import Clock, Directory, Mailer, PassIssuer, Store
from bot.domain.upkeep import Upkeep
from bot.domain.workflow import ManagerRequests
from bot.graph.wiring import build_graph_ports
from bot.observability import Metrics
from bot.store.sql import SqlStore, create_store, migrate
from bot.teams.delivery import ChatDelivery
from bot.teams.handler import TeamsDeps
from bot.teams.joiner_cards import JoinerCards
from bot.teams.joiner_reminders import TeamsJoinerReminders
from bot.teams.proactive import ConversationReferences
from bot.teams.request_cards import RequestCards
from bot.teams.runtime import TeamsRuntime

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


@dataclass(frozen=True, slots=True)
class Joiners:
    """The joiner sweep, its daily schedule, and the reminder card's buttons."""

    sweep: JoinerSweep
    schedule: JoinerSchedule
    cards: JoinerCards


RUNTIME = web.AppKey("runtime", Runtime)
UPKEEP = web.AppKey("upkeep", Upkeep)
JOINERS = web.AppKey("joiners", Joiners)


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
        async with (
            _open_ports(settings, store=store, graph=graph, clock=clock) as opened,
            _serving(app, settings, metrics, opened),
        ):
            yield

    app.cleanup_ctx.append(resources)
    app.router.add_post("/api/messages", _messages)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    return app


@dataclass(frozen=True, slots=True)
class _Opened:
    store: Store
    components: GraphComponents
    clock: Clock


@asynccontextmanager
async def _open_ports(
    settings: Settings,
    *,
    store: Store | None = None,
    graph: GraphComponents | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[_Opened]:
    """The store (migrated) and the Graph ports, closed again on exit; *store*, *graph* and
    *clock* replace the real ones (a given store is used as is: not migrated, not closed)."""
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
    try:
        yield _Opened(the_store, components, the_clock)
    finally:
        close_auth()
        if http is not None:
            await http.aclose()
        if own_store is not None:
            await own_store.close()


@asynccontextmanager
async def _serving(
    app: web.Application, settings: Settings, metrics: Metrics, opened: _Opened
) -> AsyncIterator[None]:
    """Wire the request flow, the joiner sweep and upkeep on *opened*; run the background
    loops until exit."""
    the_store, components, the_clock = opened.store, opened.components, opened.clock
    teams = TeamsRuntime(settings, metrics)
    references = ConversationReferences(the_store, the_clock)
    auditor = Auditor(the_store, the_clock)
    timezone = ZoneInfo(settings.timezone)
    delivery = ChatDelivery(teams.adapter, references, app_id=settings.app_id, timezone=timezone)
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
    joiners = build_joiners(
        settings,
        store=the_store,
        directory=components.directory,
        pass_issuer=components.pass_issuer,
        teams=teams,
        references=references,
        auditor=auditor,
        clock=the_clock,
    )
    app[JOINERS] = joiners
    teams.serve(
        TeamsDeps(
            directory=components.directory,
            references=references,
            auditor=auditor,
            tenant_id=settings.tenant_id,
            helpdesk_group_id=settings.helpdesk_group_id,
            request_cards=RequestCards(requests, timezone),
            joiner_cards=joiners.cards,
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
    joiner_loop = asyncio.create_task(
        _every(settings.scheduler_interval_seconds, joiners.schedule.tick), name="joiners"
    )
    try:
        yield
    finally:
        scheduler.cancel()
        joiner_loop.cancel()
        await asyncio.gather(scheduler, joiner_loop, return_exceptions=True)


def joiner_config(settings: Settings) -> JoinerConfig:
    """The domain's view of the joiner settings."""
    return JoinerConfig(
        timezone=ZoneInfo(settings.timezone),
        days_ahead=settings.joiner_days_ahead,
        margin_days=settings.joiner_margin_days,
        sweep_time=settings.joiner_sweep_time,
        sweep_at_start=settings.joiner_sweep_at_start,
        departments=tuple(settings.joiner_scope_departments),
        companies=tuple(settings.joiner_scope_companies),
        group_id=settings.joiner_scope_group_id,
    )


def build_joiners(
    settings: Settings,
    *,
    store: Store,
    directory: Directory,
    pass_issuer: PassIssuer,
    teams: TeamsRuntime,
    references: ConversationReferences,
    auditor: Auditor,
    clock: Clock,
) -> Joiners:
    """The joiner sweep wired to Teams reminders, its schedule and its card's buttons."""
    config = joiner_config(settings)
    reminders = TeamsJoinerReminders(
        teams.adapter,
        references,
        store,
        directory,
        clock,
        app_id=settings.app_id,
        tenant_id=settings.tenant_id,
        teams_app_id=settings.teams_app_id,
        helpdesk_channel_id=settings.helpdesk_channel_id,
        timezone=config.timezone,
    )
    sweep = JoinerSweep(
        SweepPorts(directory, pass_issuer, store, reminders, auditor, clock),
        config=config,
        policy=policy_config(settings),
        owner=_process_owner(),
    )
    answers = JoinerAnswers(
        directory=directory,
        store=store,
        auditor=auditor,
        clock=clock,
        config=config,
        helpdesk_group_id=settings.helpdesk_group_id,
    )
    return Joiners(sweep, JoinerSchedule(sweep), JoinerCards(answers, clock, config.timezone))


@asynccontextmanager
async def open_joiners(
    settings: Settings,
    *,
    store: Store | None = None,
    graph: GraphComponents | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[JoinerSweep]:
    """The joiner sweep outside the web server (``python -m bot joiners sweep``): the same
    store, Graph ports and Teams connector as the bot's, closed on exit."""
    async with _open_ports(settings, store=store, graph=graph, clock=clock) as opened:
        teams = TeamsRuntime(settings, Metrics())
        joiners = build_joiners(
            settings,
            store=opened.store,
            directory=opened.components.directory,
            pass_issuer=opened.components.pass_issuer,
            teams=teams,
            references=ConversationReferences(opened.store, opened.clock),
            auditor=Auditor(opened.store, opened.clock),
            clock=opened.clock,
        )
        yield joiners.sweep


def _process_owner() -> str:
    """This process's name in claims: unique across machines, processes and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


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
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
        verify=verify,
        headers={"User-Agent": "tapbot/0.1"},
    )


def _engine(settings: Settings) -> str:
    return settings.database_url.split(":", 1)[0]


async def _messages(request: web.Request) -> web.StreamResponse:
    return await request.app[RUNTIME].teams.messages(request)


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
