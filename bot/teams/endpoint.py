"""``POST /api/messages``: the one door from Teams into the bot.

We parse the body ourselves instead of calling ``CloudAdapter.process``: botbuilder answers a
missing Content-Type or a malformed body with a 500, and double-serialises invoke responses
(teams-playground.md §4.1). Here bad input gets 400, oversized bodies 413, bad tokens 401.
"""

from __future__ import annotations

import json
import time
from typing import Any

import structlog
from aiohttp import web
from botbuilder.core import Bot
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from msrest.serialization import Model

from bot.observability import Metrics

log = structlog.get_logger(__name__)

_KNOWN_TYPES = frozenset(
    {"message", "invoke", "conversationUpdate", "installationUpdate", "messageReaction", "typing"}
)


def messages_route(adapter: CloudAdapter, bot: Bot, metrics: Metrics) -> Any:
    """Return the aiohttp handler that feeds activities from a request to *bot*."""

    async def handle(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        kind, response = await _answer(request)
        metrics.activities.labels(kind, str(response.status)).inc()
        metrics.turn_seconds.observe(time.perf_counter() - started)
        return response

    async def _answer(request: web.Request) -> tuple[str, web.StreamResponse]:
        """Return the activity type (for metrics; "invalid" if unreadable) and the response."""
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return "invalid", web.json_response({"error": "request body too large"}, status=413)
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return "invalid", web.json_response(
                {"error": "body must be a JSON activity"}, status=400
            )
        kind = body["type"] if body["type"] in _KNOWN_TYPES else "other"
        return kind, await _process(request, body)

    async def _process(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        try:
            activity = Activity().deserialize(body)
        except Exception:  # msrest raises several unrelated types for malformed fields
            return web.json_response({"error": "malformed activity"}, status=400)

        auth_header = request.headers.get("Authorization", "")
        try:
            invoke_response = await adapter.process_activity(auth_header, activity, bot.on_turn)
        except PermissionError:
            return web.json_response({"error": "unauthorized"}, status=401)
        except Exception as exc:  # a token botbuilder cannot even parse must still be a 401
            if _is_auth_failure(exc):
                log.info("channel token rejected", error_type=type(exc).__name__)
                return web.json_response({"error": "unauthorized"}, status=401)
            raise
        if invoke_response is None:
            return web.Response(status=201)
        return web.json_response(_plain(invoke_response.body), status=invoke_response.status)

    return handle


def _plain(body: Any) -> Any:
    """Turn an invoke response body into JSON-ready data, whether it is a Model or a dict."""
    if isinstance(body, Model):
        return body.serialize()  # type: ignore[no-untyped-call]  # msrest is untyped
    return body


def _is_auth_failure(exc: Exception) -> bool:
    """True if *exc* escaped botbuilder's validation of the incoming token.

    botbuilder 4.17 lets PyJWT's errors, its own key-lookup failures and, for a missing
    header, an AttributeError escape unwrapped; a token it cannot judge is not a valid one.
    """
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name == "authenticate_request" and "/botframework/connector/auth/" in (
            code.co_filename
        ):
            return True
        tb = tb.tb_next
    return False
