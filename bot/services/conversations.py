"""Guided conversations kept in the database (one per Telegram user), so a restart in the
middle loses nothing and buttons from an older conversation are recognised as stale."""

from __future__ import annotations

import secrets
from typing import Any

from bot import messages
from bot.db.models import Conversation
from bot.services.turns import Turn


async def start(
    turn: Turn, kind: str, step: str, data: dict[str, Any] | None = None
) -> Conversation:
    """Start (or restart) his conversation with a fresh token: older buttons go stale."""
    conversation = await turn.session.get(Conversation, turn.inbound.user_id)
    if conversation is None:
        conversation = Conversation(telegram_user_id=turn.inbound.user_id)
        turn.session.add(conversation)
    conversation.token, conversation.kind, conversation.step = secrets.token_hex(4), kind, step
    conversation.data, conversation.updated_at = data or {}, turn.now
    return conversation


async def current(turn: Turn, kind: str, token: str | None = None) -> Conversation | None:
    """His conversation of this kind (and with this token, when a button names one)."""
    conversation = await turn.session.get(Conversation, turn.inbound.user_id)
    if conversation is None or conversation.kind != kind:
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


async def cancel(turn: Turn) -> None:
    """End the conversation and say that nothing was sent."""
    await end(turn)
    turn.reply(messages.absence_cancelled(turn.t), messages.main_menu(turn.t))


async def kind_waiting_for_text(turn: Turn) -> str | None:
    conversation = await turn.session.get(Conversation, turn.inbound.user_id)
    return conversation.kind if conversation is not None else None


def advance(turn: Turn, conversation: Conversation, step: str, **data: Any) -> None:
    conversation.step = step
    conversation.data = {**conversation.data, **data}
    conversation.updated_at = turn.now


async def end(turn: Turn) -> None:
    conversation = await turn.session.get(Conversation, turn.inbound.user_id)
    if conversation is not None:
        await turn.session.delete(conversation)
