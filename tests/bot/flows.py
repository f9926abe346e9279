"""Steps of the request flow over HTTP that several bot-tier tests take."""

from __future__ import annotations

from typing import Any

from tests.bot.conftest import HELPDESK, TENANT_ID, BotUnderTest, activity
from tests.bot.connector import RecordingConnector


async def helpdesk_submission(
    bot: BotUnderTest, connector: RecordingConnector, query: str = "Lee"
) -> tuple[str, dict[str, Any]]:
    """Hana (helpdesk) searches for *query*, picks the one person found and fills the pass
    step; return that person's id and the data "Ask for approval" would send."""
    found = await bot.invoke(connector.url, "request.search", {"query": query}, user=HELPDESK)
    [target] = [
        c["value"] for b in found["value"]["body"] if b.get("id") == "target" for c in b["choices"]
    ]
    details = await bot.invoke(connector.url, "request.details", {"target": target}, user=HELPDESK)
    data = details["value"]["actions"][0]["data"] | {
        "lifetime": "60",
        "one_time": "true",
        "start": "now",
        "delivery": "chat_requester",
        "justification": "Locked out after a phone swap",
    }
    return target, data


def team_channel(channel: str, team_group: str, *, tenant: str = TENANT_ID) -> dict[str, Any]:
    """An activity's place (conversation and channel data) in *channel* of the team whose
    Microsoft 365 group is *team_group*, in *tenant*."""
    return {
        "conversation": {
            "id": channel,
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": tenant,
        },
        "channelData": {
            "tenant": {"id": tenant},
            "team": {"id": channel, "aadGroupId": team_group},
            "channel": {"id": channel},
        },
    }


async def outside_the_personal_chat(
    bot: BotUnderTest, connector: RecordingConnector, command: str, verb: str
) -> tuple[str, dict[str, Any]]:
    """Type *command* in a channel and click a card's *verb* in a group chat: the text the
    bot said to the first, and its answer to the second."""
    in_channel = activity(connector.url, text=command)
    in_channel["conversation"]["conversationType"] = "channel"
    await bot.post(in_channel)
    said: str = connector.sent[-1]["text"]
    click = activity(
        connector.url,
        type="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": verb, "data": {}}},
    )
    click["conversation"]["conversationType"] = "groupChat"
    answer: dict[str, Any] = await (await bot.post(click)).json()
    return said, answer
