"""Leases: a job that must run in one process at a time (the scheduler, the sender) runs
where the lease is held; another process takes over when the holder stops renewing it."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import JobLease

log = logging.getLogger(__name__)


class Lease:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        name: str,
        *,
        ttl: timedelta = timedelta(seconds=30),
        take_over: bool = False,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self.name = name
        self._ttl = ttl
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._renew_after = 0.0  # time.monotonic(); while before it, the lease is ours
        # Polling: Telegram lets one process poll, so at the start a lease still held is a
        # crashed process's and is taken at once instead of after it runs out.
        self._take_over = take_over
        self.holding = False

    async def held(self) -> bool:
        """Take or renew the lease if free or ours; True while this process holds it."""
        if time.monotonic() < self._renew_after:
            return True
        now = self._clock()
        free: ColumnElement[bool] = (
            true()
            if self._take_over
            else (JobLease.expires_at < now) | (JobLease.holder == self.holder)
        )
        values = {"name": self.name, "holder": self.holder, "expires_at": now + self._ttl}
        try:
            async with self._sessions() as session:
                dialect = session.get_bind().dialect.name
                insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
                statement = insert(JobLease).values(**values)
                result = await session.execute(
                    statement.on_conflict_do_update(
                        index_elements=["name"],
                        set_={"holder": self.holder, "expires_at": values["expires_at"]},
                        where=free,
                    )
                )
                await session.commit()
        except Exception:
            log.exception("could not renew the %s lease", self.name)
            return False
        self._take_over = False
        self.holding = bool(result.rowcount)  # type: ignore[attr-defined]
        if self.holding:
            # Renew when half the time is gone, so a slow pass never lets it lapse.
            self._renew_after = time.monotonic() + self._ttl.total_seconds() / 2
        return self.holding

    async def release(self) -> None:
        """Give the lease up at a clean stop, so another process takes over at once."""
        self._renew_after = 0.0
        self.holding = False
        try:
            async with self._sessions() as session:
                await session.execute(
                    delete(JobLease).where(
                        JobLease.name == self.name, JobLease.holder == self.holder
                    )
                )
                await session.commit()
        except Exception:
            log.exception("could not release the %s lease; it runs out by itself", self.name)
