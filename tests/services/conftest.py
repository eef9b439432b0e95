"""Services on a fresh migrated database of each kind, with the test clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Profile
from bot.db.engine import make_engine, make_session_factory
from bot.i18n import Catalogs
from bot.services.context import ServiceContext
from tests.conftest import TEST_SECRET, FakeClock


@pytest.fixture
async def services(
    database_url: str, profile: Profile, clock: FakeClock
) -> AsyncIterator[ServiceContext]:
    engine = make_engine(database_url)
    yield ServiceContext(
        make_session_factory(engine, profile.zone), profile, Catalogs(), TEST_SECRET, clock
    )
    await engine.dispose()
