"""The composition root: the one place that builds adapters and wires them together.

`create_app` builds nothing at call time beyond the aiohttp application; long-lived resources
(the pooled HTTP clients, the store, the Teams runtime) are opened on start-up in a cleanup
context (`_open_ports`), wired (`_serving`: the request lifecycle, approvals, joiners, upkeep
and their background loops) and closed on shutdown. Tests pass in-memory twins through the
keyword arguments. `open_joiners` builds the joiner sweep alone, for the command line.
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
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import structlog
from aiohttp import web

from bot import audit_http
from bot.config import ApprovalMode, Settings, parse_stage
from bot.delivery.ports import SmsSender
from bot.delivery.settings import delivery_setup
from bot.delivery.wiring import build_delivery, build_sms_sender
from bot.domain.approvals import ApprovalPolicy
from bot.domain.audit import Auditor
from bot.domain.audit_view import AuditViewer
from bot.domain.checks import RequestChecks
from bot.domain.cleanup import PassCleanup
from bot.domain.clock import SystemClock
from bot.domain.issuing import PassIssuing
from bot.domain.joiner_answers import JoinerAnswers
from bot.domain.joiner_issue import JoinerIssuing
from bot.domain.joiner_schedule import JoinerSchedule
from bot.domain.joiner_steps import SweepPorts
from bot.domain.joiner_sweep import JoinerSweep
from bot.domain.joiners import JoinerConfig
from bot.domain.manager_check import ManagerCheck
from bot.domain.manager_sync import STARTUP_PAGES, ManagerSync
from bot.domain.membership import GroupMembership
from bot.domain.model import ApproverKind, Stage
from bot.domain.offers import RequestOffers
from bot.domain.policy import PRIVILEGED_ROLES, PolicyConfig
from bot.domain.ports import ChatReachability, Clock, Directory, Mailer, PassIssuer, Store
from bot.domain.requester import Profiles
from bot.domain.status import MyRequests
from bot.domain.team import TeamPasses
from bot.domain.upkeep import Upkeep
from bot.domain.workflow import RequestService
from bot.graph.wiring import build_graph_ports
from bot.observability import Metrics
from bot.ops import listener_url, ops_app, start_ops_listener
from bot.store.sql import SqlStore, create_store, migrate
from bot.teams.approval_cards import ApprovalCards
from bot.teams.audit_cards import AuditCards
from bot.teams.board import TeamsBoard
from bot.teams.chat import ProactiveChat
from bot.teams.handler import TeamsDeps
from bot.teams.joiner_cards import JoinerCards
from bot.teams.joiner_reminders import TeamsJoinerReminders
from bot.teams.proactive import ConversationReferences
from bot.teams.request_cards import RequestCards
from bot.teams.runtime import TeamsRuntime
from bot.teams.status_cards import StatusCards
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


@dataclass(frozen=True, slots=True)
class Joiners:
    """The joiner sweep, its daily schedule, and the reminder card's buttons."""

    sweep: JoinerSweep
    schedule: JoinerSchedule
    cards: JoinerCards


RUNTIME = web.AppKey("runtime", Runtime)
UPKEEP = web.AppKey("upkeep", Upkeep)
JOINERS = web.AppKey("joiners", Joiners)
# Where /healthz and /metrics are served (OPS_HOST:OPS_PORT, with the port actually bound).
OPS_URL = web.AppKey("ops_url", str)
MANAGER_SYNC = web.AppKey("manager_sync", ManagerSync)


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
    sms: SmsSender | None = None,
) -> web.Application:
    """Return the bot's aiohttp application for *settings*: ``POST /api/messages``, and the
    audit export when AUDIT_EXPORT_TOKEN is set (/healthz and /metrics have their own listener).

    *store*, *graph*, *clock* and *sms* replace the real adapters (tests); when *store* is
    given it is used as is (no migration, not closed by the app).
    """
    app = web.Application(client_max_size=settings.max_request_bytes)
    metrics = Metrics()

    async def resources(app: web.Application) -> AsyncIterator[None]:
        async with (
            _open_ports(settings, store=store, graph=graph, clock=clock, sms=sms) as opened,
            _serving(app, settings, metrics, opened),
        ):
            yield

    app.cleanup_ctx.append(resources)
    app.router.add_post("/api/messages", _messages)
    if settings.audit_export_token:  # no token: the export stays off (404)
        app.router.add_get(
            audit_http.PATH, audit_http.audit_export_handler(settings.audit_export_token, _export)
        )
    return app


@dataclass(frozen=True, slots=True)
class _Opened:
    store: Store
    components: GraphComponents
    clock: Clock
    sms: SmsSender | None


@asynccontextmanager
async def _open_ports(
    settings: Settings,
    *,
    store: Store | None = None,
    graph: GraphComponents | None = None,
    clock: Clock | None = None,
    sms: SmsSender | None = None,
) -> AsyncIterator[_Opened]:
    """The store (migrated), the Graph ports and the SMS sender, closed again on exit;
    *store*, *graph*, *clock* and *sms* replace the real ones (a given store is used as is:
    not migrated, not closed)."""
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
    sms_http: httpx.AsyncClient | None = None
    sms_sender = sms
    if sms_sender is None and settings.sms_provider != "none":
        sms_http = _sms_http_client(settings)
        sms_sender = build_sms_sender(settings, sms_http, the_clock)
    try:
        yield _Opened(the_store, components, the_clock, sms_sender)
    finally:
        close_auth()
        for client in (http, sms_http):
            if client is not None:
                await client.aclose()
        if own_store is not None:
            await own_store.close()


@asynccontextmanager
async def _serving(
    app: web.Application, settings: Settings, metrics: Metrics, opened: _Opened
) -> AsyncIterator[None]:
    """Wire the request lifecycle, approvals, joiners and upkeep on *opened*; run the
    background loops and the operator's listener until exit."""
    the_store, components, the_clock = opened.store, opened.components, opened.clock
    teams = TeamsRuntime(settings, metrics)
    references = ConversationReferences(the_store, the_clock)
    auditor = Auditor(the_store, the_clock)
    manager_sync = ManagerSync(
        directory=components.directory,
        store=the_store,
        clock=the_clock,
        owner=_process_owner(),
        auditor=auditor,
    )
    wired = _requests(settings, opened, teams, references)
    joiners = build_joiners(
        settings,
        store=the_store,
        directory=components.directory,
        pass_issuer=components.pass_issuer,
        teams=teams,
        references=references,
        auditor=auditor,
        clock=the_clock,
        wired=wired,
    )
    app[JOINERS] = joiners
    teams.serve(
        TeamsDeps(
            profiles=Profiles(
                directory=components.directory,
                store=the_store,
                clock=the_clock,
                helpdesk_group_id=settings.helpdesk_group_id,
            ),
            references=references,
            auditor=auditor,
            tenant_id=settings.tenant_id,
            helpdesk_group_id=settings.helpdesk_group_id,
            request_cards=wired.request_cards,
            approval_cards=wired.approval_cards,
            team_cards=wired.team_cards,
            audit_cards=wired.audit_cards,
            status_cards=wired.status_cards,
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
    app[UPKEEP] = wired.upkeep
    app[MANAGER_SYNC] = manager_sync
    # The first poll runs before the bot answers anyone, with a large page budget, so the
    # baseline of managers exists before the first request (a very large tenant's goes on in
    # the loop; until it is complete, requests fail closed to the helpdesk).
    await _logged(partial(manager_sync.poll, pages=STARTUP_PAGES))
    loops = [
        asyncio.create_task(
            _every(settings.scheduler_interval_seconds, partial(_upkeep_round, wired.upkeep)),
            name="upkeep",
        ),
        # Its own loop: a long baseline must not hold up pass redactions.
        asyncio.create_task(
            _every(settings.manager_sync_interval_seconds, manager_sync.poll), name="managers"
        ),
        asyncio.create_task(
            _every(settings.scheduler_interval_seconds, joiners.schedule.tick), name="joiners"
        ),
    ]
    ops: web.AppRunner | None = None
    try:
        ops = await start_ops_listener(
            ops_app(
                store=the_store,
                graph_token_probe=components.token_probe,
                metrics=metrics,
                token=settings.ops_token,
            ),
            settings.ops_host,
            settings.ops_port,
        )
        app[OPS_URL] = listener_url(ops)
        log.info(
            "tapbot started",
            production=settings.production,
            store=_engine(settings),
            ops=app[OPS_URL],
        )
        warn_unprotected_roles(settings)
        yield
    finally:
        if ops is not None:
            await ops.cleanup()
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)


@dataclass(frozen=True, slots=True)
class RequestMachinery:
    """The request lifecycle and the cards and upkeep around it, wired together."""

    auditor: Auditor
    service: RequestService
    request_cards: RequestCards
    approval_cards: ApprovalCards
    team_cards: TeamCards
    audit_cards: AuditCards
    status_cards: StatusCards
    upkeep: Upkeep
    offers: RequestOffers
    board: TeamsBoard
    reach: ChatReachability


def _requests(
    settings: Settings,
    opened: _Opened,
    teams: TeamsRuntime,
    references: ConversationReferences,
) -> RequestMachinery:
    graph, store, clock, sms = opened.components, opened.store, opened.clock, opened.sms
    auditor = Auditor(store, clock)
    manager_check = ManagerCheck(
        directory=graph.directory,
        store=store,
        window=timedelta(days=settings.manager_change_window_days),
        trusted_provisioning_ids=frozenset(settings.hr_provisioning_app_ids),
        auditor=auditor,
    )
    timezone = ZoneInfo(settings.timezone)
    config = policy_config(settings)
    delivery = build_delivery(
        settings,
        chat=ProactiveChat(teams.adapter, references, app_id=settings.app_id),
        directory=graph.directory,
        mailer=graph.mailer,
        sms=sms,
        store=store,
        auditor=auditor,
        clock=clock,
    )
    board = TeamsBoard(
        teams.adapter,
        references,
        store,
        clock,
        app_id=settings.app_id,
        timezone=timezone,
        helpdesk_channel_id=settings.helpdesk_channel_id,
    )
    checks = RequestChecks(
        directory=graph.directory,
        pass_issuer=graph.pass_issuer,
        membership=GroupMembership(graph.directory, clock),
        clock=clock,
        config=config,
        helpdesk_group_id=settings.helpdesk_group_id,
        manager_check=manager_check,
    )
    cleanup = PassCleanup(graph.pass_issuer, auditor, store)
    service = RequestService(
        directory=graph.directory,
        checks=checks,
        issuing=PassIssuing(
            pass_issuer=graph.pass_issuer,
            delivery=delivery,
            store=store,
            auditor=auditor,
            clock=clock,
            cleanup=cleanup,
            redact_after=timedelta(minutes=settings.pass_redact_after_minutes),
        ),
        delivery=delivery,
        board=board,
        store=store,
        auditor=auditor,
        clock=clock,
        config=config,
        approvals=approval_policy(settings),
        helpdesk_group_id=settings.helpdesk_group_id,
        timezone=timezone,
    )
    offers = RequestOffers(
        directory=graph.directory,
        pass_issuer=graph.pass_issuer,
        checks=checks,
        store=store,
        clock=clock,
        config=config,
        setup=delivery_setup(settings),
        reach=delivery,
    )
    request_cards = RequestCards(service, offers, board, timezone, is_helpdesk=checks.is_helpdesk)
    team = TeamPasses(
        directory=graph.directory,
        pass_issuer=graph.pass_issuer,
        delivery=delivery,
        auditor=auditor,
        clock=clock,
        store=store,
    )
    audit_viewer = AuditViewer(
        directory=graph.directory,
        store=store,
        auditor=auditor,
        clock=clock,
        helpdesk_group_id=settings.helpdesk_group_id,
    )
    return RequestMachinery(
        auditor=auditor,
        service=service,
        request_cards=request_cards,
        team_cards=TeamCards(team, request_cards, timezone),
        audit_cards=AuditCards(audit_viewer, timezone),
        status_cards=StatusCards(MyRequests(store=store, requests=service, clock=clock), timezone),
        approval_cards=ApprovalCards(service, store, timezone),
        upkeep=Upkeep(
            store=store,
            delivery=delivery,
            cleanup=cleanup,
            auditor=auditor,
            clock=clock,
            expire=service.expire_due,
        ),
        offers=offers,
        board=board,
        reach=delivery,
    )


def approval_policy(settings: Settings) -> ApprovalPolicy:
    """The approval stages of a helpdesk request: APPROVAL_STAGES when set, else the preset of
    APPROVAL_MODE; each stage waits APPROVAL_TIMEOUT_MINUTES unless it says otherwise."""
    timeout = settings.approval_timeout_minutes
    if settings.approval_stages:
        stages = []
        for entry in settings.approval_stages:
            parsed = parse_stage(entry)
            assert parsed is not None  # Settings refused it otherwise
            approver, group, minutes = parsed
            stages.append(Stage(ApproverKind(approver), minutes or timeout, group))
        planned = tuple(stages)
    elif settings.approval_mode is ApprovalMode.FOUR_EYES:
        planned = (Stage(ApproverKind.HELPDESK, timeout),)
    elif settings.approval_mode is ApprovalMode.MANAGER_AND_HELPDESK:
        planned = (Stage(ApproverKind.MANAGER, timeout), Stage(ApproverKind.HELPDESK, timeout))
    else:
        planned = ()
    return ApprovalPolicy(helpdesk_stages=planned, safeguard_timeout_minutes=timeout)


def joiner_config(settings: Settings) -> JoinerConfig:
    """The domain's view of the joiner settings."""
    return JoinerConfig(
        pass_lifetime_minutes=settings.joiner_pass_lifetime_minutes,
        pass_one_time=settings.joiner_pass_one_time,
        delivery=delivery_setup(settings),
        auto_issue=settings.joiner_auto_issue,
        auto_max_account_age_days=settings.joiner_auto_max_account_age_days,
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
    wired: RequestMachinery,
) -> Joiners:
    """The joiner sweep wired to Teams reminders, its schedule and its card's buttons; a pass
    asked for from a reminder goes through *wired*'s request lifecycle."""
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
    answers = JoinerAnswers(
        directory=directory,
        store=store,
        auditor=auditor,
        clock=clock,
        config=config,
        helpdesk_group_id=settings.helpdesk_group_id,
    )
    issuing = JoinerIssuing(
        answers=answers,
        requests=wired.service,
        store=store,
        auditor=auditor,
        clock=clock,
        config=config,
        offers=wired.offers,
        reach=wired.reach,
    )
    sweep = JoinerSweep(
        SweepPorts(
            directory,
            pass_issuer,
            store,
            reminders,
            auditor,
            clock,
            issuing=issuing if config.auto_issue else None,
        ),
        config=config,
        policy=policy_config(settings),
        owner=_process_owner(),
    )
    cards = JoinerCards(answers, issuing, wired.request_cards, wired.board, clock, config.timezone)
    return Joiners(sweep, JoinerSchedule(sweep), cards)


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
        references = ConversationReferences(opened.store, opened.clock)
        joiners = build_joiners(
            settings,
            store=opened.store,
            directory=opened.components.directory,
            pass_issuer=opened.components.pass_issuer,
            teams=teams,
            references=references,
            auditor=Auditor(opened.store, opened.clock),
            clock=opened.clock,
            wired=_requests(settings, opened, teams, references),
        )
        yield joiners.sweep


def policy_config(settings: Settings) -> PolicyConfig:
    """The domain's view of the policy knobs."""
    return PolicyConfig(
        allow_indirect_reports=settings.allow_indirect_reports,
        allow_guests=settings.allow_guests,
        privileged_role_ids=settings.protected_role_ids,
        blocked_group_ids=tuple(settings.blocked_group_ids),
        max_lifetime_minutes=settings.max_lifetime_minutes,
        require_one_time=settings.require_one_time,
        requests_per_requester_per_hour=settings.requests_per_requester_per_hour,
        requests_per_target_per_day=settings.requests_per_target_per_day,
        manager_change_window_days=settings.manager_change_window_days,
        trusted_provisioning_ids=frozenset(settings.hr_provisioning_app_ids),
    )


async def _upkeep_round(upkeep: Upkeep) -> None:
    report = await upkeep.run()
    if report.failed:
        # Each part failed on its own; the others ran. The next round tries again.
        log.warning("upkeep parts failed", failed=report.failed)


def warn_unprotected_roles(settings: Settings) -> None:
    """Log a warning naming each default privileged role that UNSAFE_UNPROTECTED_ROLE_IDS
    removed: its holders can now be given a pass by a manager."""
    for role_id in settings.unprotected_role_ids:
        log.warning(
            "privileged role NOT protected: its holders can get a pass from tapbot",
            role=PRIVILEGED_ROLES.get(role_id, "unknown role"),
            role_id=role_id,
            setting="UNSAFE_UNPROTECTED_ROLE_IDS",
        )


def _process_owner() -> str:
    """A name for this process that no other process sharing the store has (lease owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def _every(seconds: float, job: Callable[[], Awaitable[object]]) -> None:
    """Run *job* now and then every *seconds* until cancelled; a failed run is logged."""
    while True:
        await _logged(job)
        await asyncio.sleep(seconds)


async def _logged(job: Callable[[], Awaitable[object]]) -> None:
    try:
        await job()
    except Exception:  # the next run retries; one bad run must not stop the loop
        log.exception("scheduled job failed", job=getattr(job, "__qualname__", "job"))


def _graph_http_client(settings: Settings) -> httpx.AsyncClient:
    """One pooled client for every Graph call of this process."""
    verify: Any = str(settings.graph_ca_bundle) if settings.graph_ca_bundle else True
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.graph_timeout_seconds, connect=5.0),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        verify=verify,
        headers={"User-Agent": "tapbot/0.1"},
    )


def _sms_http_client(settings: Settings) -> httpx.AsyncClient:
    """One pooled client for the SMS provider (the system's CAs, not Graph's bundle)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.sms_timeout_seconds, connect=5.0),
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=5),
        headers={"User-Agent": "tapbot/0.1"},
    )


def _engine(settings: Settings) -> str:
    return settings.database_url.split(":", 1)[0]


async def _messages(request: web.Request) -> web.StreamResponse:
    return await request.app[RUNTIME].teams.messages(request)


def _export(request: web.Request) -> audit_http.ExportDeps:
    runtime = request.app[RUNTIME]
    return audit_http.ExportDeps(runtime.store, runtime.clock)
