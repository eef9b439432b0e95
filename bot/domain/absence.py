"""Absence reports: which sessions can be reported, reasons, decisions and sick-note dates."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain.attendance import Outcome
from bot.domain.errors import Conflict
from bot.domain.workdays import WorkingCalendar

# How far back a missed session can still be reported, and how many upcoming ones to offer.
REPORT_LOOKBACK = timedelta(days=14)
UPCOMING_OFFERED = 3


class Reason(enum.StrEnum):
    ILL = "ill"
    FAMILY_EMERGENCY = "family"
    WORK = "work"
    TRAVEL = "travel"
    OTHER = "other"

    @property
    def details_required(self) -> bool:
        """He may skip his own words only when he is ill (the sick note says the rest)."""
        return self is not Reason.ILL


class AbsenceStatus(enum.StrEnum):
    REPORTED = "reported"
    ACCEPTABLE = "acceptable"
    UNACCEPTABLE = "unacceptable"
    WITHDRAWN = "withdrawn"


class Decision(enum.StrEnum):
    ACCEPTABLE = "acceptable"
    UNACCEPTABLE = "unacceptable"

    @property
    def status(self) -> AbsenceStatus:
        return AbsenceStatus(self.value)

    @property
    def outcome(self) -> Outcome:
        """The attendance outcome the decision records; either way it uses a catch-up."""
        if self is Decision.ACCEPTABLE:
            return Outcome.ABSENT_ACCEPTABLE
        return Outcome.ABSENT_UNACCEPTABLE


@dataclass(frozen=True, slots=True)
class SessionSlot:
    session_id: int
    number: int
    starts_at: datetime


def reportable_sessions(
    sessions: Iterable[SessionSlot], already_reported: set[int], now: datetime
) -> list[SessionSlot]:
    """Sessions missed in the last 14 days, then the next few, minus those already reported."""
    ordered = sorted(sessions, key=lambda s: s.starts_at)
    recent = [s for s in ordered if in_report_window(s, now) and s.starts_at <= now]
    upcoming = [s for s in ordered if s.starts_at > now][:UPCOMING_OFFERED]
    return [s for s in recent + upcoming if s.session_id not in already_reported]


def in_report_window(slot: SessionSlot, now: datetime) -> bool:
    """Not longer ago than the lookback: recent enough to report, or to show as reported."""
    return slot.starts_at >= now - REPORT_LOOKBACK


def decide(status: AbsenceStatus, decision: Decision) -> AbsenceStatus:
    """Only the Offender Manager decides, and only once, on a report still open."""
    if status is not AbsenceStatus.REPORTED:
        # Translators: {status} stays in English: "acceptable", "unacceptable" or "withdrawn".
        raise Conflict(
            "This absence is already {status}; it cannot be decided again.", status=status.value
        )
    return decision.status


def self_certificate_due(session_day: date, calendar: WorkingCalendar, working_days: int) -> date:
    """The last day a sick note may reach the Offender Manager.

    Day 1 is the first working day after the missed session.
    """
    return calendar.deadline(session_day, working_days)
