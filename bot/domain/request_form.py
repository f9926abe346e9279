"""Reading a submitted request card: untrusted data in, a checked `RequestForm` out.

Everything in a card submission can be forged by whoever sends the activity, so every field is
checked for presence, type, size and form; unknown fields are refused rather than ignored. Policy
limits (lifetime range, one-time use) are checked later against the tenant policy; this module
only makes sure the values are well formed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from bot.domain.model import DeliveryMethod

JUSTIFICATION_MAX = 500
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_FIELD = 2000
_DIGITS = re.compile(r"[0-9]{1,6}")
# Start dates are checked against the policy later; this only keeps arithmetic in range.
_YEARS = range(2000, 2200)
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
        "justification",
    }
)


class InvalidForm(ValueError):
    """A submitted form is malformed. *field* names the culprit; *problem* says what is wrong,
    in words fit for the audit log (never echoing the submitted value)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class RequestForm:
    """A well-formed request card submission. *start_at* is None for "now"."""

    form_id: str
    target_id: str
    lifetime_minutes: int
    is_usable_once: bool
    start_at: datetime | None
    delivery: DeliveryMethod
    justification: str


def parse_request_form(
    data: Mapping[str, object], *, timezone: ZoneInfo, deliveries: frozenset[DeliveryMethod]
) -> RequestForm:
    """Check *data* (the card's inputs and data, without the verb) and return the form.

    A start date and time are read in *timezone*; *deliveries* are the methods offered now.
    Raise InvalidForm for the first problem found.
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
    if delivery not in deliveries:
        raise InvalidForm("delivery", "is not offered for this request")
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
    )


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
