"""The demo as `companion demo` runs it, on free ports, over a demo database in tmp_path."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.demo.stack import DemoOptions, RunningDemo, running_demo
from bot.sandbox.spec import find_spec_path
from tests.conftest import free_port


def demo_options(tmp_path: Path, **changes: object) -> DemoOptions:
    values: dict[str, object] = {
        "database": tmp_path / "demo.db",
        "data_dir": tmp_path / "demo",
        "phone_port": free_port(),
        "dashboard_port": free_port(),
        "poll_timeout": 1,
        # Telegram's one-message-a-second pacing only makes the tests wait.
        "env": {"COMPANION_SEND_PACING": "off"},
    }
    values.update(changes)
    return DemoOptions(**values)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def demo_running(options: DemoOptions) -> AsyncIterator[RunningDemo]:
    if find_spec_path() is None:
        if os.environ.get("CI"):
            pytest.fail("../shared/telegram/api.json is missing in CI")
        pytest.skip("../shared/telegram/api.json is absent: Bot API spec checks cannot run")
    async with running_demo(options) as demo:
        yield demo
    assert demo.sandbox.violations == [], "requests the Bot API spec does not allow"
    # 499: the last long poll, cut off when the bot stopped.
    failed = [c for c in demo.sandbox.failed_calls if c.status != 499]
    assert failed == [], "Bot API calls that failed"


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[RunningDemo]:
    async with demo_running(demo_options(tmp_path)) as running:
        yield running
