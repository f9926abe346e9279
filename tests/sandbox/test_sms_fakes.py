"""The fake Twilio and ACS check what the real services check, and answer in their shapes."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from bot.delivery.acs import rfc1123, signed_headers
from sandbox import org
from sandbox.server import FakeTenant
from sandbox.sms_routes import sms_segments

TWILIO = f"/twilio/2010-04-01/Accounts/{org.TWILIO_ACCOUNT_SID}/Messages.json"
TOKEN = (org.TWILIO_ACCOUNT_SID, org.TWILIO_AUTH_TOKEN)
KEY = base64.b64decode(org.ACS_ACCESS_KEY)
TO = "+61491570006"


async def _twilio(
    fake: FakeTenant, form: dict[str, str], auth: tuple[str, str] | None = TOKEN, path: str = TWILIO
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=fake.base_url) as client:
        return await client.post(path, data=form, auth=auth)


def _form(**changes: str) -> dict[str, str]:
    return {"To": TO, "From": org.TWILIO_FROM, "Body": "hello"} | changes


async def test_twilio_accepts_a_message_with_its_fields(fake: FakeTenant) -> None:
    response = await _twilio(fake, _form())
    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", body["sid"])
    assert (body["status"], body["to"], body["from"], body["num_segments"]) == (
        "queued",
        TO,
        org.TWILIO_FROM,
        "1",
    )
    assert parsedate_to_datetime(body["date_created"]).tzinfo is not None
    assert body["error_code"] is None
    [sent] = fake.tenant.outbox
    assert (sent.channel, sent.to, sent.body, sent.reference) == (
        "twilio",
        [TO],
        "hello",
        body["sid"],
    )


async def test_twilio_accepts_an_api_key_and_a_messaging_service(fake: FakeTenant) -> None:
    form = _form(MessagingServiceSid=org.TWILIO_MESSAGING_SERVICE_SID)
    del form["From"]
    response = await _twilio(fake, form, auth=(org.TWILIO_API_KEY_SID, org.TWILIO_API_KEY_SECRET))
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["num_segments"]) == ("accepted", "0")


@pytest.mark.parametrize(
    ("auth", "path"),
    [
        (None, TWILIO),
        ((org.TWILIO_ACCOUNT_SID, "wrong"), TWILIO),
        ((org.TWILIO_API_KEY_SID, "wrong"), TWILIO),
        ((org.TWILIO_ACCOUNT_SID, org.TWILIO_AUTH_TOKEN), TWILIO.replace("AC5a", "AC6a")),
    ],
)
async def test_twilio_refuses_wrong_credentials_with_20003(
    fake: FakeTenant, auth: tuple[str, str] | None, path: str
) -> None:
    response = await _twilio(fake, _form(), auth=auth, path=path)
    assert response.status_code == 401
    assert response.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert fake.tenant.outbox == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"To": ""}, 21604),
        ({"To": "07911 123456"}, 21211),
        ({"To": "+447700900111"}, 21211),
        ({"To": org.TWILIO_FROM}, 21211),
        ({"From": ""}, 21603),
        ({"From": "+15005550007"}, 21659),
        ({"Body": ""}, 21602),
        ({"Body": "x" * 1601}, 21617),
    ],
)
async def test_twilio_refuses_bad_messages_with_its_codes(
    fake: FakeTenant, changes: dict[str, str], code: int
) -> None:
    response = await _twilio(fake, _form(**changes))
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["more_info"].endswith(f"/{code}")
    assert fake.tenant.outbox == []


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters count twice
        ("€" * 81, 2),
        ("é" * 160, 1),  # in the GSM alphabet
        ("ł" * 70, 1),  # not: UCS-2
        ("ł" * 71, 2),
        ("😀" * 35, 1),  # two UTF-16 units each
    ],
)
def test_segments_follow_the_gsm7_and_ucs2_rules(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


# ACS


def _acs_body(to: str = TO, **extra: Any) -> bytes:
    body = {"from": org.ACS_FROM, "smsRecipients": [{"to": to}], "message": "hello", **extra}
    return json.dumps(body).encode()


async def _acs(
    fake: FakeTenant,
    body: bytes,
    *,
    sign: bytes | None = None,
    key: bytes = KEY,
    skew: timedelta = timedelta(0),
    version: str = "2021-03-07",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    url = httpx.URL(f"{fake.base_url}/acs/sms?api-version={version}")
    signed = signed_headers("POST", url, sign or body, key, fake.tenant.clock() + skew)
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=body, headers=headers or signed)


async def test_acs_accepts_a_signed_request(fake: FakeTenant) -> None:
    response = await _acs(fake, _acs_body())
    assert response.status_code == 202
    [result] = response.json()["value"]
    assert (result["to"], result["httpStatusCode"], result["successful"]) == (TO, 202, True)
    assert result["messageId"].startswith("Outgoing_")
    assert [(i.channel, i.to, i.reference) for i in fake.tenant.outbox] == [
        ("acs", [TO], result["messageId"])
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sign": b"another body"}, "differs from generated content hash"),
        ({"key": b"wrong key"}, "Denied by the resource provider."),
        ({"skew": timedelta(minutes=16)}, "outside the allowed time window"),
        ({"skew": -timedelta(minutes=16)}, "outside the allowed time window"),
        ({"headers": {"Authorization": "HMAC-SHA256 Signature=x"}}, "HMAC header structure"),
    ],
)
async def test_acs_refuses_a_bad_signature_with_its_error_body(
    fake: FakeTenant, options: dict[str, Any], message: str
) -> None:
    response = await _acs(fake, _acs_body(), **options)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "Denied"
    assert message in error["message"]
    assert fake.tenant.outbox == []


async def test_acs_signs_the_host_too(fake: FakeTenant) -> None:
    body = _acs_body()
    url = httpx.URL(f"{fake.base_url}/acs/sms?api-version=2021-03-07")
    other_host = url.copy_with(host="localhost")
    headers = signed_headers("POST", other_host, body, KEY, fake.tenant.clock())
    async with httpx.AsyncClient() as client:
        response = await client.post(url, content=body, headers=headers)
    assert response.status_code == 401


async def test_acs_accepts_a_small_clock_difference(fake: FakeTenant) -> None:
    response = await _acs(fake, _acs_body(), skew=timedelta(minutes=14))
    assert response.status_code == 202


async def test_acs_refuses_an_unknown_version_and_a_foreign_sender(fake: FakeTenant) -> None:
    assert (await _acs(fake, _acs_body(), version="2020-01-01")).status_code == 400
    foreign = json.dumps(
        {"from": "+18005550199", "smsRecipients": [{"to": TO}], "message": "x"}
    ).encode()
    response = await _acs(fake, foreign)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"


async def test_acs_fails_an_invalid_recipient_inside_the_202(fake: FakeTenant) -> None:
    response = await _acs(fake, _acs_body(to="07911123456"))
    assert response.status_code == 202
    assert response.json()["value"] == [
        {
            "to": "07911123456",
            "httpStatusCode": 400,
            "successful": False,
            "errorMessage": "Invalid To phone number format.",
        }
    ]
    assert fake.tenant.outbox == []


async def test_acs_answers_a_replay_with_the_first_result_and_sends_nothing(
    fake: FakeTenant,
) -> None:
    recipient = {
        "to": TO,
        "repeatabilityRequestId": "4f1b0c3e-1111-4222-8333-444455556666",
        "repeatabilityFirstSent": rfc1123(fake.tenant.clock()),
    }
    body = json.dumps(
        {"from": org.ACS_FROM, "smsRecipients": [recipient], "message": "hello"}
    ).encode()
    first = (await _acs(fake, body)).json()["value"][0]
    again = (await _acs(fake, body)).json()["value"][0]
    assert first["messageId"] == again["messageId"]
    assert again["repeatabilityResult"] == "accepted"
    assert len(fake.tenant.outbox) == 1


async def test_acs_rejects_a_first_sent_date_that_is_not_rfc1123(fake: FakeTenant) -> None:
    recipient = {"to": TO, "repeatabilityRequestId": "x", "repeatabilityFirstSent": "yesterday"}
    body = json.dumps(
        {"from": org.ACS_FROM, "smsRecipients": [recipient], "message": "hello"}
    ).encode()
    [result] = (await _acs(fake, body)).json()["value"]
    assert (result["httpStatusCode"], result["repeatabilityResult"]) == (400, "rejected")


# Faults on the SMS routes answer in the provider's shape


async def test_faults_answer_with_the_providers_error_bodies(fake: FakeTenant) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as control:
        await control.post(
            "/_sandbox/faults",
            json=[
                {"route": "twilio_sms", "kind": "throttle", "count": 1, "retry_after": "2"},
                {"route": "twilio_sms", "kind": "error", "status": 400, "code": 21610, "count": 1},
                {"route": "acs_sms", "kind": "throttle", "count": 1},
            ],
        )
    throttled = await _twilio(fake, _form())
    assert (throttled.status_code, throttled.json()["code"]) == (429, 20429)
    assert throttled.headers["Retry-After"] == "2"
    stopped = await _twilio(fake, _form())
    assert (stopped.status_code, stopped.json()["code"]) == (400, 21610)
    acs = await _acs(fake, _acs_body())
    assert (acs.status_code, acs.json()["error"]["code"]) == (429, "TooManyRequests")
    assert fake.tenant.outbox == []


async def test_the_outbox_shows_a_text_message_with_the_pass_hidden(
    fake: FakeTenant, graph: httpx.AsyncClient
) -> None:
    created = await graph.post(
        f"users/{org.LIAM_ID}/authentication/temporaryAccessPassMethods", json={}
    )
    value = created.json()["temporaryAccessPass"]
    response = await _twilio(fake, _form(Body=f"Your pass:\n\n{value}\n\nValid until 10:00."))
    sid = response.json()["sid"]
    async with httpx.AsyncClient(base_url=fake.base_url) as client:
        page = (await client.get("/outbox")).text
        listed = (await client.get("/_sandbox/outbox.json")).json()["value"]
    assert value not in page
    assert "[pass hidden]" in page
    assert sid in page
    assert listed[0]["carriesPass"] is True
    assert listed[0]["reference"] == sid
