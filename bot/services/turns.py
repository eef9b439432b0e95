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
    # Whether an answer queued so far carries the update's claim (the first one does).
    claimed: bool = False
    # A complaint was sent or escalated: wake whoever tells staff, once this commits.
    staff_to_tell: bool = False

    def reply(self, text: str, reply_markup: dict[str, Any] | None = None) -> None:
        queue_message(
            self.session,
            self.now,
            self.inbound.chat_id,
            text,
            reply_markup=reply_markup,
            participant_id=self.participant.id if self.participant else None,
            update_id=None if self.claimed else self.inbound.update_id,
        )
        self.claimed = True


def om_contact(participant: Participant) -> messages.StaffContact:
    om = participant.offender_manager
    return messages.StaffContact(om.name, om.phone)
