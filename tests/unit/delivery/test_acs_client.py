"""AcsSms against MockTransport: HMAC signing, repeatability, retries, errors in words."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from itertools import count

import httpx
import pytest

from bot.delivery.acs import AcsSms, content_hash, signature
from bot.delivery.sms import SmsFailed
from tests.twins.clock import ManualClock
from tests.unit.delivery.conftest import Wire

KEY_B64 = "MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="
KEY = base64.b64decode(KEY_B64)
ENDPOINT = "https://contoso.communication.azure.com"
SENT_AT = datetime(2025, 4, 1, 6, 22, 3, tzinfo=UTC)


def test_the_signature_matches_the_worked_example() -> None:
    """The test vector in facts/sms-providers.md §2 (computed with the standard library)."""
    body = b'{"from":"+18005550100","smsRecipients":[{"to":"+14255550123"}],"message":"hi"}'
    body_hash = content_hash(body)
    assert body_hash == "raw9kva7OrsjYQVcjAFfGpgx6kkJr4NjdRyx6wvag1U="
    assert (
        signature(
            "POST",
            "/sms?api-version=2021-03-07",
            "contoso.communication.azure.com",
            "Tue, 01 Apr 2025 06:22:03 GMT",
            body_hash,
            KEY,
        )
        == "bsXRwQejtR8FoRUv0G/9/QqapWq50Bndg41BZDqJBwg="
    )
    assert content_hash(b"") == base64.b64encode(hashlib.sha256(b"").digest()).decode()


def _client(wire: Wire, **options: object) -> AcsSms:
    ids = count(1)
    values: dict[str, object] = {
        "endpoint": ENDPOINT + "/",
        "access_key": KEY,
        "sender": "+18005550100",
        "clock": ManualClock(SENT_AT),
        "retry": wire.retry(),
        "new_id": lambda: f"00000000-0000-4000-8000-{next(ids):012d}",
    }
    values.update(options)
    return AcsSms(wire.http, **values)  # type: ignore[arg-type]


def _accepted(to: str = "+447911123456", message_id: str = "Outgoing_1_noam") -> httpx.Response:
    result = {"to": to, "messageId": message_id, "httpStatusCode": 202, "successful": True}
    return httpx.Response(202, json={"value": [result]})


def _recipient_failed(status: int) -> httpx.Response:
    result = {"to": "+447911123456", "httpStatusCode": status, "successful": False}
    return httpx.Response(202, json={"value": [result]})


def _verify(request: httpx.Request) -> None:
    """Recompute the signature from what was received, as ACS does."""
    body_hash = base64.b64encode(hashlib.sha256(request.content).digest()).decode()
    assert request.headers["x-ms-content-sha256"] == body_hash
    date = request.headers["x-ms-date"]
    to_sign = f"POST\n{request.url.raw_path.decode()}\n{date};{request.headers['Host']};{body_hash}"
    expected = base64.b64encode(hmac.new(KEY, to_sign.encode(), hashlib.sha256).digest()).decode()
    assert request.headers["Authorization"] == (
        f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={expected}"
    )


async def test_a_message_is_signed_over_the_exact_request(wire: Wire) -> None:
    wire.answers(_accepted())
    assert await _client(wire).send_sms("+447911123456", "Your pass:\nAb3$xY+!") == (
        "Outgoing_1_noam"
    )
    [request] = wire.requests
    assert str(request.url) == f"{ENDPOINT}/sms?api-version=2021-03-07"
    assert request.headers["Host"] == "contoso.communication.azure.com"
    assert request.headers["x-ms-date"] == "Tue, 01 Apr 2025 06:22:03 GMT"
    _verify(request)
    assert json.loads(request.content) == {
        "from": "+18005550100",
        "smsRecipients": [
            {
                "to": "+447911123456",
                "repeatabilityRequestId": "00000000-0000-4000-8000-000000000001",
                "repeatabilityFirstSent": "Tue, 01 Apr 2025 06:22:03 GMT",
            }
        ],
        "message": "Your pass:\nAb3$xY+!",
        "smsSendOptions": {"enableDeliveryReport": False},
    }


async def test_a_port_in_the_endpoint_is_signed_as_part_of_the_host(wire: Wire) -> None:
    wire.answers(_accepted())
    await _client(wire, endpoint="http://127.0.0.1:8123/acs").send_sms("+447911123456", "x")
    request = wire.requests[0]
    assert request.headers["Host"] == "127.0.0.1:8123"
    assert request.url.raw_path == b"/acs/sms?api-version=2021-03-07"
    _verify(request)


def _repeat_id(request: httpx.Request) -> str:
    return str(json.loads(request.content)["smsRecipients"][0]["repeatabilityRequestId"])


async def test_a_request_that_may_have_arrived_is_repeated_with_the_same_id(wire: Wire) -> None:
    wire.answers(httpx.Response(500), httpx.ReadTimeout("lost"), _accepted())
    await _client(wire).send_sms("+447911123456", "x")
    assert len({_repeat_id(r) for r in wire.requests}) == 1
    for request in wire.requests:
        _verify(request)


async def test_a_recipient_that_failed_is_retried_as_a_new_request(wire: Wire) -> None:
    wire.answers(_recipient_failed(503), _accepted())
    await _client(wire).send_sms("+447911123456", "x")
    first, second = (_repeat_id(r) for r in wire.requests)
    assert first != second


async def test_throttling_waits_as_asked(wire: Wire) -> None:
    body = {"error": {"code": "TooManyRequests", "message": "slow down"}}
    wire.answers(httpx.Response(429, json=body, headers={"Retry-After": "3"}), _accepted())
    await _client(wire).send_sms("+447911123456", "x")
    assert wire.sleeps == [3.0]


async def test_an_invalid_number_fails_at_once(wire: Wire) -> None:
    wire.answers(_recipient_failed(400))
    with pytest.raises(SmsFailed) as caught:
        await _client(wire).send_sms("+447911123456", "x")
    assert len(wire.requests) == 1
    assert caught.value.reason == (
        "Azure Communication Services could not send the text message: the mobile number is "
        "not valid"
    )


async def test_a_refused_key_is_named(wire: Wire) -> None:
    body = {"error": {"code": "Denied", "message": "Denied by the resource provider."}}
    wire.answers(httpx.Response(401, json=body))
    with pytest.raises(SmsFailed, match="refused tapbot's access key") as caught:
        await _client(wire).send_sms("+447911123456", "x")
    assert (caught.value.code, caught.value.status) == ("Denied", 401)


async def test_a_lasting_outage_fails_after_the_retries(wire: Wire) -> None:
    wire.answers(*[httpx.ConnectError("down") for _ in range(4)])
    with pytest.raises(SmsFailed, match="could not be reached"):
        await _client(wire).send_sms("+447911123456", "x")
    assert len(wire.requests) == 4
