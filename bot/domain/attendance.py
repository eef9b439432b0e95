"""Attendance accounting: sessions completed, catch-ups used, left and outstanding."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.domain.errors import Conflict, InvalidInput


class Outcome(enum.StrEnum):
    """One participant's outcome for one group session.

    The values follow the national case system's contact outcome codes where one exists,
    so records can be exported later.
    """

    ATTENDED = "ATTC"  # attended and complied
    FAILED_TO_COMPLY = "AFTC"  # attended but late, not clear-headed, sent home...
    ABSENT = "ABSENT"  # absent, the Offender Manager has not decided yet
    ABSENT_ACCEPTABLE = "AACC"  # absent, the Offender Manager agreed the reason
    ABSENT_UNACCEPTABLE = "UAAB"  # absent without an acceptable reason

    @property
    def description(self) -> str:
        """For staff: what the outcome means, in words."""
        return _DESCRIPTIONS[self]

    @property
    def completes_session(self) -> bool:
        """Only attending and complying counts towards the programme."""
        return self is Outcome.ATTENDED

    @property
    def uses_catch_up(self) -> bool:
        """Every other outcome is a missed session that needs a catch-up."""
        return not self.completes_session


_DESCRIPTIONS = {
    Outcome.ATTENDED: "attended",
    Outcome.FAILED_TO_COMPLY: "attended but failed to comply",
    Outcome.ABSENT: "missed, not decided yet",
    Outcome.ABSENT_ACCEPTABLE: "missed with an acceptable reason",
    Outcome.ABSENT_UNACCEPTABLE: "missed without an acceptable reason",
}


@dataclass(frozen=True, slots=True)
class ProgrammeRules:
    """The profile's figures that attendance accounting depends on."""

    sessions_required: int
    max_catch_ups: int

    def __post_init__(self) -> None:
        if self.sessions_required < 1:
            raise InvalidInput("sessions_required must be at least 1.")
        if self.max_catch_ups < 0:
            raise InvalidInput("max_catch_ups must not be negative.")


@dataclass(frozen=True, slots=True)
class AttendanceSummary:
    """What a participant (or his Offender Manager) can ask about his attendance."""

    sessions_required: int
    sessions_completed: int
    sessions_attended: int
    sessions_missed: int
    catch_ups_completed: int
    max_catch_ups: int

    @property
    def catch_ups_used(self) -> int:
        """Each missed session uses one catch-up, whatever the reason."""
        return self.sessions_missed

    @property
    def catch_ups_left(self) -> int:
        return max(0, self.max_catch_ups - self.catch_ups_used)

    @property
    def catch_ups_outstanding(self) -> int:
        return self.sessions_missed - self.catch_ups_completed

    @property
    def restart_required(self) -> bool:
        """More misses than the programme allows means starting again (staff confirm it)."""
        return self.sessions_missed > self.max_catch_ups

    @property
    def may_attend_next_session(self) -> bool:
        """He may not join the next group session while a catch-up is outstanding."""
        return self.catch_ups_outstanding == 0 and not self.restart_required

    @property
    def all_sessions_completed(self) -> bool:
        return self.sessions_completed >= self.sessions_required


def summarise(
    rules: ProgrammeRules,
    outcomes: Mapping[int, Outcome],
    catch_ups_for: Iterable[int],
) -> AttendanceSummary:
    """Summarise outcomes by session number and the session numbers caught up.

    Raises `Conflict` if a catch-up is recorded for a session that was not missed, because
    such a record would inflate the completed count.
    """
    for number in outcomes:
        check_session_number(rules, number)
    caught_up = set(catch_ups_for)
    for number in caught_up:
        check_catch_up_allowed(outcomes, number)
    attended = sum(1 for o in outcomes.values() if o.completes_session)
    missed = sum(1 for o in outcomes.values() if o.uses_catch_up)
    return AttendanceSummary(
        sessions_required=rules.sessions_required,
        # Cannot exceed the requirement: catch-ups only exist for missed sessions.
        sessions_completed=min(rules.sessions_required, attended + len(caught_up)),
        sessions_attended=attended,
        sessions_missed=missed,
        catch_ups_completed=len(caught_up),
        max_catch_ups=rules.max_catch_ups,
    )


def check_session_number(rules: ProgrammeRules, number: int) -> None:
    """Session numbers run from 1 to the number of sessions required."""
    if not 1 <= number <= rules.sessions_required:
        raise InvalidInput(
            "Session number {number} is out of range: it must be from 1 to {most}.",
            number=number,
            most=rules.sessions_required,
        )


def check_catch_up_allowed(outcomes: Mapping[int, Outcome], number: int) -> None:
    """A catch-up can only make up a session that was recorded as missed."""
    outcome = outcomes.get(number)
    if outcome is None:
        raise Conflict(
            "Session {number} has no attendance recorded, so it cannot be caught up.", number=number
        )
    if not outcome.uses_catch_up:
        raise Conflict("Session {number} was attended, so it needs no catch-up.", number=number)
