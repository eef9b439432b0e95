"""Saved replies: words staff in one role send often, kept to start a reply from.

Each role has its own; anyone in the role can add or remove them, admins can for every
role. Every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from bot.db.models import SavedReply, Staff
from bot.domain.errors import InvalidInput, NotFound
from bot.domain.roles import Role
from bot.services.context import ServiceContext, audit
from bot.services.notices import staff_by_email

MAX_TITLE = 80
MAX_TEXT = 2000


@dataclass(frozen=True, slots=True)
class SavedReplyView:
    id: int
    role: Role
    title: str
    text: str


def _roles_managed(viewer: Staff) -> tuple[Role, ...]:
    return tuple(Role) if viewer.role is Role.ADMIN else (viewer.role,)


async def list_replies(ctx: ServiceContext, viewer_email: str) -> list[SavedReplyView]:
    """This person's role's replies (every role's for an admin), by title."""
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        found = await session.scalars(
            select(SavedReply)
            .where(SavedReply.role.in_(_roles_managed(viewer)))
            .order_by(SavedReply.role, SavedReply.title, SavedReply.id)
        )
        return [SavedReplyView(r.id, r.role, r.title, r.text) for r in found]


async def find_reply(ctx: ServiceContext, viewer_email: str, reply_id: int) -> SavedReplyView:
    for reply in await list_replies(ctx, viewer_email):
        if reply.id == reply_id:
            return reply
    raise NotFound("There is no such saved reply.")


async def add_reply(
    ctx: ServiceContext, viewer_email: str, title: str, text: str, role: Role | None = None
) -> SavedReplyView:
    title, text = title.strip(), text.strip()
    if not title or not text:
        raise InvalidInput("Give the saved reply a title and some words.")
    if len(title) > MAX_TITLE or len(text) > MAX_TEXT:
        raise InvalidInput(
            "A title can have {title} characters and the words {words} at most.",
            title=MAX_TITLE,
            words=MAX_TEXT,
        )
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        role = role or viewer.role
        if role not in _roles_managed(viewer):
            raise InvalidInput("You can only add saved replies for your own role.")
        reply = SavedReply(
            role=role, title=title, text=text, created_by=viewer.id, created_at=ctx.now()
        )
        session.add(reply)
        await session.flush()
        audit(session, f"staff:{viewer.id}", "saved_reply.add", f"saved_reply:{reply.id}")
        await session.commit()
        return SavedReplyView(reply.id, reply.role, reply.title, reply.text)


async def remove_reply(ctx: ServiceContext, viewer_email: str, reply_id: int) -> None:
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        reply = await session.get(SavedReply, reply_id)
        if reply is None or reply.role not in _roles_managed(viewer):
            raise NotFound("There is no such saved reply.")
        await session.delete(reply)
        audit(session, f"staff:{viewer.id}", "saved_reply.remove", f"saved_reply:{reply_id}")
        await session.commit()
