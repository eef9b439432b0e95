"""Requests for the information in another language or format, for the Contracts Officer.

He asks in the chat (`/format`, or the button under the conditions and rights); staff list
them and mark them done, and he is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot import messages
from bot.db.models import FormatRequest, Participant, Staff
from bot.domain.errors import Conflict, InvalidInput, NotFound
from bot.domain.roles import Role, can_handle_format_requests
from bot.services import conversations
from bot.services.complaints import free_reference
from bot.services.context import ServiceContext, audit
from bot.services.notices import (
    notify_staff,
    participant_translator,
    staff_by_email,
    tell_participant,
)
from bot.services.turns import Turn

KIND = "format"
PREFIX = "fmt"
MAX_LANGUAGE = 100
MAX_MESSAGE = 2000


@dataclass(frozen=True, slots=True)
class FormatRequestView:
    id: int
    reference: str
    participant_reference: str
    first_name: str
    format: str
    language: str | None
    requested_at: datetime  # local time
    done_at: datetime | None  # local time
    message: str | None


async def begin(turn: Turn) -> None:
    conversation = await conversations.start(turn, KIND, "format")
    t, token = turn.t, conversation.token
    rows = [
        [(t._(label), conversations.button(PREFIX, token, "f", name))]
        for name, label in messages.FORMAT_LABELS.items()
    ]
    rows.append([(t._(messages.BUTTON_CANCEL), conversations.button(PREFIX, token, "cancel"))])
    turn.reply(messages.format_choose(t), messages.inline(rows))


async def press(ctx: ServiceContext, turn: Turn, participant: Participant, data: str) -> bool:
    parsed = conversations.parse_button(data)
    if parsed is None:
        return False
    token, action, value = parsed
    conversation = await conversations.current(turn, KIND, token)
    if conversation is None:
        return False
    t = turn.t
    if action == "cancel":
        await conversations.cancel(turn, KIND)
    elif action == "f" and conversation.step == "format" and value in messages.FORMAT_LABELS:
        if value == "language":
            conversations.advance(turn, conversation, "language")
            rows = [[(t._(messages.BUTTON_CANCEL), conversations.button(PREFIX, token, "cancel"))]]
            turn.reply(messages.format_ask_language(t), messages.inline(rows))
        else:
            await conversations.end(turn, KIND)
            await _record(ctx, turn, participant, value, None)
    else:
        return False
    return True


async def language(ctx: ServiceContext, turn: Turn, participant: Participant, text: str) -> bool:
    """The language he named, when the conversation asked for it."""
    conversation = await conversations.current(turn, KIND)
    if conversation is None or conversation.step != "language":
        return False
    if len(text.strip()) > MAX_LANGUAGE:
        turn.reply(messages.too_long(turn.t))
        return True
    await conversations.end(turn, KIND)
    await _record(ctx, turn, participant, "language", text.strip())
    return True


async def _record(
    ctx: ServiceContext, turn: Turn, participant: Participant, kind: str, language: str | None
) -> None:
    reference = await free_reference(turn.session, FormatRequest, "F")
    request = FormatRequest(
        reference=reference,
        participant_id=participant.id,
        format=kind,
        language=language,
        requested_at=turn.now,
    )
    turn.session.add(request)
    officers = await turn.session.scalars(
        select(Staff).where(Staff.role == Role.CONTRACTS_OFFICER, Staff.active.is_(True))
    )
    for officer in officers:
        notify_staff(ctx, turn.session, officer)
    turn.reply(messages.format_received(turn.t, reference), messages.main_menu(turn.t))


async def list_requests(
    ctx: ServiceContext, *, include_done: bool = False
) -> list[FormatRequestView]:
    async with ctx.uow() as session:
        query = (
            select(FormatRequest)
            .options(selectinload(FormatRequest.participant))
            .order_by(FormatRequest.id)
        )
        if not include_done:
            query = query.where(FormatRequest.done_at.is_(None))
        return [_view(ctx, r) for r in await session.scalars(query)]


async def request_for(
    session: AsyncSession, request_id: int, viewer_email: str | None = None
) -> FormatRequest:
    """The request; when a viewer is named, only if their role handles these (else as if
    it did not exist)."""
    request = await session.scalar(
        select(FormatRequest)
        .where(FormatRequest.id == request_id)
        .options(selectinload(FormatRequest.participant))
    )
    if request is not None and viewer_email is not None:
        viewer = await staff_by_email(session, viewer_email)
        if not can_handle_format_requests(viewer.role):
            request = None
    if request is None:
        raise NotFound("There is no format request {id}.", id=request_id)
    return request


async def show_request(
    ctx: ServiceContext, actor: str, request_id: int, *, viewer_email: str | None = None
) -> FormatRequestView:
    """One request, audited as a view of his data."""
    async with ctx.uow() as session:
        request = await request_for(session, request_id, viewer_email)
        audit(session, actor, "format_request.view", f"format_request:{request.id}")
        view = _view(ctx, request)
        await session.commit()
    return view


async def mark_done(
    ctx: ServiceContext,
    actor: str,
    request_id: int,
    message: str | None,
    *,
    viewer_email: str | None = None,
) -> FormatRequestView:
    """Record that it was dealt with, and tell him (with an optional message)."""
    message = (message or "").strip() or None
    if message is not None and len(message) > MAX_MESSAGE:
        raise InvalidInput("The message is too long: at most {most} characters.", most=MAX_MESSAGE)
    async with ctx.uow() as session:
        request = await request_for(session, request_id, viewer_email)
        if request.done_at is not None:
            raise Conflict("Format request {id} is already done.", id=request_id)
        request.done_at, request.done_by, request.message = ctx.now(), actor, message
        participant = request.participant
        t = participant_translator(ctx, participant)
        await tell_participant(
            ctx, session, participant, messages.format_done(t, request.reference, message)
        )
        audit(session, actor, "format_request.done", f"format_request:{request.id}")
        view = _view(ctx, request)
        await session.commit()
    ctx.on_outbox_written()
    return view


def _view(ctx: ServiceContext, request: FormatRequest) -> FormatRequestView:
    zone = ctx.profile.zone
    return FormatRequestView(
        id=request.id,
        reference=request.reference,
        participant_reference=request.participant.reference,
        first_name=request.participant.name,
        format=request.format,
        language=request.language,
        requested_at=request.requested_at.astimezone(zone),
        done_at=request.done_at.astimezone(zone) if request.done_at else None,
        message=request.message,
    )
