"""Fixtures for the Bot API sandbox tests: the spec, a running sandbox, PTB apps against it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from telegram.ext import Application, ApplicationBuilder

from bot.sandbox import BotApiSandbox, BotApiSpec, find_spec_path

TOKEN = "123456789:AAHsandbox-test-token"

_SPEC_CACHE: dict[str, BotApiSpec] = {}


def _load_spec() -> BotApiSpec | None:
    path = find_spec_path()
    if path is None:
        return None
    key = str(path)
    if key not in _SPEC_CACHE:
        _SPEC_CACHE[key] = BotApiSpec.load(path)
    return _SPEC_CACHE[key]


@pytest.fixture
def maybe_spec() -> BotApiSpec | None:
    """The Bot API spec if available (server tests run without it too)."""
    return _load_spec()


@pytest.fixture
def spec() -> BotApiSpec:
    """The Bot API spec; tests that check validation are skipped without it."""
    loaded = _load_spec()
    if loaded is None:
        pytest.skip(
            "Bot API spec not found: set COMPANION_BOT_API_SPEC or provide "
            "../shared/telegram/api.json next to the repository"
        )
    return loaded


@pytest.fixture
async def sandbox(maybe_spec: BotApiSpec | None) -> AsyncIterator[BotApiSandbox]:
    """A started sandbox on a free port."""
    box = BotApiSandbox(TOKEN, spec=maybe_spec)
    await box.start()
    try:
        yield box
    finally:
        await box.stop()


def build_app(sandbox: BotApiSandbox) -> Application[Any, Any, Any, Any, Any, Any]:
    """A PTB application pointed at the sandbox."""
    return (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{sandbox.url}/bot")
        .base_file_url(f"{sandbox.url}/file/bot")
        .build()
    )


@contextlib.asynccontextmanager
async def polling(
    app: Application[Any, Any, Any, Any, Any, Any],
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """Run a PTB application with long polling for the duration of the block."""
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


@pytest.fixture
def make_app(sandbox: BotApiSandbox) -> Callable[[], Application[Any, Any, Any, Any, Any, Any]]:
    """Factory for PTB applications bound to the sandbox."""
    return lambda: build_app(sandbox)
