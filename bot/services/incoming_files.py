"""A photo or document he sent: checked once, for a sick note or a complaint alike."""

from __future__ import annotations

from dataclasses import dataclass

from bot import messages
from bot.domain.attachments import MAX_BYTES, FileProblem, check_file
from bot.i18n import Translator

PHOTO_TYPE = "image/jpeg"  # Telegram re-encodes every photo as JPEG


@dataclass(frozen=True, slots=True)
class IncomingFile:
    file_id: str
    file_name: str | None
    mime_type: str | None
    size: int | None
    caption: str | None = None

    @property
    def type(self) -> str:
        return self.mime_type or PHOTO_TYPE

    def name(self, stem: str) -> str:
        """His file name, or e.g. "sick-note-12.jpg" for a photo (photos have none)."""
        extension = ".pdf" if self.type == "application/pdf" else ".jpg"
        return self.file_name or f"{stem}{extension}"


def refusal(t: Translator, incoming: IncomingFile) -> str | None:
    """Why this file cannot be taken, in his words; None when it can."""
    problem = check_file(incoming.mime_type, incoming.file_name, incoming.size)
    if problem is FileProblem.WRONG_TYPE:
        return messages.file_wrong_type(t)
    if problem is FileProblem.TOO_BIG:
        return messages.file_too_big(t, MAX_BYTES // 2**20)
    return None
