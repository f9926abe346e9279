"""The joiner window's calendar arithmetic, east and west of UTC and across daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.joiners import (
    Joiner,
    Placement,
    SkipReason,
    day_one_start,
    hire_day,
    joiner_window,
    local_moment,
    local_today,
    place_joiner,
    start_of_day,
)
from tests.twins.directory import person

LONDON = ZoneInfo("Europe/London")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
SYDNEY = ZoneInfo("Australia/Sydney")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14
PAGO_PAGO = ZoneInfo("Pacific/Pago_Pago")  # UTC-11
SANTIAGO = ZoneInfo("America/Santiago")  # its daylight saving starts at midnight
ZONES = [LONDON, BERLIN, NEW_YORK, TOKYO, SYDNEY, KIRITIMATI, PAGO_PAGO, SANTIAGO]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# Which day a hire date is


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_midnight_utc_is_a_date_whatever_the_time_zone(zone: ZoneInfo) -> None:
    assert hire_day(utc(2025, 6, 16), zone) == date(2025, 6, 16)


@pytest.mark.parametrize(
    ("stored", "zone", "day"),
    [
        # HR provisioning writes the local start of the day, converted to UTC.
        (utc(2025, 6, 15, 22), BERLIN, date(2025, 6, 16)),
        (utc(2025, 6, 16, 4), NEW_YORK, date(2025, 6, 16)),
        (utc(2025, 6, 15, 15), TOKYO, date(2025, 6, 16)),
        (utc(2025, 6, 15, 10), KIRITIMATI, date(2025, 6, 16)),
        (utc(2025, 6, 16, 11), PAGO_PAGO, date(2025, 6, 16)),
        # Seed 002's example, 01:00 UTC: the 16th in London, the evening before in New York.
        (utc(2025, 6, 16, 1), LONDON, date(2025, 6, 16)),
        (utc(2025, 6, 16, 1), NEW_YORK, date(2025, 6, 15)),
        # The same moment is a different day east and west.
        (utc(2025, 6, 15, 22), NEW_YORK, date(2025, 6, 15)),
    ],
)
def test_any_other_time_is_a_moment_read_in_the_time_zone(
    stored: datetime, zone: ZoneInfo, day: date
) -> None:
    assert hire_day(stored, zone) == day


def test_an_offset_on_the_stored_value_does_not_matter() -> None:
    berlin_midnight = datetime(2025, 6, 16, tzinfo=BERLIN)

    assert hire_day(berlin_midnight, BERLIN) == date(2025, 6, 16)
    assert hire_day(berlin_midnight.astimezone(UTC), BERLIN) == date(2025, 6, 16)


def test_a_naive_hire_date_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        hire_day(datetime(2025, 6, 16, 9), LONDON)  # noqa: DTZ001  # the case under test


@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    zone=st.sampled_from(ZONES),
)
def test_the_start_of_a_day_is_read_back_as_that_day(day: date, zone: ZoneInfo) -> None:
    """Whatever tapbot would write as day one is read back as the same hire day."""
    assert hire_day(start_of_day(day, zone), zone) == day


# The start of day one


@pytest.mark.parametrize(
    ("day", "zone", "start"),
    [
        (date(2025, 6, 16), LONDON, utc(2025, 6, 15, 23)),  # BST
        (date(2025, 1, 13), LONDON, utc(2025, 1, 13)),  # GMT
        (date(2025, 6, 16), NEW_YORK, utc(2025, 6, 16, 4)),
        (date(2025, 6, 16), TOKYO, utc(2025, 6, 15, 15)),
        (date(2025, 6, 16), SYDNEY, utc(2025, 6, 15, 14)),
        (date(2025, 6, 16), KIRITIMATI, utc(2025, 6, 15, 10)),
        (date(2025, 6, 16), PAGO_PAGO, utc(2025, 6, 16, 11)),
    ],
)
def test_day_one_starts_at_local_midnight(day: date, zone: ZoneInfo, start: datetime) -> None:
    assert start_of_day(day, zone) == start


@pytest.mark.parametrize(
    ("day", "zone", "start"),
    [
        # Spring forward happens at 01:00 (London) and 02:00 (New York): midnight exists.
        (date(2025, 3, 30), LONDON, utc(2025, 3, 30)),
        (date(2025, 3, 31), LONDON, utc(2025, 3, 30, 23)),
        (date(2025, 3, 9), NEW_YORK, utc(2025, 3, 9, 5)),
        (date(2025, 3, 10), NEW_YORK, utc(2025, 3, 10, 4)),
        # Fall back.
        (date(2025, 10, 26), LONDON, utc(2025, 10, 25, 23)),
        (date(2025, 10, 27), LONDON, utc(2025, 10, 27)),
        (date(2025, 11, 2), NEW_YORK, utc(2025, 11, 2, 4)),
        (date(2025, 11, 3), NEW_YORK, utc(2025, 11, 3, 5)),
        # Southern hemisphere: Sydney springs forward on 5 October 2025.
        (date(2025, 10, 5), SYDNEY, utc(2025, 10, 4, 14)),
        (date(2025, 10, 6), SYDNEY, utc(2025, 10, 5, 13)),
        # Santiago skips midnight itself on 7 September 2025: the day starts at 01:00 -03.
        (date(2025, 9, 7), SANTIAGO, utc(2025, 9, 7, 4)),
    ],
)
def test_day_one_across_daylight_saving_changes(day: date, zone: ZoneInfo, start: datetime) -> None:
    assert start_of_day(day, zone) == start


def test_a_day_one_that_has_passed_starts_now() -> None:
    now = utc(2025, 6, 17, 10)

    assert day_one_start(date(2025, 6, 16), LONDON, now) == now
    assert day_one_start(date(2025, 6, 18), LONDON, now) == utc(2025, 6, 17, 23)


# The sweep's wall-clock time


def test_the_sweep_time_is_local() -> None:
    assert local_moment(date(2025, 6, 10), time(8), LONDON) == utc(2025, 6, 10, 7)
    assert local_moment(date(2025, 1, 10), time(8), LONDON) == utc(2025, 1, 10, 8)
    assert local_moment(date(2025, 6, 10), time(8), TOKYO) == utc(2025, 6, 9, 23)


def test_a_sweep_time_the_spring_change_skips_runs_an_hour_later() -> None:
    # 01:30 does not exist in London on 30 March 2025; it is read as 01:30 GMT = 02:30 BST.
    moment = local_moment(date(2025, 3, 30), time(1, 30), LONDON)

    assert moment == utc(2025, 3, 30, 1, 30)
    assert moment.astimezone(LONDON).time() == time(2, 30)


def test_a_sweep_time_the_autumn_change_repeats_runs_the_first_time() -> None:
    moment = local_moment(date(2025, 10, 26), time(1, 30), LONDON)

    assert moment == utc(2025, 10, 26, 0, 30)  # 01:30 BST, before clocks go back


# The window


def test_today_is_the_local_day() -> None:
    just_after_tokyo_midnight = utc(2025, 6, 9, 15, 30)

    assert local_today(just_after_tokyo_midnight, TOKYO) == date(2025, 6, 10)
    assert local_today(just_after_tokyo_midnight, NEW_YORK) == date(2025, 6, 9)


def test_the_window_runs_from_the_margin_to_days_ahead() -> None:
    window = joiner_window(utc(2025, 6, 10, 7), LONDON, days_ahead=7, margin_days=2)

    assert (window.today, window.first_day, window.last_day) == (
        date(2025, 6, 10),
        date(2025, 6, 8),
        date(2025, 6, 17),
    )
    assert window.place(date(2025, 6, 8)) == -2
    assert window.place(date(2025, 6, 17)) == 7
    assert window.place(date(2025, 6, 7)) is None
    assert window.place(date(2025, 6, 18)) is None


@pytest.mark.parametrize("zone", ZONES, ids=str)
@pytest.mark.parametrize(
    "now",
    [utc(2025, 6, 10, 7), utc(2025, 3, 29, 23, 30), utc(2025, 10, 25, 23, 30), utc(2025, 1, 1)],
)
def test_the_query_finds_every_way_a_day_in_the_window_is_written(
    zone: ZoneInfo, now: datetime
) -> None:
    window = joiner_window(now, zone, days_ahead=7, margin_days=2)
    day = window.first_day
    while day <= window.last_day:
        for stored in (
            datetime.combine(day, time(0), UTC),  # a date
            start_of_day(day, zone),  # local midnight
            start_of_day(day + timedelta(days=1), zone) - timedelta(seconds=1),  # its last second
        ):
            assert window.query_from <= stored <= window.query_until, (day, stored)
            assert window.place(hire_day(stored, zone)) is not None
        day += timedelta(days=1)


def test_the_window_over_the_spring_change_counts_calendar_days() -> None:
    # Saturday 29 March 2025, 23:30 GMT: the next day has 23 hours.
    window = joiner_window(utc(2025, 3, 29, 23, 30), LONDON, days_ahead=1, margin_days=0)

    assert window.today == date(2025, 3, 29)
    assert window.place(date(2025, 3, 30)) == 1
    assert window.query_from == utc(2025, 3, 29)
    # The start of 31 March is 23:00 UTC in BST; a date written for it is midnight UTC.
    assert window.query_until == utc(2025, 3, 31)


def test_negative_day_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        joiner_window(utc(2025, 6, 10), LONDON, days_ahead=-1, margin_days=0)


# Placing a joiner


def _joiner(hired: datetime | None, text: str | None = None) -> Joiner:
    return Joiner(person("Emma Brooks", employee_hire_date=hired), hire_date_text=text)


@pytest.mark.parametrize(
    ("hired", "expected"),
    [
        (utc(2025, 6, 16), Placement(date(2025, 6, 16), 6)),
        (utc(2025, 6, 9, 22), Placement(date(2025, 6, 9), -1)),  # 23:00 BST on the 9th
        (utc(2025, 6, 8), Placement(date(2025, 6, 8), -2)),
        (utc(2025, 6, 7, 12), SkipReason.HIRE_DATE_PAST),
        (utc(2025, 6, 17, 23), None),  # the 18th in London: a later sweep's
    ],
)
def test_joiners_are_placed_or_skipped(hired: datetime, expected: object) -> None:
    window = joiner_window(utc(2025, 6, 10, 7), LONDON, days_ahead=7, margin_days=2)

    assert place_joiner(_joiner(hired), window) == expected


def test_missing_and_unreadable_hire_dates_are_told_apart() -> None:
    window = joiner_window(utc(2025, 6, 10, 7), LONDON, days_ahead=7, margin_days=2)

    assert place_joiner(_joiner(None), window) is SkipReason.HIRE_DATE_MISSING
    assert place_joiner(_joiner(None, "16/06/2025"), window) is SkipReason.HIRE_DATE_UNREADABLE
