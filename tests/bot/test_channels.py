"""Only Microsoft Teams: an activity from any other Bot Framework channel (Web Chat, Direct Line,
where the client writes ``from`` and ``channelData`` itself) is refused with 403 once it is
authenticated, audited without echoing it, and never reaches the handler."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from tests.bot.channel import FakeChannelTokens
from tests.bot.conftest import MANAGER, BotUnderTest, StartBot, activity
from tests.bot.connector import RecordingConnector

APP_ID = "44444444-4444-4444-4444-444444444444"
CHANNEL = "webchat-9f3c7a"  # a name that would show up if logged or audited


async def _untouched(bot: BotUnderTest, connector: RecordingConnector) -> None:
    assert connector.sent == []
    assert await bot.store.get_conversation(f"user:{MANAGER.id}") is None


@pytest.mark.parametrize("kind", ["message", "invoke"])
async def test_another_channel_is_refused_audited_and_never_handled(
    kind: str, start_bot: StartBot, connector: RecordingConnector
) -> None:
    bot = await start_bot()
    extra = {"name": "adaptiveCard/action", "value": {}} if kind == "invoke" else {}
    body = activity(connector.url, type=kind, text="help", channelId=CHANNEL, **extra)
    with capture_logs() as logs:
        response = await bot.post(body)
    assert response.status == 403
    await _untouched(bot, connector)
    (event,) = await bot.store.list_audit()
    assert (event.action, event.outcome, event.reason) == ("conversation", "refused", "not_msteams")
    assert event.actor_id == "unknown"  # the claimed sender is not Teams-vouched
    assert CHANNEL not in repr(event)
    assert CHANNEL not in repr(logs)
    assert any(entry["log_level"] == "warning" for entry in logs)


async def test_teams_itself_is_served(start_bot: StartBot, connector: RecordingConnector) -> None:
    bot = await start_bot()
    response = await bot.post(activity(connector.url, text="help"))
    assert response.status == 201
    assert len(connector.sent) == 1


@pytest.fixture
def tokens_for_two_channels() -> Iterator[FakeChannelTokens]:
    tokens = FakeChannelTokens(endorsements=("msteams", CHANNEL))
    tokens.start()
    yield tokens
    tokens.stop()


async def test_with_channel_auth_a_token_comes_first_then_the_channel(
    start_bot: StartBot,
    tokens_for_two_channels: FakeChannelTokens,
    connector: RecordingConnector,
) -> None:
    """Without a valid token the answer is 401 and nothing is audited; with one, 403."""
    secured = await start_bot(
        MicrosoftAppId=APP_ID,
        MicrosoftAppPassword="test-only-password",
        BOT_OPENID_METADATA_URL=tokens_for_two_channels.metadata_url,
    )
    body = activity(connector.url, text="help", channelId=CHANNEL)
    assert (await secured.post(body)).status == 401
    assert await secured.store.list_audit() == []
    token = tokens_for_two_channels.token(audience=APP_ID, service_url=connector.url)
    assert (await secured.post(body, token=token)).status == 403
    assert [e.reason for e in await secured.store.list_audit()] == ["not_msteams"]
    await _untouched(secured, connector)
