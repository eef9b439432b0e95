"""Backup and restore of an SQLite database (PostgreSQL has pg_dump and pg_restore).

`backup` uses SQLite's online backup API: a consistent copy while the bot keeps writing.
`restore` checks the copy first, keeps the database it replaces, and refuses while a bot
process still holds a lease on the database (a running bot would write over it).
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import ConfigError

# Running processes renew these (bot/leases.py); a live one means a bot is running.
_LIVE_LEASES = "SELECT count(*) FROM job_leases WHERE expires_at > ?"


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise ConfigError(
            "companion backup and restore work on an SQLite database file. For PostgreSQL use "
            "pg_dump and pg_restore (see README: Running it for real)."
        )
    return Path(url.database)


def backup(database_url: str, target: Path) -> int:
    """Copy the database to `target` while it stays in use; returns the copy's size."""
    source_path = sqlite_path(database_url)
    if not source_path.exists():
        raise ConfigError(f"There is no database at {source_path} to back up.")
    if target.exists():
        raise ConfigError(f"{target} already exists; choose a new file name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    _copy(source_path, partial)
    check(partial)
    partial.rename(target)
    return target.stat().st_size


def _copy(source_path: Path, target: Path) -> None:
    """SQLite's online backup (it includes what is still only in the WAL file), into one
    self-contained file."""
    with (
        contextlib.closing(sqlite3.connect(source_path, timeout=30)) as source,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")


def check(path: Path) -> str:
    """The copy's migration revision, after SQLite's own integrity check."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            [result] = db.execute("PRAGMA integrity_check").fetchone()
            if result != "ok":
                raise ConfigError(f"{path} is damaged: {result}")
            [revision] = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{path} is not a Programme Companion backup ({error}).") from None
    return str(revision)


def restore(database_url: str, backup_path: Path, *, now: datetime | None = None) -> Path | None:
    """Put the backup in place of the database; returns where the replaced one was kept."""
    target = sqlite_path(database_url)
    check(backup_path)
    kept: Path | None = None
    if target.exists():
        _refuse_if_running(target, now or datetime.now(UTC))
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
        kept = target.with_name(f"{target.name}.before-restore-{stamp}")
        _copy(target, kept)
    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = target.with_name(target.name + ".restoring")
    shutil.copyfile(backup_path, incoming)
    # A WAL file left from the replaced database must never be applied to the restored one.
    for suffix in ("-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    incoming.replace(target)
    return kept


def _refuse_if_running(target: Path, now: datetime) -> None:
    with contextlib.closing(sqlite3.connect(f"file:{target}?mode=ro", uri=True)) as db:
        try:
            [live] = db.execute(_LIVE_LEASES, (now.strftime("%Y-%m-%d %H:%M:%S.%f"),)).fetchone()
        except sqlite3.OperationalError:
            return  # older than job leases: nothing can be running against it
    if live:
        raise ConfigError(
            "A bot process is still running against this database. Stop it (for example "
            "systemctl stop 'companion@*'), or after a crash wait three minutes, then restore."
        )
