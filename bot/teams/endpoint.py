"""``POST /api/messages``: the one door from Teams into the bot.

We parse the body ourselves instead of calling ``CloudAdapter.process``: botbuilder answers a
missing Content-Type or a malformed body with a 500, and double-serialises invoke responses
(teams-playground.md §4.1). Here a body that is not a safe, Teams-shaped activity gets 400
(`bot.teams.inbound`), oversized bodies 413, bad tokens 401, and an authenticated activity from
any channel but Teams 403, without reaching the handler.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from aiohttp import web
from botbuilder.core import Bot, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from botbuilder.schema.teams import TeamsChannelData
from msrest.serialization import Model

from bot.domain.audit import Auditor
from bot.domain.errors import StoreError
from bot.observability import Metrics
from bot.teams.inbound import TEAMS_CHANNEL, Rejected, parse_activity

log = structlog.get_logger(__name__)

_KNOWN_TYPES = frozenset(
    {"message", "invoke", "conversationUpdate", "installationUpdate", "messageReaction", "typing"}
)


def messages_route(adapter: CloudAdapter, bot: Bot, metrics: Metrics, auditor: Auditor) -> Any:
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
            body = parse_activity(raw)
        except Rejected as rejected:
            log.info("activity rejected", reason=rejected.reason)
            return "invalid", web.json_response(
                {"error": "body must be a JSON activity", "reason": rejected.reason}, status=400
            )
        kind = body["type"] if body["type"] in _KNOWN_TYPES else "other"
        return kind, await _process(request, body)

    async def _process(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        try:
            activity = Activity().deserialize(body)
            # botbuilder and the handler read channelData as TeamsChannelData in the turn;
            # reading it here turns a field msrest cannot read into a 400 instead of a failure.
            TeamsChannelData().deserialize(body.get("channelData") or {})
        except Exception:  # msrest raises several unrelated types for malformed fields
            log.info("activity rejected", reason="a field msrest cannot read")
            return web.json_response(
                {"error": "body must be a JSON activity", "reason": "malformed field"},
                status=400,
            )

        other_channel = False

        async def teams_only(turn_context: TurnContext) -> None:
            # Runs once the activity is authenticated; only Teams vouches for the identities
            # tapbot reads (aadObjectId, channelData.tenant), so nothing else reaches the bot.
            nonlocal other_channel
            if turn_context.activity.channel_id != TEAMS_CHANNEL:
                other_channel = True
                return
            await bot.on_turn(turn_context)

        auth_header = request.headers.get("Authorization", "")
        try:
            invoke_response = await adapter.process_activity(auth_header, activity, teams_only)
        except PermissionError:
            return web.json_response({"error": "unauthorized"}, status=401)
        except Exception as exc:  # a token botbuilder cannot even parse must still be a 401
            if _is_auth_failure(exc):
                log.info("channel token rejected", error_type=type(exc).__name__)
                return web.json_response({"error": "unauthorized"}, status=401)
            raise
        if other_channel:
            return await _refuse_channel()
        if invoke_response is None:
            return web.Response(status=201)
        return web.json_response(_plain(invoke_response.body), status=invoke_response.status)

    async def _refuse_channel() -> web.Response:
        """403: authenticated, understood, and not served. The channel's name and the claimed
        sender are input from outside Teams, so neither is logged or audited."""
        log.warning("activity from a channel other than Teams refused")
        try:
            await auditor.record(
                "conversation", "refused", actor_id="unknown", reason="not_msteams"
            )
        except StoreError:
            log.warning("refusal not audited: the store is unavailable")
        return web.json_response({"error": "tapbot only serves Microsoft Teams"}, status=403)

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
