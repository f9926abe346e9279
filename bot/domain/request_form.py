"""Reading a submitted request card: untrusted data in, a checked `RequestForm` out.

Everything in a card submission can be forged by whoever sends the activity, so every field is
checked for presence, type, size and form; unknown fields are refused rather than ignored. Policy
limits (lifetime range, one-time use) are checked later against the tenant policy; this module
only makes sure the values are well formed, that the delivery chosen is one that works for the
person now (the caller says which do, never the card), and that a number typed for a text
message can take one: an unusable number is refused here, before any pass exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from bot.domain.delivery_options import DeliveryOption
from bot.domain.model import DeliveryMethod
from bot.domain.phone import InvalidPhoneNumber, sms_number

JUSTIFICATION_MAX = 500
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_FIELD = 2000
_DIGITS = re.compile(r"[0-9]{1,6}")
# Start dates are checked against the policy later; this only keeps arithmetic in range.
_YEARS = range(2000, 2200)
# E.164 has at most 15 digits; people add spaces, brackets and dashes around them.
_NUMBER_MAX = 40
FIELDS = frozenset(
    {
        "form_id",
        "target",
        "lifetime",
        "one_time",
        "start",
        "start_date",
        "start_time",
        "delivery",
        "sms_number",
        "justification",
    }
)


class InvalidForm(ValueError):
    """A submitted form is malformed. *field* names the culprit; *problem* says what is wrong,
    in words fit for the audit log (never echoing the submitted value). *tell* is a sentence
    for the requester when the problem is one they can fix (a number that can't take a text);
    empty for tampering, which gets the general answer."""

    def __init__(self, field: str, problem: str, *, tell: str = "") -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        self.tell = tell


@dataclass(frozen=True, slots=True)
class RequestForm:
    """A well-formed request card submission. *start_at* is None for "now"; *typed_number* is
    the E.164 number the requester typed for a text message (None: the directory's);
    *joiner_hire_day* is the hire day a day-one pass from a joiner reminder is for (never from
    a card), checked against the directory again before the pass is issued."""

    form_id: str
    target_id: str
    lifetime_minutes: int
    is_usable_once: bool
    start_at: datetime | None
    delivery: DeliveryMethod
    justification: str
    typed_number: str | None = None
    joiner_hire_day: date | None = None


def parse_request_form(
    data: Mapping[str, object],
    *,
    timezone: ZoneInfo,
    deliveries: Iterable[DeliveryOption | DeliveryMethod],
    sms_region: str | None = None,
) -> RequestForm:
    """Check *data* (the card's inputs and data, without the verb) and return the form.

    A start date and time are read in *timezone*. *deliveries* are the delivery options for
    this target now (`bot.domain.delivery_options`), as the caller worked them out, never as
    the card claims; a bare method counts as an available option without a typed number. The
    method chosen must be one of them and available. A typed number (``sms_number``) is used
    only for a text message whose option allows typing, read with *sms_region* as the country
    of numbers written without ``+``. Raise InvalidForm for the first problem found.
    """
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise InvalidForm(unknown[0][:40], "is not a field of the request card")
    for name, value in data.items():
        if isinstance(value, str) and len(value) > _MAX_FIELD:
            raise InvalidForm(name, "is too long")
    form_id = _guid(data, "form_id")
    target_id = _guid(data, "target")
    lifetime = _minutes(data.get("lifetime"))
    one_time = _flag(data.get("one_time", "false"))
    start_at = _start(data, timezone)
    delivery_text = _text(data, "delivery")
    try:
        delivery = DeliveryMethod(delivery_text)
    except ValueError:
        raise InvalidForm("delivery", "is not a delivery method") from None
    option = _offered(deliveries).get(delivery)
    if option is None:
        raise InvalidForm("delivery", "is not offered for this request")
    if not option.available:
        raise InvalidForm(
            "delivery",
            "is not available for this person now",
            tell=f"I can't deliver the pass that way now: {option.why_not}. Choose another way.",
        )
    typed_number = _typed_number(data.get("sms_number", ""), option, sms_region)
    justification = _text(data, "justification").strip()
    if not justification:
        raise InvalidForm("justification", "is required")
    if len(justification) > JUSTIFICATION_MAX:
        raise InvalidForm("justification", f"is longer than {JUSTIFICATION_MAX} characters")
    if _CONTROL.search(justification):
        raise InvalidForm("justification", "contains control characters")
    return RequestForm(
        form_id=form_id.lower(),
        target_id=target_id.lower(),
        lifetime_minutes=lifetime,
        is_usable_once=one_time,
        start_at=start_at,
        delivery=delivery,
        justification=justification,
        typed_number=typed_number,
    )


def _offered(
    deliveries: Iterable[DeliveryOption | DeliveryMethod],
) -> dict[DeliveryMethod, DeliveryOption]:
    offered: dict[DeliveryMethod, DeliveryOption] = {}
    for item in deliveries:
        option = item if isinstance(item, DeliveryOption) else DeliveryOption(item, True)
        offered[option.method] = option
    return offered


def _typed_number(value: object, option: DeliveryOption, region: str | None) -> str | None:
    """The number typed for *option*'s text message in E.164, or None to use the directory's.

    The card sends its number box whatever method was chosen: a number left there when
    another method was picked is not used (nor kept)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidForm("sms_number", "must be text")
    if len(value) > _NUMBER_MAX:
        raise InvalidForm("sms_number", "is too long")
    typed = value.strip()
    if option.method is not DeliveryMethod.SMS:
        return None
    if not typed:
        if option.typed_number and not option.destination:
            raise InvalidForm(
                "sms_number",
                "is required",
                tell="Type the mobile number the text message should go to.",
            )
        return None
    if not option.typed_number:
        # The card shows no number box then: only a forged submission carries one.
        raise InvalidForm("sms_number", "may not be typed for this request")
    try:
        return sms_number(typed, default_region=region)
    except InvalidPhoneNumber as invalid:
        raise InvalidForm(
            "sms_number",
            f"cannot take a text message ({invalid.problem.value})",
            tell=f"The mobile number you typed can't take a text message: "
            f"{invalid.problem.text}. Check it (with its country code, e.g. +44) and try again.",
        ) from None


def _text(data: Mapping[str, object], name: str) -> str:
    value = data.get(name)
    if value is None:
        raise InvalidForm(name, "is missing")
    if not isinstance(value, str):
        raise InvalidForm(name, "must be text")
    return value


def _guid(data: Mapping[str, object], name: str) -> str:
    value = _text(data, name).strip()
    if not _GUID.match(value):
        raise InvalidForm(name, "is not a directory object id")
    return value


def _minutes(value: object) -> int:
    # ASCII digits only: str.isdigit() also accepts "²" and full-width digits.
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**6:
        return value
    raise InvalidForm("lifetime", "must be a whole number of minutes")


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise InvalidForm("one_time", "must be true or false")


def _start(data: Mapping[str, object], timezone: ZoneInfo) -> datetime | None:
    mode = data.get("start", "now")
    if mode == "now":
        return None
    if mode != "later":
        raise InvalidForm("start", "must be now or later")
    try:
        day = date.fromisoformat(_text(data, "start_date"))
    except ValueError:
        raise InvalidForm("start_date", "is not a date (YYYY-MM-DD)") from None
    if day.year not in _YEARS:
        raise InvalidForm("start_date", "is out of range")
    clock_text = _text(data, "start_time")
    try:
        at = time.fromisoformat(clock_text)
    except ValueError:
        raise InvalidForm("start_time", "is not a time (HH:MM)") from None
    if at.tzinfo is not None:
        raise InvalidForm("start_time", "must not carry a time zone")
    return datetime.combine(day, at, tzinfo=timezone).astimezone(UTC)
