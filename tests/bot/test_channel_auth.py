"""Bot Framework channel authentication on /api/messages, against a locally served signing key.

A typing activity is used for the accepted case: it needs no reply, so no outbound token
(which would need Entra itself) is requested.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.bot.channel import FakeChannelTokens, new_key
from tests.bot.conftest import BotUnderTest, StartBot, activity
from tests.bot.connector import RecordingConnector

APP_ID = "44444444-4444-4444-4444-444444444444"


@pytest.fixture
async def secured(start_bot: StartBot, channel_tokens: FakeChannelTokens) -> BotUnderTest:
    return await start_bot(
        MicrosoftAppId=APP_ID,
        MicrosoftAppPassword="test-only-password",
        MicrosoftAppType="SingleTenant",
        MicrosoftAppTenantId="11111111-1111-1111-1111-111111111111",
        BOT_OPENID_METADATA_URL=channel_tokens.metadata_url,
    )


def _unsigned(token: str) -> str:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    _, payload, _ = token.split(".")
    return f"{header.decode().rstrip('=')}.{payload}."


async def test_a_validly_signed_channel_token_is_accepted(
    secured: BotUnderTest, channel_tokens: FakeChannelTokens, connector: RecordingConnector
) -> None:
    token = channel_tokens.token(audience=APP_ID, service_url=connector.url)
    response = await secured.post(activity(connector.url, type="typing"), token=token)
    assert response.status in (200, 201)


@pytest.mark.parametrize(
    "forgery",
    ["no_header", "other_key", "expired", "wrong_audience", "unsigned", "garbage", "unknown_kid"],
)
async def test_bad_channel_tokens_get_401_and_reach_no_handler(
    forgery: str,
    secured: BotUnderTest,
    channel_tokens: FakeChannelTokens,
    connector: RecordingConnector,
) -> None:
    good = {"audience": APP_ID, "service_url": connector.url}
    token: str | None = {
        "no_header": lambda: None,
        "other_key": lambda: channel_tokens.token(**good, key=new_key()),
        "expired": lambda: channel_tokens.token(**good, issued_ago=7200, lifetime=600),
        "wrong_audience": lambda: channel_tokens.token(
            audience="55555555-5555-5555-5555-555555555555", service_url=connector.url
        ),
        "unsigned": lambda: _unsigned(channel_tokens.token(**good)),
        "garbage": lambda: "not-a-jwt",
        "unknown_kid": lambda: channel_tokens.token(**good, kid="nobody"),
    }[forgery]()
    response = await secured.post(activity(connector.url, text="help"), token=token)
    assert response.status == 401
    assert connector.sent == []
    assert (
        await secured.store.get_conversation(
            f"user:{activity(connector.url)['from']['aadObjectId']}"
        )
        is None
    )
