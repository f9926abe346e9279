"""The operator's endpoints, ``GET /healthz`` and ``GET /metrics``, on a listener of their own.

They say whether the store and Graph answer and how busy the bot is: nothing a stranger should
read. So they are not served on the Teams port (HOST:PORT, which faces the internet in
production) but on OPS_HOST:OPS_PORT, loopback by default; beyond loopback OPS_TOKEN is
required (`bot.config`) and every request must carry it as a bearer token.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.domain.errors import StoreError
from bot.domain.ports import Store
from bot.observability import Metrics

log = structlog.get_logger(__name__)


def ops_app(
    *,
    store: Store,
    graph_token_probe: Callable[[], Awaitable[None]],
    metrics: Metrics,
    token: str = "",
) -> web.Application:
    """Return the application serving /healthz and /metrics; with *token*, only to requests
    that carry ``Authorization: Bearer <token>``."""

    @web.middleware
    async def bearer(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if token and not _carries(request, token):
            return web.json_response(
                {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return await handler(request)

    async def healthz(_request: web.Request) -> web.Response:
        """Report whether the store answers and a Graph token can be had; 503 if either fails."""
        checks: dict[str, str] = {}
        try:
            await store.ping()
            checks["store"] = "ok"
        except StoreError:
            checks["store"] = "unreachable"
        try:
            await graph_token_probe()
            checks["graph"] = "ok"
        except Exception as exc:  # any failure to get a token makes the bot useless: report it
            log.warning("graph token probe failed", error_type=type(exc).__name__)
            checks["graph"] = "unavailable"
        healthy = all(v == "ok" for v in checks.values())
        return web.json_response(
            {"status": "ok" if healthy else "failing", "checks": checks},
            status=200 if healthy else 503,
        )

    async def metrics_text(_request: web.Request) -> web.Response:
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application(middlewares=[bearer], client_max_size=1024)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_text)
    return app


async def start_ops_listener(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve *app* on *host*:*port* (0: any free port) until the returned runner is cleaned up.

    Raise OSError when the address cannot be bound.
    """
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


def listener_url(runner: web.AppRunner) -> str:
    """The ``http://host:port`` *runner* listens on (its first address)."""
    host, port = runner.addresses[0][:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _carries(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())
