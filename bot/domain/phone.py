"""Mobile numbers for text messages: read one as people write it, give it back in E.164.

Entra's ``mobilePhone`` is free text (``+44 7700 900111``, ``07700 900111``, ``(425) 555-0100
x12``). `sms_number` turns it into the one form Twilio and Azure Communication Services accept,
``+447700900111``, or says in plain words why it can't be used, before any pass exists.
`mask_phone` shows a number without giving it away (``+44 •••• ••01 11``).
"""

from __future__ import annotations

import enum
import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

MASK = "•"
# Numbers that exist but cannot take a text message.
_NO_SMS_TYPES = frozenset(
    {
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.UAN,
        PhoneNumberType.VOICEMAIL,
        PhoneNumberType.PAGER,
    }
)
_LETTERS = re.compile(r"[^\W\d_]")
_VISIBLE_DIGITS = 4


class PhoneProblem(enum.StrEnum):
    """Why a number cannot be used for a text message. ``str(problem.text)`` says it plainly."""

    EMPTY = "empty"
    LETTERS = "letters"
    EXTENSION = "extension"
    NOT_A_NUMBER = "not_a_number"
    NO_COUNTRY = "no_country"
    INVALID_COUNTRY = "invalid_country"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    INVALID = "invalid"
    NOT_MOBILE = "not_mobile"

    @property
    def text(self) -> str:
        return _TEXTS[self]


_TEXTS = {
    PhoneProblem.EMPTY: "there is no mobile number",
    PhoneProblem.LETTERS: "the number has letters in it",
    PhoneProblem.EXTENSION: "the number has an extension, and a text message cannot reach one",
    PhoneProblem.NOT_A_NUMBER: "it is not a phone number",
    PhoneProblem.NO_COUNTRY: "the number has no country code (+…) and none is configured",
    PhoneProblem.INVALID_COUNTRY: "the number's country code does not exist",
    PhoneProblem.TOO_SHORT: "the number is too short",
    PhoneProblem.TOO_LONG: "the number is too long",
    PhoneProblem.INVALID: "it is not a number that can exist",
    PhoneProblem.NOT_MOBILE: "it is a landline or service number, which cannot receive texts",
}


class InvalidPhoneNumber(ValueError):
    """*problem* says why the number cannot be used; the message never contains the number."""

    def __init__(self, problem: PhoneProblem) -> None:
        super().__init__(problem.text)
        self.problem = problem


def sms_number(raw: str, *, default_region: str | None = None) -> str:
    """Return *raw* as an E.164 mobile number (``+447700900111``) or raise InvalidPhoneNumber.

    *default_region* (ISO 3166 code, e.g. ``GB``) is the country of numbers written without
    ``+``; without it such numbers are refused. Pure: no I/O, same answer every time.
    """
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber(PhoneProblem.EMPTY)
    try:
        number = phonenumbers.parse(text, default_region or None)
    except NumberParseException as exc:
        raise InvalidPhoneNumber(_parse_problem(exc, text, default_region)) from None
    if number.extension:
        raise InvalidPhoneNumber(PhoneProblem.EXTENSION)
    if _LETTERS.search(text):
        # phonenumbers reads 0800-FLOWERS as digits; nobody's mobile is written that way.
        raise InvalidPhoneNumber(PhoneProblem.LETTERS)
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == phonenumbers.ValidationResult.TOO_SHORT:
        raise InvalidPhoneNumber(PhoneProblem.TOO_SHORT)
    if reason == phonenumbers.ValidationResult.TOO_LONG:
        raise InvalidPhoneNumber(PhoneProblem.TOO_LONG)
    if reason == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
        raise InvalidPhoneNumber(PhoneProblem.INVALID_COUNTRY)
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(PhoneProblem.INVALID)
    if phonenumbers.number_type(number) in _NO_SMS_TYPES:
        raise InvalidPhoneNumber(PhoneProblem.NOT_MOBILE)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _parse_problem(
    exc: NumberParseException, text: str, default_region: str | None
) -> PhoneProblem:
    kind = exc.error_type
    if kind == NumberParseException.INVALID_COUNTRY_CODE:
        international = text.startswith(("+", "00"))
        return (
            PhoneProblem.NO_COUNTRY
            if not international and not default_region
            else (PhoneProblem.INVALID_COUNTRY)
        )
    if kind in (NumberParseException.TOO_SHORT_NSN, NumberParseException.TOO_SHORT_AFTER_IDD):
        return PhoneProblem.TOO_SHORT
    if kind == NumberParseException.TOO_LONG:
        return PhoneProblem.TOO_LONG
    return PhoneProblem.LETTERS if _LETTERS.search(text) else PhoneProblem.NOT_A_NUMBER


def mask_phone(e164: str) -> str:
    """*e164* with the country code and the last four digits kept: ``+44 •••• ••01 11``.

    The national number is grouped in fours so the kept digits stay where they belong. A
    value that is not E.164 is masked whole.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return MASK * 4
    national = phonenumbers.national_significant_number(number)
    hidden = max(len(national) - _VISIBLE_DIGITS, 0)
    masked = MASK * hidden + national[hidden:]
    groups = [masked[i : i + 4] for i in range(0, len(masked), 4)]
    return f"+{number.country_code} " + " ".join(groups)
