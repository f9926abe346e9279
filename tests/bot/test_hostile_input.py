"""Hostile bodies on POST /api/messages: a 400 with no traceback, before authentication and
before any work (no reply, no stored conversation, no audit event)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.bot.channel import FakeChannelTokens
from tests.bot.conftest import TENANT_ID, BotUnderTest, StartBot, activity
from tests.bot.connector import RecordingConnector

DEEP = 100_000


def _with(**fields: Any) -> Callable[[str], bytes]:
    """A Teams message saying "help" with *fields* replaced."""
    return lambda url: json.dumps(activity(url, text="help") | fields).encode()


def _without(name: str) -> Callable[[str], bytes]:
    return lambda url: json.dumps(
        {k: v for k, v in activity(url, text="help").items() if k != name}
    ).encode()


def _raw_tail(tail: bytes) -> Callable[[str], bytes]:
    """A Teams message with *tail* spliced in as raw JSON text (for what json.dumps won't write)."""
    return lambda url: json.dumps(activity(url, text="help")).encode()[:-1] + b"," + tail + b"}"


def _nested(levels: int) -> object:
    value: object = "x"
    for _ in range(levels):
        value = [value]
    return value


def _invoke(value: object) -> Callable[[str], bytes]:
    return lambda url: json.dumps(
        activity(url, type="invoke", name="adaptiveCard/action", value=value)
    ).encode()


TENANT = {"id": TENANT_ID}
HOSTILE: dict[str, Callable[[str], bytes]] = {
    "array nested 100,000 deep": lambda _url: b"[" * DEEP + b"]" * DEEP,
    "object nested 100,000 deep": lambda _url: b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "value nested 900 deep": _with(value={"data": _nested(900)}),
    "value nested just too deep": _with(value={"data": _nested(31)}),
    "integer of 5,000 digits": _raw_tail(b'"n":' + b"9" * 5000),
    "integer of 21 digits": _raw_tail(b'"n":' + b"1" * 21),
    "float beyond double": _raw_tail(b'"n":1e999999'),
    "NaN": _raw_tail(b'"n":NaN'),
    "-Infinity": _raw_tail(b'"n":-Infinity'),
    "lone surrogate": _raw_tail(b'"text2":"\\ud800"'),
    "invalid UTF-8": lambda url: json.dumps(activity(url, text="help")).encode()[:-1] + b"\xff}",
    "channelData a string": _with(channelData="tenant"),
    "channelData a list": _with(channelData=[TENANT]),
    "channelData.tenant a string": _with(channelData={"tenant": TENANT_ID}),
    "channelData.tenant.id a number": _with(channelData={"tenant": {"id": 11111111}}),
    "channelData.notification a string": _with(channelData={"tenant": TENANT, "notification": "x"}),
    "channelData.onBehalfOf a string": _with(channelData={"tenant": TENANT, "onBehalfOf": "x"}),
    "from.aadObjectId a number": _with(**{"from": {"id": "29:x", "aadObjectId": 5}}),
    "conversation a list": _with(conversation=[1]),
    "conversation without id": _with(conversation={"conversationType": "personal"}),
    "text an object": _with(text={"a": 1}),
    "serviceUrl a number": _with(serviceUrl=5),
    "serviceUrl not a URL": _with(serviceUrl="not a url"),
    "serviceUrl a file URL": _with(serviceUrl="file:///etc/passwd"),
    "no serviceUrl": _without("serviceUrl"),
    "no conversation": _without("conversation"),
    "no channelId": _without("channelId"),
    "channelId a number": _with(channelId=5),
    "timestamp not a date": _with(timestamp="yesterday"),
    "membersAdded a string": _with(membersAdded="everyone"),
    "deliveryMode expectReplies": _with(deliveryMode="expectReplies"),
    "invoke value a list": _invoke([1]),
    "invoke value a string": _invoke("x"),
}


async def _nothing_happened(bot: BotUnderTest, connector: RecordingConnector) -> None:
    assert connector.sent == []
    assert await bot.store.list_audit() == []
    assert await bot.store.get_conversation(f"user:{activity('x')['from']['aadObjectId']}") is None


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_bodies_get_400_without_a_traceback_or_any_work(
    body: Callable[[str], bytes],
    start_bot: StartBot,
    connector: RecordingConnector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot = await start_bot(MAX_REQUEST_BYTES=str(1024 * 1024))
    caplog.set_level(logging.INFO)
    with capture_logs() as logs:
        response = await bot.client.post(
            "/api/messages", data=body(connector.url), headers={"Content-Type": "application/json"}
        )
    assert response.status == 400
    assert "error" in await response.json()
    assert [entry for entry in logs if entry["log_level"] not in ("debug", "info")] == []
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []
    await _nothing_happened(bot, connector)


async def test_deep_json_is_refused_before_authentication(
    start_bot: StartBot, channel_tokens: FakeChannelTokens, connector: RecordingConnector
) -> None:
    """With channel auth on, a deep body without a token is a 400, not a 500 or a 401."""
    secured = await start_bot(
        MicrosoftAppId="44444444-4444-4444-4444-444444444444",
        MicrosoftAppPassword="test-only-password",
        BOT_OPENID_METADATA_URL=channel_tokens.metadata_url,
        MAX_REQUEST_BYTES=str(1024 * 1024),
    )
    deep = b"[" * DEEP + b"]" * DEEP
    response = await secured.client.post(
        "/api/messages", data=deep, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    await _nothing_happened(secured, connector)


async def test_the_tests_own_activity_passes_the_checks(
    start_bot: StartBot, connector: RecordingConnector
) -> None:
    """Guard: every body above differs from an accepted one only in what it names."""
    bot = await start_bot()
    response = await bot.client.post(
        "/api/messages", data=_with()(connector.url), headers={"Content-Type": "application/json"}
    )
    assert response.status == 201
    assert len(connector.sent) == 1
