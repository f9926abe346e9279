"""Submitted request cards are untrusted: every malformed or tampered field is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.delivery_options import DeliveryOption
from bot.domain.model import DeliveryMethod
from bot.domain.request_form import FIELDS, InvalidForm, RequestForm, parse_request_form

LONDON = ZoneInfo("Europe/London")
CHAT = frozenset({DeliveryMethod.CHAT_TO_REQUESTER})
GOOD = {
    "form_id": "F0000000-0000-4000-8000-000000000001",
    "target": "10000000-0000-4000-8000-000000000011",
    "lifetime": "60",
    "one_time": "true",
    "start": "now",
    "start_date": "",
    "start_time": "",
    "delivery": "chat_requester",
    "justification": "  First day  ",
}


def parse(**changes: object) -> object:
    data = {k: v for k, v in (GOOD | changes).items() if v is not None}
    return parse_request_form(data, timezone=LONDON, deliveries=CHAT)


def test_a_well_formed_submission_is_read_with_ids_normalised() -> None:
    form = parse()
    assert form.form_id == "f0000000-0000-4000-8000-000000000001"  # type: ignore[attr-defined]
    assert form.lifetime_minutes == 60  # type: ignore[attr-defined]
    assert form.is_usable_once is True  # type: ignore[attr-defined]
    assert form.start_at is None  # type: ignore[attr-defined]
    assert form.justification == "First day"  # type: ignore[attr-defined]


def test_a_later_start_is_read_in_the_configured_time_zone() -> None:
    form = parse(start="later", start_date="2026-07-01", start_time="09:00")
    assert form.start_at == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"target": "'; drop table"}, "target"),
        ({"target": 42}, "target"),
        ({"target": None}, "target"),
        ({"form_id": "x"}, "form_id"),
        ({"lifetime": "-5"}, "lifetime"),
        ({"lifetime": "1e9"}, "lifetime"),
        ({"lifetime": True}, "lifetime"),
        ({"lifetime": "²"}, "lifetime"),
        ({"lifetime": "\uff11\uff12\uff10"}, "lifetime"),  # full-width digits
        ({"start": "later", "start_date": "9999-12-31", "start_time": "23:59"}, "start_date"),
        ({"start": "later", "start_date": "0001-01-01", "start_time": "00:00"}, "start_date"),
        ({"one_time": "yes"}, "one_time"),
        ({"start": "yesterday"}, "start"),
        ({"start": "later", "start_date": "01/07/2026", "start_time": "09:00"}, "start_date"),
        ({"start": "later", "start_date": "2026-07-01", "start_time": "9am"}, "start_time"),
        ({"delivery": "sms"}, "delivery"),
        ({"delivery": "carrier_pigeon"}, "delivery"),
        ({"justification": "   "}, "justification"),
        ({"justification": "x" * 501}, "justification"),
        ({"justification": "x" * 5000}, "justification"),
        ({"justification": "bell\x07"}, "justification"),
        ({"requester_id": "10000000-0000-4000-8000-000000000002"}, "requester_id"),
    ],
)
def test_tampered_fields_are_refused_naming_the_field(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidForm) as caught:
        parse(**changes)
    assert caught.value.field == field
    assert "drop table" not in str(caught.value)


@given(
    st.dictionaries(
        st.text(max_size=20),
        st.one_of(st.text(max_size=50), st.integers(), st.booleans(), st.none()),
    )
)
def test_arbitrary_data_is_either_a_form_or_invalid_never_a_crash(data: dict[str, object]) -> None:
    try:
        parse_request_form(data, timezone=LONDON, deliveries=CHAT)
    except InvalidForm as invalid:
        field = invalid.field
    else:
        return
    assert field in FIELDS or field in {k[:40] for k in data}


# Deliveries: the caller says what works for this person now; the card never does.

SMS_FROM_DIRECTORY = DeliveryOption(DeliveryMethod.SMS, True, "+44 •••• ••34 56")
SMS_TYPED_TOO = DeliveryOption(DeliveryMethod.SMS, True, "+44 •••• ••34 56", typed_number=True)
SMS_TYPED_ONLY = DeliveryOption(DeliveryMethod.SMS, True, typed_number=True)


def parse_with(*options: DeliveryOption, **changes: object) -> RequestForm:
    data = {k: v for k, v in (GOOD | changes).items() if v is not None}
    return parse_request_form(data, timezone=LONDON, deliveries=options, sms_region="GB")


def test_a_text_message_to_the_directory_number_keeps_no_typed_number() -> None:
    form = parse_with(SMS_FROM_DIRECTORY, delivery="sms", sms_number="")
    assert form.delivery is DeliveryMethod.SMS
    assert form.typed_number is None


def test_a_typed_number_is_read_in_e164_where_typing_is_allowed() -> None:
    form = parse_with(SMS_TYPED_TOO, delivery="sms", sms_number=" 07911 123456 ")
    assert form.typed_number == "+447911123456"


def test_a_typed_number_is_refused_where_typing_is_not_allowed() -> None:
    with pytest.raises(InvalidForm) as caught:
        parse_with(SMS_FROM_DIRECTORY, delivery="sms", sms_number="+447911123456")
    assert caught.value.field == "sms_number"
    assert caught.value.tell == ""  # only a forged card carries a number box that was not shown


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("+44 20 8366 1177", "landline"),
        ("+44 79", "too short"),
        ("0800-FLOWERS", "letters"),
        ("+1 200 123 0101", "can exist"),
    ],
)
def test_a_typed_number_that_cannot_take_a_text_is_refused_in_words(typed: str, words: str) -> None:
    with pytest.raises(InvalidForm) as caught:
        parse_with(SMS_TYPED_TOO, delivery="sms", sms_number=typed)
    assert caught.value.field == "sms_number"
    assert words in caught.value.tell
    assert typed not in str(caught.value)
    assert typed not in caught.value.problem


def test_a_number_must_be_typed_when_the_directory_has_none_usable() -> None:
    with pytest.raises(InvalidForm) as caught:
        parse_with(SMS_TYPED_ONLY, delivery="sms", sms_number="")
    assert caught.value.field == "sms_number"
    assert "Type the mobile number" in caught.value.tell


def test_a_number_left_in_the_box_is_not_used_for_another_method() -> None:
    chat = DeliveryOption(DeliveryMethod.CHAT_TO_REQUESTER, True)
    form = parse_with(chat, SMS_TYPED_TOO, sms_number="+447911123456")
    assert form.delivery is DeliveryMethod.CHAT_TO_REQUESTER
    assert form.typed_number is None


@pytest.mark.parametrize("value", [42, ["+447911123456"], "+44 7911 123456" + " " * 40])
def test_a_malformed_number_field_is_refused(value: object) -> None:
    with pytest.raises(InvalidForm) as caught:
        parse_with(SMS_TYPED_TOO, delivery="sms", sms_number=value)
    assert caught.value.field == "sms_number"


def test_a_method_that_stopped_working_is_refused_saying_why() -> None:
    gone = DeliveryOption(
        DeliveryMethod.EMAIL, False, why_not="the directory has no personal email address for Liam"
    )
    with pytest.raises(InvalidForm) as caught:
        parse_with(gone, delivery="email")
    assert caught.value.field == "delivery"
    assert "no personal email address for Liam" in caught.value.tell


def test_a_method_not_worked_out_for_this_person_is_refused() -> None:
    with pytest.raises(InvalidForm) as caught:
        parse_with(SMS_FROM_DIRECTORY, delivery="email")
    assert caught.value.field == "delivery"
    assert caught.value.tell == ""
