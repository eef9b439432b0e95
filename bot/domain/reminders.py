"""When reminders are due: before each session, and before a sick note's last day.

Times are worked out in the area's local time ("the evening before" stays 18:00 across the
clock changes) and compared as instants. Each reminder is identified by a key, so the
scheduler can record that it went out and never send it twice.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.workdays import WorkingCalendar


class SessionReminder(enum.StrEnum):
    EVENING = "evening"  # the evening before, at the profile's time
    BEFORE = "before"  # a set time before the start (two hours by default)


class SickNoteReminder(enum.StrEnum):
    EARLY = "early"  # a few working days before the last day
    LAST_DAY = "last_day"


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    evening_time: time
    before: timedelta
    sick_note_working_days_before: int
    sick_note_time: time


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def session_reminder_times(
    starts_at: datetime, zone: ZoneInfo, policy: ReminderPolicy
) -> dict[SessionReminder, datetime]:
    local_day = starts_at.astimezone(zone).date()
    return {
        SessionReminder.EVENING: _at(local_day - timedelta(days=1), policy.evening_time, zone),
        # In UTC: subtracting within a local zone would ignore a clock change in between.
        SessionReminder.BEFORE: starts_at.astimezone(UTC) - policy.before,
    }


def due_session_reminder(
    starts_at: datetime,
    now: datetime,
    zone: ZoneInfo,
    policy: ReminderPolicy,
    wanted: frozenset[SessionReminder],
) -> SessionReminder | None:
    """The reminder to send now: the latest wanted one whose time has come, before the start.

    Only the latest counts, so a scheduler that was down sends one reminder, not a burst.
    """
    # Instants compared in UTC: comparing two times in one local zone ignores the fold.
    now, starts_at = now.astimezone(UTC), starts_at.astimezone(UTC)
    if now >= starts_at:
        return None
    times = session_reminder_times(starts_at, zone, policy)
    if now.astimezone(zone).date() >= starts_at.astimezone(zone).date():
        # "Tomorrow" would be wrong on the day itself (a late link, a same-day booking).
        wanted = wanted - {SessionReminder.EVENING}
    due = [kind for kind in wanted if times[kind] <= now]
    return max(due, key=times.__getitem__) if due else None


def sick_note_reminder_times(
    due: date, calendar: WorkingCalendar, zone: ZoneInfo, policy: ReminderPolicy
) -> dict[SickNoteReminder, datetime]:
    early_day = calendar.working_days_before(due, policy.sick_note_working_days_before)
    return {
        SickNoteReminder.EARLY: _at(early_day, policy.sick_note_time, zone),
        SickNoteReminder.LAST_DAY: _at(due, policy.sick_note_time, zone),
    }


def due_sick_note_reminder(
    due: date,
    now: datetime,
    calendar: WorkingCalendar,
    zone: ZoneInfo,
    policy: ReminderPolicy,
) -> SickNoteReminder | None:
    """The sick-note reminder to send now, up to the end of the last day."""
    if now.astimezone(zone).date() > due:
        return None
    times = sick_note_reminder_times(due, calendar, zone, policy)
    passed = [kind for kind, at in times.items() if at <= now.astimezone(UTC)]
    return max(passed, key=times.__getitem__) if passed else None
