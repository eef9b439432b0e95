from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import EXAMPLE_PROFILE, load_profile
from bot.domain.errors import InvalidInput
from bot.domain.reminders import (
    ReminderPolicy,
    SessionReminder,
    SickNoteReminder,
    due_session_reminder,
    due_sick_note_reminder,
    session_reminder_times,
    sick_note_reminder_times,
)
from bot.domain.workdays import WorkingCalendar

LONDON = ZoneInfo("Europe/London")
ENGLAND = WorkingCalendar("GB", "ENG")
# The package itself, independent of WorkingCalendar, to compute expected working days.
ENGLAND_HOLIDAYS = holidays.country_holidays("GB", subdiv="ENG")
PROFILE_POLICY = load_profile(EXAMPLE_PROFILE).reminder_policy
CUSTOM_POLICY = ReminderPolicy(
    evening_time=time(19, 30),
    before=timedelta(hours=3),
    sick_note_working_days_before=3,
    sick_note_time=time(9, 15),
)
POLICIES = [
    pytest.param(PROFILE_POLICY, id="profile"),
    pytest.param(CUSTOM_POLICY, id="explicit"),
]
BOTH = frozenset(SessionReminder)


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in ENGLAND_HOLIDAYS


def _walk_back(day: date, n: int) -> date:
    """The nth working day before `day`, counted with the holidays package directly."""
    while n:
        day -= timedelta(days=1)
        if _is_working_day(day):
            n -= 1
    return day


# --- the profile's values --------------------------------------------------------------------


def test_example_profile_policy_has_the_documented_values() -> None:
    policy = load_profile(EXAMPLE_PROFILE).reminder_policy
    assert policy == ReminderPolicy(
        evening_time=time(18, 0),
        before=timedelta(hours=2),
        sick_note_working_days_before=2,
        sick_note_time=time(10, 0),
    )


# --- session reminder times across the clock changes ----------------------------------------


@pytest.mark.parametrize(
    ("start", "evening_utc"),
    [
        # Clocks go forward at 01:00 UTC on Sunday 29 March 2026: Saturday is still GMT.
        (local(2026, 3, 29, 10), utc(2026, 3, 28, 18)),
        # Monday after: Sunday evening is BST.
        (local(2026, 3, 30, 10), utc(2026, 3, 29, 17)),
        # Clocks go back at 01:00 UTC on Sunday 25 October 2026: Saturday is still BST.
        (local(2026, 10, 25, 10), utc(2026, 10, 24, 17)),
        # Monday after: Sunday evening is GMT.
        (local(2026, 10, 26, 10), utc(2026, 10, 25, 18)),
    ],
)
def test_evening_reminder_is_at_six_local_the_day_before_across_clock_changes(
    start: datetime, evening_utc: datetime
) -> None:
    times = session_reminder_times(start.astimezone(UTC), LONDON, PROFILE_POLICY)
    evening = times[SessionReminder.EVENING]
    assert evening == evening_utc
    assert evening.astimezone(LONDON).time() == time(18, 0)
    assert evening.astimezone(LONDON).date() == start.date() - timedelta(days=1)
    assert times[SessionReminder.BEFORE] == start - timedelta(hours=2)
    assert times[SessionReminder.BEFORE].astimezone(LONDON).time() == time(8, 0)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(
    "start",
    [
        local(2026, 3, 29, 10),
        local(2026, 3, 30, 10),
        local(2026, 10, 25, 10),
        local(2026, 10, 26, 10),
        # Starts shortly after each change, so "before" reaches back across it.
        utc(2026, 3, 29, 2),
        utc(2026, 10, 25, 2),
    ],
)
def test_before_reminder_is_exactly_the_policy_interval_before_the_start_instant(
    start: datetime, policy: ReminderPolicy
) -> None:
    times = session_reminder_times(start.astimezone(UTC), LONDON, policy)
    assert times[SessionReminder.BEFORE].astimezone(UTC) == start.astimezone(UTC) - policy.before
    evening = times[SessionReminder.EVENING].astimezone(LONDON)
    assert evening.time() == policy.evening_time
    assert evening.date() == start.astimezone(LONDON).date() - timedelta(days=1)


@pytest.mark.parametrize("start", [utc(2026, 3, 29, 2), utc(2026, 10, 25, 2, 30)])
def test_before_reminder_is_an_instant_even_when_the_start_is_given_in_local_time(
    start: datetime,
) -> None:
    times = session_reminder_times(start.astimezone(LONDON), LONDON, PROFILE_POLICY)
    assert times[SessionReminder.BEFORE].astimezone(UTC) == start - timedelta(hours=2)


# --- which session reminder is due -----------------------------------------------------------

# Thursday 3 December 2026, 18:00 GMT.
START = local(2026, 12, 3, 18).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(2026, 12, 1, 18), None),  # two days before
        (local(2026, 12, 2, 17, 59), None),
        (local(2026, 12, 2, 18), SessionReminder.EVENING),
        (local(2026, 12, 2, 23, 59), SessionReminder.EVENING),
        # On the day itself "tomorrow" would be wrong: no evening reminder any more.
        (local(2026, 12, 3, 0, 0), None),
        (local(2026, 12, 3, 15, 59), None),
        (local(2026, 12, 3, 16), SessionReminder.BEFORE),
        (local(2026, 12, 3, 17, 59), SessionReminder.BEFORE),
        (local(2026, 12, 3, 18), None),  # at the start
        (local(2026, 12, 3, 19), None),
        (local(2026, 12, 5, 12), None),
    ],
)
def test_due_session_reminder_through_the_day_before_and_the_day(
    now: datetime, expected: SessionReminder | None
) -> None:
    assert due_session_reminder(START, now.astimezone(UTC), LONDON, PROFILE_POLICY, BOTH) == (
        expected
    )


def test_due_session_reminder_with_an_explicit_policy() -> None:
    def due(now: datetime) -> SessionReminder | None:
        return due_session_reminder(START, now, LONDON, CUSTOM_POLICY, BOTH)

    assert due(local(2026, 12, 2, 19, 29)) is None
    assert due(local(2026, 12, 2, 19, 30)) is SessionReminder.EVENING
    assert due(local(2026, 12, 2, 23, 59)) is SessionReminder.EVENING
    assert due(local(2026, 12, 3, 14, 59)) is None
    assert due(local(2026, 12, 3, 15)) is SessionReminder.BEFORE


def test_only_wanted_reminders_count() -> None:
    after_before_point = local(2026, 12, 3, 17).astimezone(UTC)
    late_evening = local(2026, 12, 2, 23).astimezone(UTC)
    evening_only = frozenset({SessionReminder.EVENING})
    before_only = frozenset({SessionReminder.BEFORE})
    assert (
        due_session_reminder(START, late_evening, LONDON, PROFILE_POLICY, evening_only)
        is SessionReminder.EVENING
    )
    assert (
        due_session_reminder(START, after_before_point, LONDON, PROFILE_POLICY, evening_only)
        is None
    )
    assert (
        due_session_reminder(START, after_before_point, LONDON, PROFILE_POLICY, frozenset()) is None
    )
    the_evening = local(2026, 12, 2, 20).astimezone(UTC)
    assert due_session_reminder(START, the_evening, LONDON, PROFILE_POLICY, before_only) is None
    assert (
        due_session_reminder(START, after_before_point, LONDON, PROFILE_POLICY, before_only)
        is SessionReminder.BEFORE
    )


def test_reminders_stop_at_the_start_across_the_october_change() -> None:
    # 10:00 GMT on Sunday 25 October 2026; the evening before was 18:00 BST (17:00 UTC).
    start = local(2026, 10, 25, 10).astimezone(UTC)

    def due(now: datetime) -> SessionReminder | None:
        return due_session_reminder(start, now, LONDON, PROFILE_POLICY, BOTH)

    assert due(utc(2026, 10, 24, 16, 59)) is None
    assert due(utc(2026, 10, 24, 17)) is SessionReminder.EVENING
    assert due(utc(2026, 10, 24, 22, 59)) is SessionReminder.EVENING  # 23:59 BST
    assert due(utc(2026, 10, 25, 7, 59)) is None
    assert due(utc(2026, 10, 25, 8)) is SessionReminder.BEFORE
    assert due(utc(2026, 10, 25, 10)) is None


session_starts = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31, 23, 59), timezones=st.just(UTC)
)
offsets = st.timedeltas(min_value=timedelta(hours=-6), max_value=timedelta(days=3))
wanted_sets = st.frozensets(st.sampled_from(SessionReminder))
policies = st.sampled_from([PROFILE_POLICY, CUSTOM_POLICY])


@given(session_starts, offsets, wanted_sets, policies)
def test_a_due_session_reminder_is_wanted_passed_and_before_the_start(
    start: datetime,
    offset: timedelta,
    wanted: frozenset[SessionReminder],
    policy: ReminderPolicy,
) -> None:
    now = start - offset
    kind = due_session_reminder(start, now, LONDON, policy, wanted)
    times = session_reminder_times(start, LONDON, policy)
    passed = {k for k in wanted if times[k] <= now}
    if now.astimezone(LONDON).date() >= start.astimezone(LONDON).date():
        passed.discard(SessionReminder.EVENING)  # never "tomorrow" on the day itself
        assert kind is not SessionReminder.EVENING
    if kind is None:
        assert now >= start or not passed
    else:
        assert kind in wanted
        assert times[kind] <= now < start
        # The latest of those passed: a scheduler that was down sends one, not a burst.
        assert all(times[other] <= times[kind] for other in passed)


@given(
    st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)),
    st.times(min_value=time(6, 0), max_value=time(23, 0)),
    policies,
)
def test_session_reminder_times_keep_local_clock_and_exact_interval(
    day: date, clock: time, policy: ReminderPolicy
) -> None:
    start_local = datetime.combine(day, clock, tzinfo=LONDON)
    start = start_local.astimezone(UTC)
    times = session_reminder_times(start, LONDON, policy)
    evening = times[SessionReminder.EVENING].astimezone(LONDON)
    assert (evening.date(), evening.time()) == (day - timedelta(days=1), policy.evening_time)
    assert start - times[SessionReminder.BEFORE] == policy.before


# --- sick-note reminders ---------------------------------------------------------------------


def test_working_days_before_skips_weekends() -> None:
    # Thursday 10 December 2026, two working days back is Tuesday; from Monday it is Thursday.
    assert ENGLAND.working_days_before(date(2026, 12, 10), 2) == date(2026, 12, 8)
    assert ENGLAND.working_days_before(date(2026, 12, 14), 2) == date(2026, 12, 10)
    assert ENGLAND.working_days_before(date(2026, 12, 14), 1) == date(2026, 12, 11)


@pytest.mark.parametrize(
    "due",
    [
        date(2027, 1, 4),  # back across New Year's Day (and the Christmas bank holidays)
        date(2027, 3, 30),  # back across Easter Monday and Good Friday
        date(2026, 5, 26),  # back across the Spring bank holiday
    ],
)
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_working_days_before_skips_bank_holidays(due: date, n: int) -> None:
    early = ENGLAND.working_days_before(due, n)
    assert early == _walk_back(due, n)
    assert _is_working_day(early)
    skipped = [early + timedelta(days=i) for i in range(1, (due - early).days)]
    # Each case does reach back over at least one bank holiday on a weekday.
    assert any(d in ENGLAND_HOLIDAYS and d.weekday() < 5 for d in skipped)
    assert sum(1 for d in skipped if _is_working_day(d)) == n - 1


def test_early_sick_note_reminder_skips_the_christmas_bank_holidays() -> None:
    due = ENGLAND.deadline(date(2026, 12, 24), 5)  # the sick note for a Christmas Eve session
    times = sick_note_reminder_times(due, ENGLAND, LONDON, PROFILE_POLICY)
    early = times[SickNoteReminder.EARLY].astimezone(LONDON)
    assert early.date() == _walk_back(due, 2)
    assert early.date() < date(2027, 1, 1) < due  # New Year's Day is not counted
    assert early.time() == time(10, 0)
    last = times[SickNoteReminder.LAST_DAY].astimezone(LONDON)
    assert (last.date(), last.time()) == (due, time(10, 0))


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("due", [date(2026, 12, 10), date(2027, 7, 15), date(2026, 10, 26)])
def test_sick_note_reminder_times_are_local(due: date, policy: ReminderPolicy) -> None:
    times = sick_note_reminder_times(due, ENGLAND, LONDON, policy)
    early = times[SickNoteReminder.EARLY]
    last = times[SickNoteReminder.LAST_DAY]
    early_day = _walk_back(due, policy.sick_note_working_days_before)
    assert early == datetime.combine(early_day, policy.sick_note_time, tzinfo=LONDON)
    assert last == datetime.combine(due, policy.sick_note_time, tzinfo=LONDON)
    assert early.astimezone(LONDON).time() == policy.sick_note_time
    assert last.astimezone(LONDON).time() == policy.sick_note_time


def test_summer_sick_note_reminders_are_at_ten_bst() -> None:
    # Thursday 15 July 2027; two working days before is Tuesday 13 July.
    times = sick_note_reminder_times(date(2027, 7, 15), ENGLAND, LONDON, PROFILE_POLICY)
    assert times[SickNoteReminder.EARLY].astimezone(UTC) == utc(2027, 7, 13, 9)
    assert times[SickNoteReminder.LAST_DAY].astimezone(UTC) == utc(2027, 7, 15, 9)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2027, 7, 12, 12), None),
        (utc(2027, 7, 13, 8, 59), None),  # 09:59 BST
        (utc(2027, 7, 13, 9), SickNoteReminder.EARLY),  # 10:00 BST, two working days before
        (utc(2027, 7, 15, 8, 59), SickNoteReminder.EARLY),
        (utc(2027, 7, 15, 9), SickNoteReminder.LAST_DAY),
        (utc(2027, 7, 15, 22, 59), SickNoteReminder.LAST_DAY),  # 23:59 BST
        (utc(2027, 7, 15, 23), None),  # midnight BST: the last day is over
        (utc(2027, 7, 20, 9), None),
    ],
)
def test_due_sick_note_reminder_in_summer(now: datetime, expected: SickNoteReminder | None) -> None:
    assert due_sick_note_reminder(date(2027, 7, 15), now, ENGLAND, LONDON, PROFILE_POLICY) == (
        expected
    )


def test_due_sick_note_reminder_in_winter_runs_to_midnight_gmt() -> None:
    due = date(2026, 12, 10)  # Thursday; two working days before is Tuesday 8 December

    def reminder(now: datetime) -> SickNoteReminder | None:
        return due_sick_note_reminder(due, now, ENGLAND, LONDON, PROFILE_POLICY)

    assert reminder(utc(2026, 12, 8, 9, 59)) is None
    assert reminder(utc(2026, 12, 8, 10)) is SickNoteReminder.EARLY
    assert reminder(utc(2026, 12, 10, 10)) is SickNoteReminder.LAST_DAY
    assert reminder(utc(2026, 12, 10, 23, 59)) is SickNoteReminder.LAST_DAY
    assert reminder(utc(2026, 12, 11, 0)) is None


def test_due_sick_note_reminder_with_an_explicit_policy() -> None:
    due = date(2026, 12, 10)  # three working days before is Monday 7 December

    def reminder(now: datetime) -> SickNoteReminder | None:
        return due_sick_note_reminder(due, now, ENGLAND, LONDON, CUSTOM_POLICY)

    assert reminder(local(2026, 12, 4, 12)) is None
    assert reminder(local(2026, 12, 7, 9, 14)) is None
    assert reminder(local(2026, 12, 7, 9, 15)) is SickNoteReminder.EARLY
    assert reminder(local(2026, 12, 10, 9, 15)) is SickNoteReminder.LAST_DAY
    assert reminder(local(2026, 12, 11, 9, 15)) is None


session_days = st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31))


@given(session_days, st.integers(min_value=1, max_value=10))
def test_early_reminder_day_is_n_working_days_before_a_due_date(session_day: date, n: int) -> None:
    due = ENGLAND.deadline(session_day, 5)  # a real due date is always a working day
    early = ENGLAND.working_days_before(due, n)
    assert ENGLAND.is_working_day(early)
    assert _is_working_day(early)
    assert early < due
    assert ENGLAND.working_days_between(early, due) == n
    assert early == _walk_back(due, n)


@given(session_days, st.integers(min_value=1, max_value=10))
def test_working_days_before_any_day_leaves_n_working_days_before_it(day: date, n: int) -> None:
    early = ENGLAND.working_days_before(day, n)
    assert ENGLAND.is_working_day(early)
    assert early < day
    between = [early + timedelta(days=i) for i in range((day - early).days)]
    assert sum(1 for d in between if _is_working_day(d)) == n


@given(session_days, offsets)
def test_due_sick_note_reminder_matches_its_times(session_day: date, offset: timedelta) -> None:
    due = ENGLAND.deadline(session_day, 5)
    last = datetime.combine(due, time(10), tzinfo=LONDON)
    now = (last - offset).astimezone(UTC)
    kind = due_sick_note_reminder(due, now, ENGLAND, LONDON, PROFILE_POLICY)
    times = sick_note_reminder_times(due, ENGLAND, LONDON, PROFILE_POLICY)
    if now.astimezone(LONDON).date() > due:
        assert kind is None
    elif now >= times[SickNoteReminder.LAST_DAY]:
        assert kind is SickNoteReminder.LAST_DAY
    elif now >= times[SickNoteReminder.EARLY]:
        assert kind is SickNoteReminder.EARLY
    else:
        assert kind is None


def test_counting_back_needs_at_least_one_working_day() -> None:
    with pytest.raises(InvalidInput):
        ENGLAND.working_days_before(date(2026, 12, 26), 0)
