"""Guided conversations kept in the database, so a restart in the middle loses nothing and
buttons from an older conversation are recognised as stale.

He has at most one of each kind at a time: starting an absence report does not throw away
the complaint he was writing. Free text and files go to the one he touched last.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select

from bot import messages
from bot.db.models import Conversation
from bot.services.turns import Turn


async def start(
    turn: Turn, kind: str, step: str, data: dict[str, Any] | None = None
) -> Conversation:
    """Start (or restart) his conversation of this kind with a fresh token: its older buttons
    go stale."""
    conversation = await _get(turn, kind)
    if conversation is None:
        conversation = Conversation(telegram_user_id=turn.inbound.user_id, kind=kind)
        turn.session.add(conversation)
        if turn.conversations is not None:
            turn.conversations[kind] = conversation
    conversation.token, conversation.step = secrets.token_hex(4), step
    conversation.data = data or {}
    touch(turn, conversation)
    return conversation


async def current(turn: Turn, kind: str, token: str | None = None) -> Conversation | None:
    """His conversation of this kind (and with this token, when a button names one)."""
    conversation = await _get(turn, kind)
    if conversation is None:
        return None
    if token is not None and conversation.token != token:
        return None
    return conversation


def button(prefix: str, token: str, action: str, value: str = "") -> str:
    """Callback data for a conversation's button: `prefix:token:action:value`."""
    return f"{prefix}:{token}:{action}:{value}"


def parse_button(data: str) -> tuple[str, str, str] | None:
    """(token, action, value) from a conversation button's data, or None if malformed."""
    parts = data.split(":", 3)
    if len(parts) != 4:
        return None
    return parts[1], parts[2], parts[3]


async def cancel(turn: Turn, kind: str) -> None:
    """End the conversation and say that nothing was sent."""
    await end(turn, kind)
    turn.reply(messages.absence_cancelled(turn.t), messages.main_menu(turn.t))


async def latest(turn: Turn) -> Conversation | None:
    """The conversation he touched last: where his free text or file belongs."""
    if turn.conversations is not None:
        return max(turn.conversations.values(), key=lambda c: c.last_update_id, default=None)
    conversation: Conversation | None = await turn.session.scalar(
        select(Conversation)
        .where(Conversation.telegram_user_id == turn.inbound.user_id)
        .order_by(Conversation.last_update_id.desc())
        .limit(1)
    )
    return conversation


def advance(turn: Turn, conversation: Conversation, step: str, **data: Any) -> None:
    conversation.step = step
    conversation.data = {**conversation.data, **data}
    touch(turn, conversation)


def touch(turn: Turn, conversation: Conversation) -> None:
    """Mark it as the one he used last. Telegram's update ids only grow, so they order his
    steps even when two land in the same instant."""
    conversation.updated_at = turn.now
    conversation.last_update_id = turn.inbound.update_id


async def end(turn: Turn, kind: str) -> None:
    conversation = await _get(turn, kind)
    if conversation is not None:
        await turn.session.delete(conversation)
        if turn.conversations is not None:
            del turn.conversations[kind]


async def _get(turn: Turn, kind: str) -> Conversation | None:
    if turn.conversations is not None:
        return turn.conversations.get(kind)
    return await turn.session.get(Conversation, (turn.inbound.user_id, kind))
