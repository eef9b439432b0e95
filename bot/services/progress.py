"""Reading a participant's attendance from the database into domain figures."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Result, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Attendance, CatchUp, Participant, ScheduledSession
from bot.domain.attendance import AttendanceSummary, Outcome, ProgrammeRules, summarise


async def load_summary(
    session: AsyncSession, rules: ProgrammeRules, participant_id: int
) -> AttendanceSummary:
    return (await load_summaries(session, rules, [participant_id]))[participant_id]


async def load_summaries(
    session: AsyncSession, rules: ProgrammeRules, participant_ids: Collection[int]
) -> dict[int, AttendanceSummary]:
    """Each man's attendance summary, in one query however many (a reminder pass asks for
    hundreds at a time)."""
    # One query for both: outcomes of his sessions, and the sessions he caught up (outcome
    # NULL), as this runs on every /progress and for every reminder.
    attended = (
        select(Attendance.participant_id, ScheduledSession.number, Attendance.outcome)
        .join(Attendance, Attendance.session_id == ScheduledSession.id)
        .where(Attendance.participant_id.in_(participant_ids))
    )
    caught = (
        select(CatchUp.participant_id, ScheduledSession.number, null())
        .join(CatchUp, CatchUp.session_id == ScheduledSession.id)
        .where(CatchUp.participant_id.in_(participant_ids))
    )
    outcomes: dict[int, dict[int, Outcome]] = {pid: {} for pid in participant_ids}
    caught_up: dict[int, list[int]] = {pid: [] for pid in participant_ids}
    result: Result[Any] = await session.execute(union_all(attended, caught))
    rows = cast("list[tuple[int, int, str | None]]", result.all())
    for participant_id, number, outcome in rows:
        if outcome is None:
            caught_up[participant_id].append(number)
        else:
            outcomes[participant_id][number] = Outcome(outcome)
    return {pid: summarise(rules, outcomes[pid], caught_up[pid]) for pid in participant_ids}


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
