"""One inbound update being handled: who sent it, his participant record and language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages
from bot.db.models import Conversation, Participant
from bot.i18n import Translator
from bot.services.context import queue_message


@dataclass(frozen=True, slots=True)
class Inbound:
    """Who sent an update, and where to answer."""

    update_id: int
    user_id: int
    chat_id: int
    language_code: str | None


@dataclass
class Turn:
    """One update being handled: its session, the linked participant (if any) and his language."""

    session: AsyncSession
    inbound: Inbound
    participant: Participant | None
    t: Translator
    now: datetime
    # All of his conversations, loaded with him in one query (None: not loaded, ask the
    # database). Saves a SELECT on every step of a guided conversation.
    conversations: dict[str, Conversation] | None = None

    def reply(self, text: str, reply_markup: dict[str, Any] | None = None) -> None:
        queue_message(
            self.session,
            self.now,
            self.inbound.chat_id,
            text,
            reply_markup=reply_markup,
            participant_id=self.participant.id if self.participant else None,
        )


def om_contact(participant: Participant) -> messages.StaffContact:
    om = participant.offender_manager
    return messages.StaffContact(om.name, om.phone)
