"""Housekeeping: delete what is only kept for a while (run by the scheduler).

- handled updates (only their ids are left): Telegram redelivers an update for at most a
  day, so a week is ample;
- dashboard sessions once ended or timed out, including the anonymous ones a sign-in page
  opens for its CSRF token;
- sign-in attempts, once older than the throttling window needs (kept a week for audit
  questions; the audit log itself is kept).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_

from bot.db.models import InboundUpdate, SignInAttempt, WebSession
from bot.services.context import ServiceContext
from bot.services.staff_auth import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT

KEEP_UPDATE_IDS = timedelta(days=7)
KEEP_SIGN_IN_ATTEMPTS = timedelta(days=7)


async def prune(ctx: ServiceContext) -> int:
    """Delete expired rows; returns how many went."""
    now = ctx.now()
    async with ctx.uow() as session:
        removed = 0
        for statement in (
            delete(InboundUpdate).where(InboundUpdate.processed_at < now - KEEP_UPDATE_IDS),
            delete(SignInAttempt).where(SignInAttempt.at < now - KEEP_SIGN_IN_ATTEMPTS),
            delete(WebSession).where(
                or_(
                    WebSession.ended_at.is_not(None),
                    WebSession.last_seen_at < now - IDLE_TIMEOUT,
                    WebSession.created_at < now - ABSOLUTE_TIMEOUT,
                )
            ),
        ):
            result = await session.execute(statement)
            removed += result.rowcount or 0  # type: ignore[attr-defined]
        await session.commit()
    return removed
