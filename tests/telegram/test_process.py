"""`companion run` as an operator starts it: a real process, migrations, polling, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.sandbox.server import BotApiSandbox
from tests.conftest import free_port
from tests.telegram.conftest import TOKEN, _spec


async def test_companion_run_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    spec = _spec()
    if spec is None:
        pytest.skip("../shared/telegram/api.json is absent: Bot API spec checks cannot run")
    web_port = free_port()
    async with BotApiSandbox(TOKEN, spec=spec, bot_username="companion_test_bot") as sandbox:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
        env.update(
            COMPANION_BOT_TOKEN=TOKEN,
            COMPANION_BOT_API_URL=sandbox.url,
            COMPANION_DATA_DIR=str(tmp_path),
            COMPANION_WEB_LISTEN=f"127.0.0.1:{web_port}",
        )
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("companion")),
            "run",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            stranger = sandbox.user(5001, "Alex")
            stranger.send_text("/start")
            [reply] = await sandbox.wait_for_messages(stranger.chat_id, 1, timeout=60)
            assert "you need a code" in (reply.text or "")
            default = '{"type": "default"}'
            commands = sandbox.commands[(default, "")]
            assert [c["command"] for c in commands] == [
                "absence",
                "progress",
                "contacts",
                "reminders",
                "rights",
                "complaint",
                "complaints",
                "conditions",
                "format",
                "language",
                "help",
            ]
            # The same menu in each language Telegram can name, in that language.
            welsh = sandbox.commands[(default, "cy")]
            assert [c["command"] for c in welsh] == [c["command"] for c in commands]
            assert welsh[-2]["description"] == "Newid yr iaith"
            assert (default, "ckb") not in sandbox.commands  # no two-letter code
            # The staff dashboard runs in the same process.
            url = f"http://127.0.0.1:{web_port}/sign-in"
            async with aiohttp.ClientSession() as http, http.get(url) as page:
                assert page.status == 200
                assert "<h1>Sign in</h1>" in await page.text()
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        log = output.decode()
        assert process.returncode == 0, log
        assert TOKEN not in log  # the token is a secret: never in logs
        assert (tmp_path / "companion.db").exists()
        assert sandbox.violations == []
