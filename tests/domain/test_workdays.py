from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.errors import InvalidInput
from bot.domain.workdays import WorkingCalendar

ENGLAND = WorkingCalendar("GB", "ENG")
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31))


def test_five_working_days_after_a_plain_thursday_is_the_next_thursday() -> None:
    assert ENGLAND.deadline(date(2026, 11, 19), 5) == date(2026, 11, 26)


def test_christmas_bank_holidays_push_the_deadline_into_january() -> None:
    # 25 Dec (Fri), 28 Dec (Boxing Day substitute) and 1 Jan are bank holidays in 2026-27.
    assert ENGLAND.deadline(date(2026, 12, 24), 5) == date(2027, 1, 5)


def test_easter_monday_is_a_bank_holiday_in_england_and_wales() -> None:
    assert ENGLAND.is_bank_holiday(date(2027, 3, 29))
    assert WorkingCalendar("GB", "WLS").is_bank_holiday(date(2027, 3, 29))


def test_scotland_has_a_different_calendar() -> None:
    # 2 January is a bank holiday in Scotland only.
    scotland = WorkingCalendar("GB", "SCT")
    assert scotland.is_bank_holiday(date(2026, 1, 2))
    assert not ENGLAND.is_bank_holiday(date(2026, 1, 2))


def test_unknown_subdivision_is_refused_with_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match="ENG"):
        WorkingCalendar("GB", "XYZ")


def test_a_deadline_needs_at_least_one_day() -> None:
    with pytest.raises(InvalidInput):
        ENGLAND.deadline(date(2026, 11, 19), 0)


@given(days, st.integers(min_value=1, max_value=40))
def test_deadline_is_a_working_day_with_exactly_n_working_days_up_to_it(
    start: date, n: int
) -> None:
    due = ENGLAND.deadline(start, n)
    assert due.weekday() < 5
    assert not ENGLAND.is_bank_holiday(due)
    counted = sum(
        1
        for offset in range(1, (due - start).days + 1)
        if ENGLAND.is_working_day(start + timedelta(days=offset))
    )
    assert counted == n
    assert ENGLAND.working_days_between(start, due) == n


@given(days, days)
def test_working_days_between_is_antisymmetric(a: date, b: date) -> None:
    assert ENGLAND.working_days_between(a, b) == -ENGLAND.working_days_between(b, a)


@given(days)
def test_next_working_day_is_the_first_on_or_after(day: date) -> None:
    found = ENGLAND.next_working_day_on_or_after(day)
    assert ENGLAND.is_working_day(found)
    assert all(
        not ENGLAND.is_working_day(day + timedelta(days=i)) for i in range((found - day).days)
    )
