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

from sqlalchemy import delete
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
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self.name = name
        self._ttl = ttl
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._renew_after = 0.0  # time.monotonic(); while before it, the lease is ours

    async def held(self) -> bool:
        """Take or renew the lease if free or ours; True while this process holds it."""
        if time.monotonic() < self._renew_after:
            return True
        now = self._clock()
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
                        where=(JobLease.expires_at < now) | (JobLease.holder == self.holder),
                    )
                )
                await session.commit()
        except Exception:
            log.exception("could not renew the %s lease", self.name)
            return False
        if result.rowcount:  # type: ignore[attr-defined]
            # Renew when half the time is gone, so a slow pass never lets it lapse.
            self._renew_after = time.monotonic() + self._ttl.total_seconds() / 2
            return True
        return False

    async def release(self) -> None:
        """Give the lease up at a clean stop, so another process takes over at once."""
        self._renew_after = 0.0
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
