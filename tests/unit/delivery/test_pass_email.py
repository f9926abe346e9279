"""The pass email and the notice email: seed 002's content, hostile names kept inert."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.email import EmailComposer
from bot.delivery.messages import PassFacts
from bot.domain.model import DeliveryMethod, DirectoryUser
from tests.twins.directory import PASS_ALPHABET, person

NOW = datetime(2026, 6, 9, 8, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
COMPOSER = EmailComposer(sender="tapbot@contoso.example", timezone=LONDON)
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "[x](http://evil.example/reset)",
    "**Bob** _under_",
    "evil.example",
    "bob@evil.example",
    "Call +44 20 7946 0000",
]


def _facts(**changes: object) -> PassFacts:
    values: dict[str, object] = {
        "first_name": "Emma",
        "requested_by": "Alex Wilber",
        "starts": NOW,
        "ends": NOW + timedelta(hours=8),
        "one_time": True,
        "timezone": LONDON,
        "contact": "the service desk, extension 4000",
        "issued_at": NOW,
    }
    values.update(changes)
    return PassFacts(**values)  # type: ignore[arg-type]


def _emma(**changes: object) -> DirectoryUser:
    values: dict[str, object] = {
        "other_mails": ("emma.brooks@example.net",),
        "employee_hire_date": datetime(2026, 6, 16, 8, 0, tzinfo=UTC),
    }
    values.update(changes)
    return person("Emma Brooks", **values)


def _render(value: str = "Ab3$xY+!", **changes: object) -> str:
    message = COMPOSER.pass_message(
        to="emma.brooks@example.net",
        cc=("alex.wilber@contoso.example",),
        person=_emma(),
        value=value,
        facts=_facts(**changes),
        manager_name="Alex Wilber",
        now=NOW,
    )
    return message.html_body


def _text(body: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_the_email_says_what_seed_002_says() -> None:
    message = COMPOSER.pass_message(
        to="emma.brooks@example.net",
        cc=("alex.wilber@contoso.example",),
        person=_emma(),
        value="Ab3$xY+!",
        facts=_facts(),
        manager_name="Alex Wilber",
        now=NOW,
    )
    assert message.sender == "tapbot@contoso.example"
    assert message.to == ("emma.brooks@example.net",)
    assert message.cc == ("alex.wilber@contoso.example",)
    assert message.subject == "Your Temporary Access Pass"
    words = " ".join(_text(message.html_body).split())
    for expected in (
        "Dear Emma,",
        "joining us on Tuesday 16 June 2026",
        "User name emma.brooks@contoso.example",
        "Temporary Access Pass Ab3$xY+!",
        "Valid until Tuesday 9 June 2026 at 17:00 (Europe/London)",
        "Can be used Once only",
        "Requested by Alex Wilber. Your manager, Alex Wilber, is in copy.",
        "call the service desk, extension 4000 at once",
    ):
        assert expected in words, expected
    assert "Valid from" not in words


@pytest.mark.parametrize("value", [PASS_ALPHABET, "a<b>&c\"'d"])
def test_the_pass_stands_alone_in_a_monospace_element(value: str) -> None:
    body = _render(value)
    user_name, shown = re.findall(r"<code[^>]*monospace[^>]*>([^<]*)</code>", body)
    assert user_name == "emma.brooks@contoso.example"
    assert html.unescape(shown) == value
    assert body.count(shown) == 1


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_inert(name: str) -> None:
    body = _render(first_name=name, requested_by=name)
    assert "<script" not in body
    assert "<img" not in body
    assert "http://" not in body
    assert "evil.example" not in body
    assert "7946" not in body
    assert "<a " not in body


def test_a_later_start_and_a_reusable_pass_are_stated() -> None:
    later = _facts(
        starts=NOW + timedelta(days=7), ends=NOW + timedelta(days=7, hours=8), one_time=False
    )
    message = COMPOSER.pass_message(
        to="e@example.net",
        cc=(),
        person=_emma(),
        value="x",
        facts=later,
        manager_name="Alex Wilber",
        now=NOW,
    )
    words = " ".join(_text(message.html_body).split())
    assert "Valid from Tuesday 16 June 2026 at 09:00 (Europe/London)" in words
    assert "Until it expires" in words
    assert "is in copy" not in words  # nobody in copy, so nobody named


def test_the_notice_email_has_no_pass_and_says_where_it_went() -> None:
    message = COMPOSER.notice_message(
        to="emma.brooks@example.net",
        person=_emma(),
        facts=_facts(requested_by="<b>Alex</b>"),
        method=DeliveryMethod.SMS,
        destination="+44 •••• ••34 56",
    )
    words = " ".join(_text(message.html_body).split())
    assert message.subject == "A Temporary Access Pass was issued for your account"
    assert "at the request of <b>Alex</b> and sent by text message to +44 •••• ••34 56" in words
    assert "<b>Alex" not in message.html_body
    assert "does not contain the pass" in words
