from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.absence import (
    AbsenceStatus,
    Decision,
    SessionSlot,
    decide,
    reportable_sessions,
    self_certificate_due,
)
from bot.domain.errors import Conflict
from bot.domain.workdays import WorkingCalendar

NOW = datetime(2026, 12, 20, 12, tzinfo=UTC)
WEEKLY = [
    SessionSlot(n, n, datetime(2026, 11, 5, 18, tzinfo=UTC) + timedelta(weeks=n - 1))
    for n in range(1, 36)
]
ENGLAND = WorkingCalendar("GB", "ENG")


def test_offers_misses_from_the_last_two_weeks_then_the_next_three() -> None:
    offered = reportable_sessions(WEEKLY, set(), NOW)
    assert [s.number for s in offered] == [6, 7, 8, 9, 10]


def test_already_reported_sessions_are_not_offered() -> None:
    offered = reportable_sessions(WEEKLY, {7, 8}, NOW)
    assert [s.number for s in offered] == [6, 9, 10]


def test_a_decision_is_made_once() -> None:
    assert decide(AbsenceStatus.REPORTED, Decision.ACCEPTABLE) is AbsenceStatus.ACCEPTABLE
    with pytest.raises(Conflict):
        decide(AbsenceStatus.ACCEPTABLE, Decision.UNACCEPTABLE)


def test_either_decision_uses_a_catch_up() -> None:
    assert all(d.outcome.uses_catch_up for d in Decision)


def test_sick_note_for_a_session_before_christmas_is_due_after_the_bank_holidays() -> None:
    holidays = [d for d in (date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1))]
    assert all(ENGLAND.is_bank_holiday(d) for d in holidays)
    assert self_certificate_due(date(2026, 12, 24), ENGLAND, 5) == date(2027, 1, 5)


@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31)))
def test_sick_note_is_due_on_the_fifth_working_day_after_the_session(day: date) -> None:
    due = self_certificate_due(day, ENGLAND, 5)
    assert ENGLAND.is_working_day(due)
    assert ENGLAND.working_days_between(day, due) == 5


@given(st.sets(st.integers(min_value=1, max_value=35)), st.integers(min_value=0, max_value=300))
def test_offered_sessions_are_never_reported_ones_nor_far_away(
    reported: set[int], days: int
) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=days)
    offered = reportable_sessions(WEEKLY, reported, now)
    assert not {s.session_id for s in offered} & reported
    assert all(s.starts_at >= now - timedelta(days=14) for s in offered)
    assert sum(1 for s in offered if s.starts_at > now) <= 3
