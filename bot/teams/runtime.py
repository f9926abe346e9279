"""The Teams side of the app, assembled: channel auth, CloudAdapter, handler, endpoint."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter

from bot.config import Settings
from bot.observability import Metrics
from bot.teams.auth import bot_framework_authentication
from bot.teams.endpoint import messages_route
from bot.teams.handler import TapbotHandler, TeamsDeps
from bot.teams.msrest_tuning import make_retry_policy_cheap

log = structlog.get_logger(__name__)


class TeamsRuntime:
    """Everything needed to answer ``POST /api/messages`` and to send proactively."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        make_retry_policy_cheap()
        self.app_id = settings.app_id
        self.adapter = CloudAdapter(bot_framework_authentication(settings))
        self.adapter.on_turn_error = self._on_turn_error
        self._metrics = metrics
        self._handle: Any = None

    def serve(self, deps: TeamsDeps) -> None:
        """Start answering activities with a handler over *deps* (call once, at start-up)."""
        self._handle = messages_route(
            self.adapter, TapbotHandler(deps), self._metrics, deps.auditor
        )

    async def messages(self, request: web.Request) -> web.StreamResponse:
        response: web.StreamResponse = await self._handle(request)
        return response

    async def _on_turn_error(self, turn_context: TurnContext, error: Exception) -> None:
        # The exception text can quote Graph or the store; it goes to the log, never the chat.
        log.error("turn failed", activity_type=turn_context.activity.type, exc_info=error)
        if turn_context.activity.type == "message":
            await turn_context.send_activity(
                "Sorry, something went wrong on my side and I couldn't finish that. "
                "Please try again in a minute; if it keeps happening, tell your IT team."
            )
