"""The request card's conversation: open the form, take a submit, answer with the outcome.

Each method takes the authenticated caller and the card's untrusted data and returns the card
that replaces the one the person clicked (an Action.Execute response). The workflow decides;
this module only translates between cards and the domain.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from bot.domain.errors import DirectoryError
from bot.domain.model import DeliveryMethod, RequestState, TapRequest
from bot.domain.outcomes import (
    ConfirmReplace,
    Failed,
    Issued,
    Outcome,
    Refused,
    Unchanged,
    directory_failure_text,
)
from bot.domain.policy import Refusal
from bot.domain.request_form import InvalidForm, parse_request_form
from bot.domain.workflow import ManagerRequests
from bot.teams.identity import Caller
from cards.request import (
    RequestFormView,
    TargetChoice,
    confirm_replace_card,
    outcome_card,
    request_form_card,
    when,
)

log = structlog.get_logger(__name__)

DELIVERIES: tuple[tuple[DeliveryMethod, str], ...] = (
    (DeliveryMethod.CHAT_TO_REQUESTER, "To me, in this chat"),
)
Card = dict[str, Any]
# Short reasons for the target list; the full sentence comes if the person is chosen anyway.
NOT_ELIGIBLE: dict[Refusal, str] = {
    Refusal.DISABLED: "account disabled",
    Refusal.GUEST: "guest account",
    Refusal.PRIVILEGED_ROLE: "administrator",
    Refusal.PRIVILEGED_ROLE_ELIGIBLE: "can become an administrator",
    Refusal.BLOCKED_GROUP: "protected account",
    Refusal.NOT_IN_POLICY_SCOPE: "outside the pass policy",
    Refusal.NEEDS_HELPDESK_APPROVAL: "manager changed recently, helpdesk only",
}


class RequestCards:
    """Cards for flow 1, backed by `ManagerRequests`."""

    def __init__(self, requests: ManagerRequests, timezone: ZoneInfo) -> None:
        self._requests = requests
        self._timezone = timezone

    async def form(self, caller: Caller, *, notice: str = "") -> Card:
        """A fresh request card for *caller* (their direct reports, read now)."""
        try:
            data = await self._requests.form_data(caller.user_id)
        except DirectoryError as error:
            return outcome_card(
                "I can't open the request card",
                [directory_failure_text(error)],
                attention=True,
            )
        targets = [
            TargetChoice(
                option.user.id,
                option.user.display_name,
                option.user.job_title or "",
                NOT_ELIGIBLE.get(option.refusal, "ask the helpdesk") if option.refusal else "",
            )
            for option in data.targets
        ]
        notice = notice or (
            ""
            if data.policy_enabled
            else "Temporary Access Pass is switched off in this "
            "organisation's Entra policy, so no pass can be issued until IT switches it on."
        )
        return request_form_card(
            RequestFormView(
                form_id=str(uuid.uuid4()),
                targets=targets,
                lifetimes=data.lifetimes,
                default_lifetime=data.default_lifetime,
                one_time_forced=data.one_time_forced,
                deliveries=[(method.value, title) for method, title in DELIVERIES],
                timezone=self._timezone.key,
                notice=notice,
            )
        )

    async def submit(self, caller: Caller, data: Mapping[str, object]) -> Card:
        try:
            form = parse_request_form(
                data,
                timezone=self._timezone,
                deliveries=frozenset(method for method, _ in DELIVERIES),
            )
        except InvalidForm as invalid:
            outcome: Outcome = await self._requests.refuse_input(
                caller.user_id, invalid.field, invalid.problem
            )
        else:
            outcome = await self._requests.submit(caller.user_id, caller.name, form)
        return self.card_for(outcome)

    async def replace(self, caller: Caller, data: Mapping[str, object]) -> Card:
        return self.card_for(
            await self._requests.confirm_replace(caller.user_id, _request_id(data))
        )

    async def cancel(self, caller: Caller, data: Mapping[str, object]) -> Card:
        return self.card_for(await self._requests.cancel(caller.user_id, _request_id(data)))

    def card_for(self, outcome: Outcome) -> Card:
        """The card that shows *outcome* to the requester."""
        match outcome:
            case Issued(request):
                return self._issued(request)
            case ConfirmReplace(request, existing):
                return confirm_replace_card(
                    request_id=request.id,
                    target_name=request.target_name,
                    active_until=when(existing.ends_at, self._timezone),
                )
            case Refused(_, text, _):
                return outcome_card("No pass was requested", [text], attention=True)
            case Failed(_, text):
                return outcome_card("The pass could not be issued", [text], attention=True)
            case Unchanged(request):
                return self._where_it_stands(request)

    def _issued(self, request: TapRequest) -> Card:
        name = request.target_name
        until = when(request.pass_ends_at, self._timezone) if request.pass_ends_at else ""
        return outcome_card(
            f"Pass issued for {name}",
            [
                f"I've sent the pass to you in this chat (valid until {until}). Hand it to "
                f"{name} in person or on a call, once you are sure it's them.",
                f"Reason given: {request.justification}",
            ],
        )

    def _where_it_stands(self, request: TapRequest) -> Card:
        name = request.target_name
        if request.state is RequestState.DELIVERED:
            return self._issued(request)
        if request.state is RequestState.CANCELLED:
            return outcome_card(
                "Nothing changed", [f"You kept {name}'s existing pass; no new pass was issued."]
            )
        if request.state is RequestState.FAILED:
            return outcome_card(
                "The pass could not be issued",
                [f"This request for {name} ended without a pass. Please request again."],
                attention=True,
            )
        return outcome_card(
            "Already in progress", [f"I'm already working on this request for {name}."]
        )


def _request_id(data: Mapping[str, object]) -> str:
    value = data.get("request_id")
    return value if isinstance(value, str) and len(value) <= 64 else ""
