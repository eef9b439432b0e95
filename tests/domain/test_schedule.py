from datetime import date, time
from zoneinfo import ZoneInfo

from bot.domain.schedule import plan_weekly_sessions
from bot.domain.workdays import WorkingCalendar

LONDON = ZoneInfo("Europe/London")
ENGLAND = WorkingCalendar("GB", "ENG")


def test_monday_bank_holiday_moves_the_session_to_tuesday() -> None:
    # Monday 25 May 2026 is the spring bank holiday.
    sessions = plan_weekly_sessions(date(2026, 5, 18), time(18), 3, ENGLAND, LONDON)
    assert [s.local_date for s in sessions] == [
        date(2026, 5, 18),
        date(2026, 5, 26),
        date(2026, 6, 1),
    ]
    assert sessions[1].moved_from == date(2026, 5, 25)
    assert sessions[0].moved_from is None


def test_local_start_time_is_kept_across_the_october_clock_change() -> None:
    # Clocks go back on 25 October 2026: 18:00 is 17:00 UTC before and 18:00 UTC after.
    sessions = plan_weekly_sessions(date(2026, 10, 22), time(18), 2, ENGLAND, LONDON)
    assert [s.starts_at_utc.hour for s in sessions] == [17, 18]
    assert all(s.starts_at_utc.astimezone(LONDON).hour == 18 for s in sessions)


def test_session_numbers_run_from_one() -> None:
    sessions = plan_weekly_sessions(date(2026, 1, 8), time(10, 30), 35, ENGLAND, LONDON)
    assert [s.number for s in sessions] == list(range(1, 36))
