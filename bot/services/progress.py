"""Reading a participant's attendance from the database into domain figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Result, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Attendance, CatchUp, Participant, ScheduledSession
from bot.domain.attendance import AttendanceSummary, Outcome, ProgrammeRules, summarise


async def load_summary(
    session: AsyncSession, rules: ProgrammeRules, participant_id: int
) -> AttendanceSummary:
    # One query for both: outcomes of his sessions, and the sessions he caught up (outcome
    # NULL), as this runs on every /progress and for every reminder.
    attended = (
        select(ScheduledSession.number, Attendance.outcome)
        .join(Attendance, Attendance.session_id == ScheduledSession.id)
        .where(Attendance.participant_id == participant_id)
    )
    caught = (
        select(ScheduledSession.number, null())
        .join(CatchUp, CatchUp.session_id == ScheduledSession.id)
        .where(CatchUp.participant_id == participant_id)
    )
    outcomes: dict[int, Outcome] = {}
    caught_up: list[int] = []
    result: Result[Any] = await session.execute(union_all(attended, caught))
    rows = cast("list[tuple[int, str | None]]", result.all())
    for number, outcome in rows:
        if outcome is None:
            caught_up.append(number)
        else:
            outcomes[number] = Outcome(outcome)
    return summarise(rules, outcomes, caught_up)


async def next_session(
    session: AsyncSession, participant: Participant, now: datetime
) -> ScheduledSession | None:
    """The first of his cohort's sessions that has not started yet."""
    result: ScheduledSession | None = await session.scalar(
        select(ScheduledSession)
        .where(
            ScheduledSession.cohort_id == participant.cohort_id,
            ScheduledSession.starts_at > now,
        )
        .order_by(ScheduledSession.starts_at)
        .limit(1)
    )
    return result
