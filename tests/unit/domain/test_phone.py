"""Mobile numbers as people write them, to E.164 or a plain reason; masking."""

from __future__ import annotations

import pytest

from bot.domain.phone import InvalidPhoneNumber, PhoneProblem, mask_phone, sms_number


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+447911123456", None, "+447911123456"),
        ("+44 7911 123456", None, "+447911123456"),
        ("  +44 (0)7911-123-456 ", None, "+447911123456"),
        ("07911 123456", "GB", "+447911123456"),
        ("0044 7911 123456", "GB", "+447911123456"),
        ("(425) 555-0123", "US", "+14255550123"),
        ("+1 425.555.0123", None, "+14255550123"),
        ("+61 491 570 006", "GB", "+61491570006"),
    ],
)
def test_numbers_in_national_and_international_formats_become_e164(
    raw: str, region: str | None, e164: str
) -> None:
    assert sms_number(raw, default_region=region) == e164


@pytest.mark.parametrize(
    ("raw", "region", "problem"),
    [
        ("", "GB", PhoneProblem.EMPTY),
        ("   ", "GB", PhoneProblem.EMPTY),
        ("07911 123456", None, PhoneProblem.NO_COUNTRY),
        ("+44 7911 123456 ext. 12", None, PhoneProblem.EXTENSION),
        ("+1 425 555 0123 x7", None, PhoneProblem.EXTENSION),
        ("0800-FLOWERS", "US", PhoneProblem.LETTERS),
        ("call me", "GB", PhoneProblem.LETTERS),
        ("12", "GB", PhoneProblem.TOO_SHORT),
        ("+4479111234567890123", None, PhoneProblem.TOO_LONG),
        ("+0 7911 123456", None, PhoneProblem.INVALID_COUNTRY),
        ("+999 123 456 789", None, PhoneProblem.INVALID_COUNTRY),
        ("+447700900111", None, PhoneProblem.INVALID),  # Ofcom's drama range
        ("+44 20 7946 0111", None, PhoneProblem.NOT_MOBILE),  # a London landline
        ("+44 800 123 4567", None, PhoneProblem.NOT_MOBILE),  # freephone
        ("---", "GB", PhoneProblem.NOT_A_NUMBER),
    ],
)
def test_numbers_that_cannot_take_a_text_are_refused_with_the_reason(
    raw: str, region: str | None, problem: PhoneProblem
) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        sms_number(raw, default_region=region)
    assert caught.value.problem is problem


def test_the_refusal_never_repeats_the_number() -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        sms_number("+44 20 7946 0111")
    assert "7946" not in str(caught.value)
    assert str(caught.value) == PhoneProblem.NOT_MOBILE.text


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+447700900111", "+44 •••• ••01 11"),
        ("+447911123456", "+44 •••• ••34 56"),
        ("+14255550123", "+1 •••• ••01 23"),
        ("+61491570006", "+61 •••• •000 6"),
        ("not a number", "••••"),
    ],
)
def test_a_masked_number_keeps_the_country_code_and_last_four_digits(
    e164: str, masked: str
) -> None:
    assert mask_phone(e164) == masked
