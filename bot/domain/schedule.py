"""Scheduling a cohort's weekly group sessions in the area's local time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.errors import InvalidInput
from bot.domain.workdays import WorkingCalendar


@dataclass(frozen=True, slots=True)
class PlannedSession:
    number: int
    local_date: date
    starts_at_utc: datetime
    moved_from: date | None  # the weekly date it would have had, when a bank holiday moved it


def plan_weekly_sessions(
    first_session: date,
    start_time: time,
    count: int,
    calendar: WorkingCalendar,
    timezone: ZoneInfo,
) -> list[PlannedSession]:
    """Plan `count` sessions a week apart from `first_session`.

    A session that falls on a bank holiday (or weekend) moves to the next working day.
    Times are kept in local time per date, so a 6 pm session stays at 6 pm across the clock
    changes, and stored as UTC instants.
    """
    if count < 1:
        raise InvalidInput("A cohort needs at least one session.")
    planned: list[PlannedSession] = []
    for index in range(count):
        weekly = first_session + timedelta(weeks=index)
        actual = calendar.next_working_day_on_or_after(weekly)
        local = datetime.combine(actual, start_time, tzinfo=timezone)
        planned.append(
            PlannedSession(
                number=index + 1,
                local_date=actual,
                starts_at_utc=local.astimezone(UTC),
                moved_from=weekly if actual != weekly else None,
            )
        )
    return planned


def parse_iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput("{text!r} is not a date in the form YYYY-MM-DD.", text=text) from error


def parse_clock_time(text: str) -> time:
    try:
        parsed = datetime.strptime(text, "%H:%M")
    except ValueError as error:
        raise InvalidInput(
            "{text!r} is not a time in the form HH:MM (24-hour clock).", text=text
        ) from error
    return parsed.time()
