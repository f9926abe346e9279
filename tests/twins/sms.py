"""`FakeSms`: the `SmsSender` port in memory, for unit tests.

It answers as the providers' clients do against the fake tenant (tests/integration/delivery):
a number that is not a valid E.164 number is `SmsFailed`, and `fail_with` makes the next sends
fail. `sent` keeps what a phone would show (the pass included, so tests can prove it arrived).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import phonenumbers

from bot.delivery.sms import SmsFailed


@dataclass(frozen=True, slots=True)
class Text:
    to: str
    text: str
    reference: str


class FakeSms:
    def __init__(self, provider: str = "fake") -> None:
        self._provider = provider
        self.sent: list[Text] = []
        self._failures: list[SmsFailed] = []

    @property
    def provider(self) -> str:
        return self._provider

    def fail_with(self, failure: SmsFailed, *, times: int = 1) -> None:
        self._failures.extend([failure] * times)

    async def send_sms(self, to: str, text: str) -> str:
        if self._failures:
            raise self._failures.pop(0)
        if not _valid_e164(to):
            raise SmsFailed(
                "the fake provider could not send the text message: the mobile number is not valid",
                provider=self._provider,
                code="invalid_to",
                status=400,
            )
        reference = f"fake-{uuid.uuid4().hex}"
        self.sent.append(Text(to, text, reference))
        return reference


def _valid_e164(value: str) -> bool:
    if not value.startswith("+") or not value[1:].isdigit():
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False
