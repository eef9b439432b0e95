"""`companion backup` and `companion restore` on SQLite, as an administrator uses them."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main


def run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(main, list(args))


def staff_emails(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        return [row[0] for row in db.execute("SELECT email FROM staff ORDER BY email")]


def add_staff(cli: CliRunner, email: str) -> None:
    result = run(cli, "staff", "add", email, "--name", "Kim Example", "--role", "admin")
    assert result.exit_code == 0, result.output


def test_backup_then_restore_brings_back_what_was_there(cli: CliRunner, tmp_path: Path) -> None:
    database = tmp_path / "var" / "companion.db"
    assert run(cli, "db", "upgrade").exit_code == 0
    add_staff(cli, "before@example.org")
    copy = tmp_path / "backups" / "monday.db"
    result = run(cli, "backup", str(copy))
    assert result.exit_code == 0, result.output
    assert "Backed up to" in result.output

    add_staff(cli, "after@example.org")
    assert staff_emails(database) == ["after@example.org", "before@example.org"]
    result = run(cli, "restore", str(copy))
    assert result.exit_code == 0, result.output
    assert staff_emails(database) == ["before@example.org"]
    # The database it replaced is kept, whole.
    [kept] = database.parent.glob("companion.db.before-restore-*")
    assert staff_emails(kept) == ["after@example.org", "before@example.org"]
    # And the bot's own commands work on the restored database.
    assert run(cli, "staff", "list").exit_code == 0


def test_backup_is_consistent_while_the_database_is_written(cli: CliRunner, tmp_path: Path) -> None:
    database = tmp_path / "var" / "companion.db"
    assert run(cli, "db", "upgrade").exit_code == 0
    stop = threading.Event()

    def keep_writing() -> None:
        with sqlite3.connect(database, timeout=30) as db:
            db.execute("PRAGMA journal_mode=WAL")
            n = 0
            while not stop.is_set():
                db.execute("INSERT INTO app_state (key, value) VALUES (?, 'x')", (f"k{n}",))
                db.commit()
                n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        for n in range(3):
            result = run(cli, "backup", str(tmp_path / f"copy-{n}.db"))
            assert result.exit_code == 0, result.output
    finally:
        stop.set()
        writer.join()
    for n in range(3):
        with sqlite3.connect(tmp_path / f"copy-{n}.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_refusals_are_clear_and_change_nothing(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "var" / "companion.db"
    assert run(cli, "db", "upgrade").exit_code == 0
    add_staff(cli, "kim@example.org")
    copy = tmp_path / "copy.db"
    assert run(cli, "backup", str(copy)).exit_code == 0

    again = run(cli, "backup", str(copy))
    assert again.exit_code == 1 and "already exists" in again.output

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    refused = run(cli, "restore", str(junk))
    assert refused.exit_code == 1 and "not a Programme Companion backup" in refused.output

    # A bot still running holds a lease on the database.
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT INTO job_leases (name, holder, expires_at) "
            "VALUES ('scheduler', 'host:1', '2999-01-01 00:00:00.000000')"
        )
    running = run(cli, "restore", str(copy))
    assert running.exit_code == 1 and "still running" in running.output
    assert staff_emails(database) == ["kim@example.org"]

    monkeypatch.setenv("COMPANION_DATABASE_URL", "postgresql+asyncpg://x@127.0.0.1/companion")
    postgres = run(cli, "backup", str(tmp_path / "pg.db"))
    assert postgres.exit_code == 1 and "pg_dump" in postgres.output
