"""Fetches the files participants sent (sick notes) from the Bot API into the database.

The update that brought a file stored only its Telegram file id; this loop downloads the
bytes afterwards and retries while the Bot API is unavailable, so nothing sent is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.error import TelegramError

from bot.db.models import Attachment
from bot.domain.attachments import MAX_BYTES
from bot.loops import wait_for_any

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 50  # at the idle interval, about a day of retries


class AttachmentFetcher:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        bot: Bot,
        clock: Callable[[], datetime],
        *,
        idle_seconds: float = 30.0,
    ) -> None:
        self._sessions = session_factory
        self._bot = bot
        self._clock = clock
        self._idle_seconds = idle_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.fetch_waiting()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("fetching attachments failed; will retry")
            await wait_for_any(self._idle_seconds, self._wake, stop)

    async def fetch_waiting(self) -> int:
        """Download every file not fetched yet; returns how many arrived."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Attachment.id, Attachment.telegram_file_id)
                    .where(
                        Attachment.fetched_at.is_(None), Attachment.fetch_attempts < MAX_ATTEMPTS
                    )
                    # Files that keep failing wait behind new ones.
                    .order_by(Attachment.fetch_attempts, Attachment.id)
                    .limit(20)
                )
            ).all()
        fetched = 0
        for attachment_id, file_id in rows:
            data, error = await self._download(file_id)
            async with self._sessions() as session:
                attachment = await session.get_one(Attachment, attachment_id)
                if data is not None:
                    attachment.content, attachment.size = data, len(data)
                    attachment.fetched_at, attachment.fetch_error = self._clock(), None
                    fetched += 1
                else:
                    attachment.fetch_attempts += 1
                    attachment.fetch_error = error
                await session.commit()
        return fetched

    async def _download(self, file_id: str) -> tuple[bytes | None, str | None]:
        try:
            file = await self._bot.get_file(file_id)
            if file.file_size is not None and file.file_size > MAX_BYTES:
                return None, "file too big"
            data = bytes(await file.download_as_bytearray())
        except TelegramError as error:
            log.warning("could not fetch attachment: %s", error)
            return None, str(error)[:500]
        if len(data) > MAX_BYTES:
            return None, "file too big"
        return data, None
