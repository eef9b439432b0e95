"""Bot processes for the crash and scale-out tests: `companion run` in a child process,
killed and restarted as a real deployment's would be."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_SECRET

RUN = "from bot.cli import main; main()"


def bot_environment(
    database_url: str, bot_api_url: str, token: str, data_dir: Path
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
    env.update(
        COMPANION_BOT_TOKEN=token,
        COMPANION_BOT_API_URL=bot_api_url,
        COMPANION_DATABASE_URL=database_url,
        COMPANION_DATA_DIR=str(data_dir),
        COMPANION_SECRET_KEY=TEST_SECRET.decode(),
    )
    return env


class BotProcess:
    """`companion run ARGS` that can be started, killed with SIGKILL and started again."""

    def __init__(self, env: dict[str, str], args: list[str], log: Path) -> None:
        self.env = env
        self.args = args
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", RUN, "run", "--no-migrate", *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def check_alive(self) -> None:
        """Fail with the end of its log if the process has exited."""
        if self.process is not None and self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"the bot exited ({self.process.returncode}):\n{tail}")

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or released."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    async def stop(self) -> None:
        """SIGTERM, as systemd stops a service, and wait for a clean exit."""
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            for _ in range(200):
                if self.process.poll() is not None:
                    break
                await asyncio.sleep(0.05)
            else:
                self.process.kill()
            self.process = None
