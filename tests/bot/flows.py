"""Steps of the request flow over HTTP that several bot-tier tests take."""

from __future__ import annotations

from typing import Any

from tests.bot.conftest import HELPDESK, TENANT_ID, BotUnderTest
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
