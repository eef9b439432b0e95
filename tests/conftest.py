"""Shared fixtures: a fresh migrated database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import EXAMPLE_PROFILE, Profile, Settings, load_profile
from bot.db.engine import make_engine
from bot.db.migrate import upgrade
from tests.postgres import PostgresServer, find_bin_dir, running_postgres

TEST_SECRET = b"test-secret-key-that-is-long-enough-0123456789"
_database_numbers = itertools.count(1)


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries are missing; .ci/run installs 'postgresql'.")
        pytest.skip("PostgreSQL server binaries not found: apt-get install postgresql")
    with running_postgres(bin_dir) as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty, migrated database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'companion.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        name = f"companion_test_{os.getpid()}_{next(_database_numbers)}"
        admin = create_async_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
        url = server.url(name)
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    yield url


@pytest.fixture
def profile() -> Profile:
    return load_profile(EXAMPLE_PROFILE)


@pytest.fixture
def clock() -> FakeClock:
    # A Tuesday morning, before the test cohort's first session.
    return FakeClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The command line with no COMPANION_ settings but a data directory of the test's own."""
    for name in list(os.environ):
        if name.startswith("COMPANION_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COMPANION_DATA_DIR", str(tmp_path / "var"))
    yield CliRunner()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "bot_token": "123456:TEST-token",
        "database_url": database_url,
        "bot_api_url": "http://127.0.0.1:9",
        "profile_path": EXAMPLE_PROFILE,
        "secret_key": TEST_SECRET,
        "webhook_secret": None,
        "bot_username": None,
        "data_dir": tmp_path,
        # Conversations are checked reply by reply; Telegram's pacing (a chat's second
        # message a second after its first) is checked on its own in tests/faults.
        "send_pacing": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
