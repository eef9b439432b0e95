"""The typed callback context handlers receive."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import CallbackContext, ExtBot

from bot.services.chat import ChatService, Inbound


class CompanionContext(
    CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]
):
    """Exposes the services handlers call."""

    @property
    def chat(self) -> ChatService:
        service: ChatService = self.bot_data["chat"]
        return service


def inbound(update: Update) -> Inbound:
    """Who sent this update and where to answer. Handlers only see private chats."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        raise ValueError("update without a user and chat")
    return Inbound(update.update_id, user.id, chat.id, user.language_code)
