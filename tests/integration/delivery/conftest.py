"""The `SmsSender` implementations for the contract suite.

- ``twin``: `FakeSms`;
- ``twilio-token``, ``twilio-key``, ``twilio-service``: `TwilioSms` with the account's auth
  token, with an API key, and through a messaging service, over HTTP to the fake tenant;
- ``acs``: `AcsSms` with the fake's access key (HMAC-signed) over HTTP to the fake tenant.

The real ones are built exactly as `bot.delivery.wiring.build_sms_sender` builds them from the
settings `sandbox.stack.bot_environment` gives the sandbox bot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.delivery.ports import SmsSender
from bot.delivery.sms import SmsRetry
from bot.delivery.wiring import build_sms_sender
from sandbox import org
from sandbox.server import FakeTenant, run_fake_tenant
from sandbox.stack import bot_environment
from tests.twins.clock import ManualClock
from tests.twins.sms import FakeSms

SIDES = ["twin", "twilio-token", "twilio-key", "twilio-service", "acs"]


@dataclass
class Side:
    kind: str
    sender: SmsSender
    fake: FakeTenant | None = None
    twin: FakeSms | None = None

    def sent(self) -> list[tuple[str, str, str]]:
        """(to, text, reference) of every message that left."""
        if self.twin is not None:
            return [(t.to, t.text, t.reference) for t in self.twin.sent]
        assert self.fake is not None
        return [
            (item.to[0], item.body, item.reference)
            for item in self.fake.tenant.outbox
            if item.kind == "sms"
        ]


def settings_for(fake: FakeTenant, kind: str, **overrides: str) -> Settings:
    """The sandbox bot's settings for *kind*, with *overrides*."""
    ready = fake.ready_line()
    env = bot_environment(
        ready,
        port=0,
        ops_port=0,
        database_url="sqlite+aiosqlite:///unused.db",
        sms_provider="acs" if kind == "acs" else "twilio",
    )
    if kind == "twilio-key":
        del env["TWILIO_AUTH_TOKEN"]
        env |= {
            "TWILIO_API_KEY_SID": org.TWILIO_API_KEY_SID,
            "TWILIO_API_KEY_SECRET": org.TWILIO_API_KEY_SECRET,
        }
    if kind == "twilio-service":
        del env["TWILIO_FROM"]
        env["TWILIO_MESSAGING_SERVICE_SID"] = org.TWILIO_MESSAGING_SERVICE_SID
    return Settings.from_env(env | overrides)


async def _no_sleep(seconds: float) -> None:
    return None


def real_sender(
    fake: FakeTenant, kind: str, http: httpx.AsyncClient, clock: ManualClock, **overrides: str
) -> SmsSender:
    """The provider client for *kind*, retrying without sleeping."""
    settings = settings_for(fake, kind, **overrides)
    sender = build_sms_sender(settings, http, clock, retry=SmsRetry(sleep=_no_sleep))
    assert sender is not None
    return sender


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def fake(tmp_path: Path, clock: ManualClock) -> AsyncIterator[FakeTenant]:
    async with run_fake_tenant(tmp_path / "state", clock=clock.now) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture(params=SIDES)
async def side(
    request: pytest.FixtureRequest, fake: FakeTenant, http: httpx.AsyncClient, clock: ManualClock
) -> Side:
    if request.param == "twin":
        twin = FakeSms()
        return Side("twin", twin, twin=twin)
    return Side(request.param, real_sender(fake, request.param, http, clock), fake=fake)
