"""Reading the audit log (admins only): newest first, filtered, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.db.models import AuditEntry
from bot.domain.errors import NotFound
from bot.domain.roles import Role
from bot.services.context import ServiceContext, audit
from bot.services.notices import staff_by_email

PAGE = 50


@dataclass(frozen=True, slots=True)
class AuditView:
    id: int
    at: datetime  # local time
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any] | None


async def read(
    ctx: ServiceContext,
    viewer_email: str,
    *,
    actor: str = "",
    action: str = "",
    subject: str = "",
    before: int | None = None,
) -> list[AuditView]:
    """One page, newest first; `before` is the last id of the previous page (keyset)."""
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        if viewer.role is not Role.ADMIN:
            raise NotFound("There is no such page.")
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(PAGE)
        if actor:
            query = query.where(AuditEntry.actor == actor.strip())
        if action:
            query = query.where(AuditEntry.action.startswith(action.strip()))
        if subject:
            query = query.where(AuditEntry.subject == subject.strip())
        if before is not None:
            query = query.where(AuditEntry.id < before)
        entries = list(await session.scalars(query))
        audit(session, f"staff:{viewer.id}", "audit.view", None, actor=actor, action=action)
        await session.commit()
    zone = ctx.profile.zone
    return [
        AuditView(e.id, e.at.astimezone(zone), e.actor, e.action, e.subject, e.details)
        for e in entries
    ]
