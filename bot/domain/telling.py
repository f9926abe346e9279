"""What the requester hears as their request moves on: each decision, an approval card nobody
could be shown, the end of a wait, and the outcome of issuing after approval. Plain sentences;
names are the directory's."""

from __future__ import annotations

from bot.domain.approvals import describe_stage
from bot.domain.delivery_options import delivered_how
from bot.domain.model import (
    ApproverKind,
    Decision,
    DeliveryMethod,
    RequestState,
    TapRequest,
    Unseen,
)
from bot.domain.outcomes import Failed, Issued, Outcome, Refused
from bot.domain.ports import PassDelivery
from bot.domain.refusals import describe_minutes


class TellRequester:
    """Send the requester a line in their 1:1 chat; a requester who cannot be reached is not
    an error (the card in their chat is updated too)."""

    def __init__(self, delivery: PassDelivery) -> None:
        self._delivery = delivery

    async def decided(self, request: TapRequest, decision: Decision) -> None:
        name, who = request.target_name, decision.decider_name
        steps = len(request.stages)
        step = f" (step {decision.stage} of {steps})" if steps > 1 else ""
        if not decision.approved:
            text = (
                f"{who} denied your request for a pass for {name}{step}. "
                f"Their reason: {decision.reason}"
            )
        elif request.state is RequestState.PENDING_APPROVAL and request.current_stage:
            waiting = describe_stage(
                request.current_stage,
                requester_name=request.requester_name,
                deciders=[d.decider_name for d in request.decisions],
            )
            text = (
                f"{who} approved your request for a pass for {name}{step}. It now waits for "
                f"{waiting}."
            )
        elif request.state is RequestState.FAILED:
            text = (
                f"{who} approved your request for a pass for {name}, but another request for "
                f"{name} is being issued right now, so this one ended without a pass."
            )
        else:
            text = f"{who} approved your request for a pass for {name}{step}. I'm issuing it now."
        await self._delivery.notify(request.requester_id, text)

    async def issued(self, request: TapRequest, outcome: Outcome) -> None:
        name = request.target_name
        match outcome:
            case Issued(issued):
                if issued.delivery is DeliveryMethod.CHAT_TO_REQUESTER:
                    return  # the pass itself is the message
                how = delivered_how(
                    issued.delivery, destination=issued.delivered_to, target_name=name
                )
                line = f"The pass for {name} was issued and {how}."
            case Refused(_, text, _) | Failed(_, text):
                line = f"After approval, I couldn't issue the pass for {name}: {text}"
            case _:
                if request.state is RequestState.DRAFT:
                    line = (
                        f"{name} already has a pass. Open your request card to confirm "
                        "replacing it."
                    )
                else:
                    return
        await self._delivery.notify(request.requester_id, line)

    async def unseen(self, request: TapRequest, why: Unseen | None) -> None:
        """Nobody who may decide the waiting stage could be shown its approval card."""
        await self._delivery.notify(
            request.requester_id,
            f"Your request for a pass for {request.target_name}: "
            + nobody_shown(request, why, button_here=False),
        )

    async def expired(self, request: TapRequest) -> None:
        stage = (
            request.stages[request.stage - 1] if 1 <= request.stage <= len(request.stages) else None
        )
        waited = describe_minutes(stage.timeout_minutes) if stage else "too long"
        await self._delivery.notify(
            request.requester_id,
            f"Your request for a pass for {request.target_name} expired: nobody decided it "
            f"within {waited}. No pass was issued; request again if it is still needed.",
        )


def nobody_shown(request: TapRequest, why: Unseen | None, *, button_here: bool) -> str:
    """Say plainly that nobody who may decide *request*'s waiting stage has been shown it, why
    (when *why* is known), and what the requester can do: get the cause fixed, then "Post it
    again" (on the card in hand when *button_here*, else on the request in "status")."""
    stage = request.current_stage
    to_manager = stage is not None and stage.approver is ApproverKind.MANAGER
    then = (
        'then click "Post it again".'
        if button_here
        else 'then type "status" and click "Post it again" on this request.'
    )
    match why:
        case Unseen.TEAMS_ERROR:
            cause = "Teams didn't accept the approval card just now"
            fix = "Wait a few minutes,"
        case Unseen.NO_APPROVER_CHAT:
            cause = "the person's manager has no chat with tapbot yet, so I can't send it to them"
            fix = 'Ask them to open tapbot in Teams and say "help",'
        case Unseen.NO_HELPDESK_CHANNEL:
            cause = "tapbot doesn't know the helpdesk's Teams channel, so I couldn't post it there"
            fix = (
                "Ask the helpdesk to add tapbot to their team (or your IT team to set tapbot's "
                "HELPDESK_CHANNEL_ID),"
            )
        case Unseen.NO_CHANNEL_ROUTE:
            cause = "I can't reach the helpdesk's Teams channel yet"
            fix = 'Ask a helpdesk member to open tapbot in Teams and say "help",'
        case None if to_manager:
            cause = "the approval card couldn't be sent to the person's manager"
            fix = 'Ask them to open tapbot in Teams and say "help", or wait a few minutes,'
        case None:
            cause = "the approval card couldn't be posted to the helpdesk's Teams channel"
            fix = "Ask the helpdesk to add tapbot to their team, or wait a few minutes,"
    return f"Nobody who can approve this request has been shown it yet: {cause}. {fix} {then}"
