"""Parsing helpers: Graph's times, Retry-After forms, safe error text, backoff bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.graph.errors import backoff_delay, parse_retry_after, safe_text
from bot.graph.parse import (
    InvalidResponse,
    directory_user,
    joiner,
    odata_datetime,
    utc_datetime,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-06-06T16:43:04.6438213Z", datetime(2022, 6, 6, 16, 43, 4, 643821, tzinfo=UTC)),
        ("2014-01-01T00:00:00Z", datetime(2014, 1, 1, tzinfo=UTC)),
        ("2021-04-01T17:02:01", datetime(2021, 4, 1, 17, 2, 1, tzinfo=UTC)),
        ("2024-06-01T11:00:00+02:00", datetime(2024, 6, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_graph_times_become_aware_utc(text: str, expected: datetime) -> None:
    parsed = utc_datetime(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("bad", [None, "", "yesterday", 17])
def test_unreadable_times_are_invalid_responses(bad: object) -> None:
    with pytest.raises(InvalidResponse):
        utc_datetime(bad)


def test_odata_literals_are_utc_and_refuse_naive_times() -> None:
    paris = timezone(timedelta(hours=2))
    assert odata_datetime(datetime(2024, 6, 17, 0, 0, tzinfo=paris)) == "2024-06-16T22:00:00Z"
    with pytest.raises(ValueError, match="naive"):
        odata_datetime(datetime(2024, 6, 17))  # noqa: DTZ001  # the case under test


def test_a_user_without_id_is_invalid_and_nulls_are_tolerated() -> None:
    with pytest.raises(InvalidResponse):
        directory_user({"displayName": "No Id"})
    sparse = directory_user({"id": "u1", "otherMails": None, "accountEnabled": None, "mail": None})
    assert (sparse.account_enabled, sparse.other_mails, sparse.mail) == (True, (), None)
    assert not directory_user({"id": "u2", "accountEnabled": False}).account_enabled


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        ("2025-06-06T09:12:44Z", datetime(2025, 6, 6, 9, 12, 44, tzinfo=UTC)),
        ("2025-06-06T11:12:44+02:00", datetime(2025, 6, 6, 9, 12, 44, tzinfo=UTC)),
        (None, None),
        ("", None),
        ("last Tuesday", None),
        (1749201164, None),
    ],
)
def test_a_joiners_creation_time_is_read_and_anything_else_is_unknown(
    created: object, expected: datetime | None
) -> None:
    """An unreadable createdDateTime costs nothing but the automatic pass: the joiner is still
    listed, with the rest of what Graph said."""
    item = {"id": "u1", "employeeHireDate": "2025-06-16T00:00:00Z", "createdDateTime": created}

    found = joiner(item)

    assert found.created_at == expected
    assert found.user.employee_hire_date == datetime(2025, 6, 16, tzinfo=UTC)
    assert joiner({"id": "u2"}).created_at is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, None), ("", None), ("soon", None), ("nan", None), ("7", 7.0), ("-3", 0.0)],
)
def test_retry_after_forms(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2024, 6, 1, 9, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Sat, 01 Jun 2024 09:00:12 GMT", now=now) == 12.0


def test_safe_text_drops_tokens_and_long_tails() -> None:
    text = "Bearer abc.def.ghi refused\nand eyJhbGciOiJSUzI1.eyJzdWIiOiIxMjM0.sig more " + "x" * 400
    cleaned = safe_text(text)
    assert "abc.def.ghi" not in cleaned
    assert "eyJ" not in cleaned
    assert "\n" not in cleaned
    assert len(cleaned) == 300


@given(
    attempt=st.integers(0, 40),
    base=st.floats(0.01, 5),
    cap=st.floats(0.1, 60),
    r=st.floats(0, 0.999),
)
def test_backoff_stays_within_half_and_all_of_its_ceiling(
    attempt: int, base: float, cap: float, r: float
) -> None:
    ceiling = min(cap, base * 2.0**attempt)
    delay = backoff_delay(attempt, base=base, cap=cap, random=r)
    assert ceiling / 2 <= delay <= ceiling
