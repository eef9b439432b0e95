"""Reading a participant's attendance from the database into domain figures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Attendance, CatchUp, Participant, ScheduledSession
from bot.domain.attendance import AttendanceSummary, Outcome, ProgrammeRules, summarise


async def load_summary(
    session: AsyncSession, rules: ProgrammeRules, participant_id: int
) -> AttendanceSummary:
    rows = await session.execute(
        select(ScheduledSession.number, Attendance.outcome)
        .join(Attendance, Attendance.session_id == ScheduledSession.id)
        .where(Attendance.participant_id == participant_id)
    )
    outcomes: dict[int, Outcome] = {number: outcome for number, outcome in rows}
    caught_up = await session.scalars(
        select(ScheduledSession.number)
        .join(CatchUp, CatchUp.session_id == ScheduledSession.id)
        .where(CatchUp.participant_id == participant_id)
    )
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
