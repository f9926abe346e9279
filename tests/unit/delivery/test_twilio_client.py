"""TwilioSms against MockTransport: the request it sends, retries, and errors in words."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import httpx
import pytest

from bot.delivery.sms import SmsFailed
from bot.delivery.twilio import TwilioSms
from tests.unit.delivery.conftest import Wire

ACCOUNT = "AC" + "1" * 32
SID = "SM" + "a" * 32
PASS = "Ab3$xY+!"


def _client(wire: Wire, **options: object) -> TwilioSms:
    values: dict[str, object] = {
        "account_sid": ACCOUNT,
        "username": ACCOUNT,
        "password": "token",
        "sender": "+15005550006",
        "base_url": "https://api.twilio.test",
        "retry": wire.retry(),
    }
    values.update(options)
    return TwilioSms(wire.http, **values)  # type: ignore[arg-type]


def _created() -> httpx.Response:
    return httpx.Response(201, json={"sid": SID, "status": "queued"})


def _error(status: int, code: int, message: str = "", **headers: str) -> httpx.Response:
    body = {"code": code, "message": message, "more_info": "", "status": status}
    return httpx.Response(status, json=body, headers=headers)


def _form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


def _basic(request: httpx.Request) -> str:
    scheme, _, value = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(value).decode()


async def test_a_message_is_posted_form_encoded_with_basic_auth(wire: Wire) -> None:
    wire.answers(_created())
    sid = await _client(wire).send_sms("+447911123456", f"Your pass:\n{PASS}\n")
    assert sid == SID
    [request] = wire.requests
    assert request.method == "POST"
    assert (
        str(request.url) == f"https://api.twilio.test/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    )
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert _form(request) == {
        "To": ["+447911123456"],
        "Body": [f"Your pass:\n{PASS}\n"],
        "From": ["+15005550006"],
    }
    assert _basic(request) == f"{ACCOUNT}:token"


async def test_an_api_key_authenticates_and_the_account_stays_in_the_path(wire: Wire) -> None:
    wire.answers(_created())
    client = _client(wire, username="SK" + "2" * 32, password="key-secret")
    await client.send_sms("+447911123456", "x")
    assert _basic(wire.requests[0]) == "SK" + "2" * 32 + ":key-secret"
    assert f"/Accounts/{ACCOUNT}/" in str(wire.requests[0].url)


async def test_a_messaging_service_can_pick_the_sender(wire: Wire) -> None:
    wire.answers(_created())
    service = "MG" + "3" * 32
    await _client(wire, sender="", messaging_service_sid=service).send_sms("+447911123456", "x")
    form = _form(wire.requests[0])
    assert form["MessagingServiceSid"] == [service]
    assert "From" not in form


async def test_throttling_is_retried_after_the_wait_twilio_asks_for(wire: Wire) -> None:
    wire.answers(_error(429, 20429, **{"Retry-After": "2"}), _created())
    assert await _client(wire).send_sms("+447911123456", "x") == SID
    assert len(wire.requests) == 2
    assert wire.sleeps == [2.0]


async def test_server_errors_and_lost_connections_are_retried_with_backoff(wire: Wire) -> None:
    wire.answers(
        httpx.Response(503),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("lost"),
        _created(),
    )
    assert await _client(wire).send_sms("+447911123456", "x") == SID
    assert len(wire.requests) == 4
    # Exponential with half jitter (random fixed at 0.5): 0.375, 0.75, 1.5.
    assert wire.sleeps == [0.375, 0.75, 1.5]


async def test_a_lasting_outage_fails_after_the_retries_in_plain_words(wire: Wire) -> None:
    wire.answers(*[httpx.Response(500) for _ in range(4)])
    with pytest.raises(SmsFailed) as caught:
        await _client(wire).send_sms("+447911123456", PASS)
    assert len(wire.requests) == 4
    assert caught.value.reason == (
        "Twilio could not send the text message: the service is having problems (HTTP 500)"
    )


async def test_a_wait_longer_than_allowed_is_not_slept(wire: Wire) -> None:
    wire.answers(_error(429, 20429, **{"Retry-After": "600"}))
    with pytest.raises(SmsFailed, match="busy"):
        await _client(wire).send_sms("+447911123456", "x")
    assert wire.sleeps == []


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (21211, "the mobile number is not valid"),
        (21610, "blocked messages from this sender (they replied STOP)"),
        (21408, "not enabled for the Twilio account"),
        (21659, "TWILIO_FROM"),
        (99999, "Twilio refused it (error 99999)"),
    ],
)
async def test_permanent_errors_fail_at_once_naming_the_channel_and_why(
    wire: Wire, code: int, words: str
) -> None:
    wire.answers(_error(400, code, f"The 'To' number +447911123456 is not valid: {PASS}"))
    with pytest.raises(SmsFailed) as caught:
        await _client(wire).send_sms("+447911123456", PASS)
    assert len(wire.requests) == 1
    assert caught.value.reason.startswith("Twilio could not send the text message: ")
    assert words in caught.value.reason
    assert (caught.value.provider, caught.value.code, caught.value.status) == (
        "twilio",
        str(code),
        400,
    )
    # Twilio's message can quote the number or the body: none of it reaches our error.
    assert PASS not in str(caught.value)
    assert "7911" not in str(caught.value)


async def test_wrong_credentials_are_named(wire: Wire) -> None:
    wire.answers(_error(401, 20003, "Authenticate"))
    with pytest.raises(SmsFailed, match="refused tapbot's credentials"):
        await _client(wire).send_sms("+447911123456", "x")


async def test_an_overlong_message_is_refused_before_sending(wire: Wire) -> None:
    with pytest.raises(SmsFailed, match="longer than 1600"):
        await _client(wire).send_sms("+447911123456", "x" * 1601)
    assert wire.requests == []


async def test_a_created_message_without_a_sid_still_counts_as_sent(wire: Wire) -> None:
    wire.answers(httpx.Response(201, text="not json"))
    assert await _client(wire).send_sms("+447911123456", "x") == ""
