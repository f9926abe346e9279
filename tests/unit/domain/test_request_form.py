"""Submitted request cards are untrusted: every malformed or tampered field is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.model import DeliveryMethod
from bot.domain.request_form import FIELDS, InvalidForm, parse_request_form

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
