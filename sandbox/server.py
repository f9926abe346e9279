"""The fake tenant served over HTTP on 127.0.0.1: `run_fake_tenant`.

One aiohttp application answers on two loopback ports: plain HTTP (Graph under ``/v1.0``, the
managed-identity endpoint, the SMS fakes, the pages) and HTTPS with the sandbox's own CA (the
same routes; msal needs the token endpoint there). A middleware applies injected faults, checks
the bearer token and permission of every Graph call, and turns `GraphError` into Graph's error
body ``{"error": {"code", "message", "innerError": {"date", "request-id", ...}}}``.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox import org
from sandbox.calls import CallLog
from sandbox.change_routes import CLAIMS
from sandbox.faults import Fault, FaultBoard
from sandbox.graph_routes import PERMISSIONS, GraphRoutes, forbidden
from sandbox.pages import Pages
from sandbox.pki import create_pki
from sandbox.role_routes import APP_ROLES
from sandbox.sms_routes import SmsRoutes, provider_fault
from sandbox.tenant import GraphError, Tenant
from sandbox.token_routes import TokenIssuer, TokenRoutes

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_UNFAULTED = ("/_sandbox/",)
_GRAPH = "/v1.0/"


def graph_error_response(error: GraphError, request: web.Request) -> web.Response:
    """*error* as Graph sends it, with request ids in ``innerError`` and the headers."""
    request_id = str(uuid.uuid4())
    client_request_id = request.headers.get("client-request-id", request_id)
    inner: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": client_request_id,
    }
    if error.echo_message:
        inner = {"message": error.message, **inner}
    body = {"error": {"code": error.code, "message": error.message, "innerError": inner}}
    headers = {"request-id": request_id, "client-request-id": client_request_id} | error.headers
    return web.json_response(body, status=error.status, headers=headers)


def fault_error(fault: Fault, operation: str = "") -> GraphError:
    """The error a throttle or error fault answers with; a 403 has the route's own shape."""
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    if fault.kind == "error" and fault.status == 403:
        return forbidden(operation)
    if fault.kind == "throttle":
        return GraphError(429, "TooManyRequests", "Please retry again later.", headers=headers)
    codes = {500: "generalException", 503: "serviceNotAvailable", 504: "GatewayTimeout"}
    return GraphError(
        fault.status,
        fault.code or codes.get(fault.status, "generalException"),
        "The sandbox injected this fault.",
        headers=headers,
    )


@dataclass
class FakeTenant:
    """A running fake tenant: where it is, its credentials, and its live state."""

    base_url: str
    https_base_url: str
    graph_url: str
    authority: str
    tenant_id: str
    client_id: str
    client_secret: str
    ca_cert_path: Path
    cert_path: Path
    cert_thumbprint: str
    msi_endpoint: str
    msi_header: str
    msi_client_id: str
    home_url: str
    outbox_url: str
    faults: FaultBoard
    issuer: TokenIssuer
    graph: GraphRoutes
    _holder: _Holder = field(repr=False)

    @property
    def tenant(self) -> Tenant:
        """The live state (the same object across `reset`)."""
        return self._holder.tenant

    def reset(self) -> None:
        """Reseed the organisation in place and clear the faults."""
        self.faults.clear()
        self._holder.reseed()

    def ready_line(self) -> dict[str, str]:
        """What ``python -m sandbox`` prints first (sandbox/stack.py reads it)."""
        return {
            "graph_url": self.graph_url,
            "base_url": self.base_url,
            "authority": self.authority,
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "ca_cert_path": str(self.ca_cert_path),
            "cert_path": str(self.cert_path),
            "cert_thumbprint": self.cert_thumbprint,
            "msi_endpoint": self.msi_endpoint,
            "msi_header": self.msi_header,
            "msi_client_id": self.msi_client_id,
            "home_url": self.home_url,
            "outbox_url": self.outbox_url,
        }


class _Holder:
    def __init__(
        self,
        now: datetime | None,
        clock: Callable[[], datetime] | None,
        extra_reports: int = 0,
        synthetic: tuple[int, int] = (0, 0),
    ) -> None:
        self._clock = clock
        self._extra_reports = extra_reports
        self._synthetic = synthetic
        self.tenant = self._seed(now or (clock or _now)())

    def _seed(self, now: datetime) -> Tenant:
        tenant = org.seed(now, clock=self._clock)
        org.add_synthetic_reports(tenant, self._extra_reports, now)
        users, joiners = self._synthetic
        if users:
            org.add_synthetic_tenant(tenant, users, joiners, now)
        return tenant

    def reseed(self) -> None:
        self.tenant.replace_state(self._seed(self.tenant.clock()))


def _now() -> datetime:
    return datetime.now(UTC)


def _middleware(holder: _Holder, faults: FaultBoard, issuer: TokenIssuer, calls: CallLog) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.monotonic()
        path = request.path
        operation = request.match_info.route.name
        fault = None
        if not path.startswith(_UNFAULTED) and operation not in ("home", "outbox"):
            fault = faults.take(operation, path)
        if fault is not None and fault.kind in ("latency", "timeout"):
            await asyncio.sleep(fault.seconds)
        try:
            if fault is not None and fault.kind in ("throttle", "error"):
                provider = provider_fault(operation, fault)
                if provider is not None:
                    return provider
                raise fault_error(fault, operation or "")
            if path.startswith(_GRAPH):
                claims = issuer.check(request.headers.get("Authorization"))
                request[CLAIMS] = claims
                # App-only tokens carry permissions in `roles`, delegated ones in `scp`.
                granted = set(claims.get("roles", ())) | set(str(claims.get("scp", "")).split())
                request[APP_ROLES] = granted
                allowed = PERMISSIONS.get(operation or "")
                if allowed is not None and not allowed & granted:
                    raise forbidden(operation or "")
            if fault is not None and fault.kind == "unreadable":
                # What a proxy in the way might answer: 200, and no Graph JSON in it.
                return web.Response(
                    text="<html><body>Service temporarily unavailable</body></html>",
                    content_type="application/json",
                )
            response = await handler(request)
        except GraphError as exc:
            response = graph_error_response(exc, request)
        if path.startswith(_GRAPH):
            calls.record(operation or "unknown", started, response.status)
        if fault is not None and fault.kind == "drop" and request.transport is not None:
            # Carried out, but the caller never hears back.
            request.transport.abort()
        return response

    return middleware


def build_app(
    holder: _Holder,
    faults: FaultBoard,
    issuer: TokenIssuer,
    tokens: TokenRoutes,
    graph: GraphRoutes,
) -> web.Application:
    calls = CallLog()
    app = web.Application(middlewares=[_middleware(holder, faults, issuer, calls)])
    calls.add_to(app)
    tokens.add_to(app)
    SmsRoutes(lambda: holder.tenant).add_to(app)
    Pages(lambda: holder.tenant, faults, holder.reseed).add_to(app)
    graph.add_to(app)
    return app


@asynccontextmanager
async def run_fake_tenant(
    state_dir: Path,
    *,
    port: int = 0,
    https_port: int = 0,
    now: datetime | None = None,
    clock: Callable[[], datetime] | None = None,
    page_size: int = 3,
    extra_reports: int = 0,
    synthetic_users: int = 0,
    synthetic_joiners: int = 0,
    access_log: bool = False,
) -> AsyncIterator[FakeTenant]:
    """Serve the fake tenant on 127.0.0.1:*port* (HTTP) and *https_port* (HTTPS); 0 picks free
    ports. Certificates go to *state_dir*. *now*/*clock* fix the seed date and the tenant's
    time. *synthetic_users* (with *synthetic_joiners* among them) makes a large tenant for
    benchmarks (`org.add_synthetic_tenant`). Everything stops when the block exits."""
    pki = create_pki(state_dir)
    holder = _Holder(now, clock, extra_reports, (synthetic_users, synthetic_joiners))
    faults = FaultBoard()
    issuer = TokenIssuer(org.TENANT_ID)
    msi_header = secrets.token_urlsafe(24)
    tokens = TokenRoutes(
        issuer,
        client_id=org.CLIENT_ID,
        client_secret=org.CLIENT_SECRET,
        client_certificate=pki.client_certificate,
        roles=lambda: holder.tenant.app_roles,
        msi_client_id=org.MANAGED_IDENTITY_CLIENT_ID,
        msi_header=msi_header,
    )
    graph = GraphRoutes(lambda: holder.tenant, page_size=page_size)
    app = build_app(holder, faults, issuer, tokens, graph)
    # Access logs hold URLs only (never a pass value), but tests do not need them.
    runner = web.AppRunner(app, **({} if access_log else {"access_log": None}))
    await runner.setup()
    try:
        plain = web.TCPSite(runner, "127.0.0.1", port)
        await plain.start()
        secure = web.TCPSite(runner, "127.0.0.1", https_port, ssl_context=pki.server_ssl_context())
        await secure.start()
        http_port, tls_port = (address[1] for address in runner.addresses)
        base = f"http://127.0.0.1:{http_port}"
        https_base = f"https://127.0.0.1:{tls_port}"
        yield FakeTenant(
            base_url=base,
            https_base_url=https_base,
            graph_url=f"{base}/v1.0",
            authority=f"{https_base}/{org.TENANT_ID}",
            tenant_id=org.TENANT_ID,
            client_id=org.CLIENT_ID,
            client_secret=org.CLIENT_SECRET,
            ca_cert_path=pki.ca_cert_path,
            cert_path=pki.client_pem_path,
            cert_thumbprint=pki.client_thumbprint,
            msi_endpoint=f"{base}/msi/token",
            msi_header=msi_header,
            msi_client_id=org.MANAGED_IDENTITY_CLIENT_ID,
            home_url=f"{base}/",
            outbox_url=f"{base}/outbox",
            faults=faults,
            issuer=issuer,
            graph=graph,
            _holder=holder,
        )
    finally:
        await runner.cleanup()
