"""One contract for every `SmsSender`: the twin and each provider client over real HTTP to the
fake tenant (Twilio with a token, an API key and a messaging service; ACS with its signature).
Then what only the real clients meet: refused credentials, injected provider faults."""

from __future__ import annotations

import httpx
import pytest

from bot.delivery.sms import SmsFailed
from sandbox.faults import Fault, fault_from_json
from sandbox.server import FakeTenant
from sandbox.tenant import PASS_ALPHABET
from tests.integration.delivery.conftest import Side, real_sender
from tests.twins.clock import ManualClock

TEXT = f"Liam, your Temporary Access Pass is:\n\n{PASS_ALPHABET}\n\nValid until 10:00."
LIAM = "+61491570006"


async def test_a_message_is_sent_once_with_its_receipt(side: Side) -> None:
    reference = await side.sender.send_sms(LIAM, TEXT)

    assert reference
    assert side.sent() == [(LIAM, TEXT, reference)]


async def test_a_number_that_is_not_valid_is_refused_and_nothing_is_sent(side: Side) -> None:
    with pytest.raises(SmsFailed) as caught:
        await side.sender.send_sms("+447700900111", TEXT)  # Ofcom's drama range: not valid

    assert "the mobile number is not valid" in caught.value.reason
    assert PASS_ALPHABET not in str(caught.value)
    assert side.sent() == []


async def test_each_message_gets_its_own_receipt(side: Side) -> None:
    first = await side.sender.send_sms(LIAM, "one")
    second = await side.sender.send_sms("+61491570156", "two")

    assert first != second
    assert [to for to, _, _ in side.sent()] == [LIAM, "+61491570156"]


# The real clients against the fake tenant only


@pytest.mark.parametrize(
    ("kind", "overrides", "words"),
    [
        ("twilio-token", {"TWILIO_AUTH_TOKEN": "wrong-token"}, "refused tapbot's credentials"),
        ("twilio-key", {"TWILIO_API_KEY_SECRET": "wrong-secret"}, "refused tapbot's credentials"),
        ("acs", {"ACS_CONNECTION_STRING": "endpoint={base}/acs;accesskey=d3Jvbmcta2V5"},
         "refused tapbot's access key"),
    ],
)  # fmt: skip
async def test_a_wrong_key_is_refused(
    fake: FakeTenant,
    http: httpx.AsyncClient,
    clock: ManualClock,
    kind: str,
    overrides: dict[str, str],
    words: str,
) -> None:
    overrides = {k: v.format(base=fake.base_url) for k, v in overrides.items()}
    sender = real_sender(fake, kind, http, clock, **overrides)

    with pytest.raises(SmsFailed, match=words) as caught:
        await sender.send_sms(LIAM, TEXT)

    assert caught.value.status == 401
    assert fake.tenant.outbox == []


async def test_an_acs_signature_from_a_skewed_clock_is_refused(
    fake: FakeTenant, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    skewed = ManualClock(clock.now())
    skewed.advance(minutes=16)
    sender = real_sender(fake, "acs", http, skewed)

    with pytest.raises(SmsFailed, match="access key") as caught:
        await sender.send_sms(LIAM, TEXT)

    assert caught.value.code == "Denied"


@pytest.mark.parametrize(("kind", "route"), [("twilio-token", "twilio_sms"), ("acs", "acs_sms")])
async def test_throttling_and_outages_are_ridden_out(
    fake: FakeTenant, http: httpx.AsyncClient, clock: ManualClock, kind: str, route: str
) -> None:
    fake.faults.add(fault(route, "throttle", count=1, retry_after="0"))
    fake.faults.add(fault(route, "error", count=1, status=503))
    sender = real_sender(fake, kind, http, clock)

    reference = await sender.send_sms(LIAM, TEXT)

    assert [(i.to, i.reference) for i in fake.tenant.outbox] == [([LIAM], reference)]


async def test_a_lasting_outage_fails_after_the_retries(
    fake: FakeTenant, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    fake.faults.add(fault("twilio_sms", "error", status=500))
    sender = real_sender(fake, "twilio-token", http, clock)

    with pytest.raises(SmsFailed, match=r"having problems \(HTTP 500\)"):
        await sender.send_sms(LIAM, TEXT)

    assert fake.faults.hits == 4  # the first try and three retries


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("21610", "they replied STOP"),
        ("21408", "not enabled for the Twilio account"),
    ],
)
async def test_twilio_refusals_are_explained(
    fake: FakeTenant, http: httpx.AsyncClient, clock: ManualClock, code: str, words: str
) -> None:
    fake.faults.add(fault("twilio_sms", "error", status=400, code=code))
    sender = real_sender(fake, "twilio-token", http, clock)

    with pytest.raises(SmsFailed, match=words) as caught:
        await sender.send_sms(LIAM, TEXT)

    assert caught.value.code == code
    assert fake.faults.hits == 1  # permanent: not retried


def fault(route: str, kind: str, **fields: object) -> Fault:
    return fault_from_json({"route": route, "kind": kind, **fields})
