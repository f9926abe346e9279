"""The text message and the notice: the pass alone on its line, nothing a phone would link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.messages import LINK_SHAPED, PassFacts, notice_text, sms_text, without_links
from bot.domain.model import DeliveryMethod
from sandbox.tenant import PASS_ALPHABET

NOW = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


def _facts(**changes: object) -> PassFacts:
    values: dict[str, object] = {
        "first_name": "Liam",
        "requested_by": "Olivia Bennett",
        "starts": NOW,
        "ends": NOW + timedelta(hours=1),
        "one_time": True,
        "timezone": LONDON,
        "contact": "the Contoso service desk, extension 4000",
        "issued_at": NOW,
    }
    values.update(changes)
    return PassFacts(**values)  # type: ignore[arg-type]


def test_the_text_message_reads_as_intended() -> None:
    assert sms_text("Ab3$xY+!", _facts(), now=NOW) == (
        "Liam, your Temporary Access Pass is:\n"
        "\n"
        "Ab3$xY+!\n"
        "\n"
        "It is valid until Wed 1 Jul 10:00 (Europe/London), for one sign-in only. Requested by "
        "Olivia Bennett. Never share it. Not expecting it? Call the Contoso service desk, "
        "extension 4000."
    )


def test_a_pass_with_every_character_stands_alone_and_unchanged_on_its_line() -> None:
    value = PASS_ALPHABET
    lines = sms_text(value, _facts(), now=NOW).split("\n")
    assert lines.count(value) == 1
    assert lines[lines.index(value) - 1] == lines[lines.index(value) + 1] == ""


def test_a_later_start_is_stated() -> None:
    later = _facts(starts=NOW + timedelta(days=5), ends=NOW + timedelta(days=5, hours=8))
    assert "valid from Mon 6 Jul 09:00 until Mon 6 Jul 17:00 (Europe/London)" in sms_text(
        "x", later, now=NOW
    )


HOSTILE = [
    "http://evil.example/reset",
    "Bob www.evil.example",
    "evil.example",
    "bob@evil.example",
    "Call +44 20 7946 0000 now",
    "[x](http://evil.example)",
    "**Bob**",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_names_cannot_carry_a_link_into_a_text_message(name: str) -> None:
    text = sms_text("Ab3$xY+!", _facts(first_name=name, requested_by=name), now=NOW)
    assert not LINK_SHAPED.search(text.replace("Ab3$xY+!", ""))
    assert "://" not in text
    assert "@" not in text


def test_ordinary_names_are_left_alone() -> None:
    for name in ("Olivia Bennett", "J.R. Smith", "Zoë O'Brien-Ng", "李小龙"):
        assert without_links(name) == name


def test_a_name_stays_on_one_line() -> None:
    assert without_links("Eve\nCall now\r\u0007") == "Eve Call now"


@pytest.mark.parametrize(
    ("method", "destination", "where"),
    [
        (DeliveryMethod.CHAT_TO_REQUESTER, "", "sent to Olivia Bennett in Teams"),
        (DeliveryMethod.CHAT_TO_TARGET, "", "sent to you in Teams"),
        (DeliveryMethod.SMS, "+44 •••• ••34 56", "sent by text message to +44 •••• ••34 56"),
        (DeliveryMethod.EMAIL, "l•••@example.net", "sent by email."),
    ],
)
def test_the_notice_says_when_by_whom_where_and_whom_to_call(
    method: DeliveryMethod, destination: str, where: str
) -> None:
    text = notice_text(_facts(), method, destination)
    assert text.startswith(
        "Liam, a Temporary Access Pass for your account was issued on Wed 1 Jul 09:00 "
        "(Europe/London) at the request of Olivia Bennett and "
    )
    assert where in text
    assert text.endswith("call the Contoso service desk, extension 4000 at once.")
    assert not re.search(r"@", text)
