"""Memory and start-up: `companion run` with 100,000 enrolled participants.

    .venv/bin/python -m bench.startup                # 100,000 participants
    .venv/bin/python -m bench.startup --smoke        # 2,000

The database holds 100,000 participants linked to Telegram (10,000 cohorts of 35 sessions,
eight attended each). One update is waiting before the bot starts; start-up is the time from
starting the process to its reply reaching the Bot API server. Then 500 participants run the
interaction script (progress, contacts, absence, complaint, language) flat out, and the peak
RSS of the process (the kernel's VmHWM, dashboard included) is read before it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    TOKEN,
    BotProcess,
    Results,
    TimedSandbox,
    bot_env,
    companion_command,
    free_port,
    seed_enrolled,
    settings,
)
from bench.interactions import SCRIPT, Tally, flat_out, make_players
from bot.app import build_core
from bot.db.migrate import upgrade


async def main(results: Results, participants: int | None = None) -> None:
    count = participants or (1_000 if results.smoke else 100_000)
    active = min(count, 10 if results.smoke else 500)
    sandbox = TimedSandbox(TOKEN, spec=None, bot_username="companion_bench_bot")
    await sandbox.start()
    try:
        with tempfile.TemporaryDirectory(prefix="companion-startup-") as name:
            folder = Path(name)
            url = f"sqlite+aiosqlite:///{folder}/startup.db"
            core = build_core(settings(url, folder, sandbox.url))
            try:
                await upgrade(core.engine)
                began = time.perf_counter()
                enrolled = await seed_enrolled(
                    core.services.session_factory, count, datetime.now(UTC)
                )
                print(
                    f"  seeded {count:,} enrolled participants in "
                    f"{time.perf_counter() - began:.1f} s"
                )
            finally:
                await core.close()
            players = make_players(sandbox, enrolled.user_ids[:active])
            first = players[0]
            tally = Tally()
            # Waiting before the bot starts: its answer marks the first update handled.
            waiting = asyncio.get_running_loop().create_future()
            first._waiter = waiting
            first.user.send_text("/progress")
            process = BotProcess(
                companion_command("run"),
                bot_env(
                    url, folder, sandbox.url, pacing=False, web_listen=f"127.0.0.1:{free_port()}"
                ),
                folder / "bot.log",
            )
            process.start()
            sampler = asyncio.create_task(_sample(process))
            try:
                answered = await _first_answer(process, waiting)
                startup = answered - process.started_at
                polled = sandbox.calls_to("getUpdates")
                run = await flat_out(players, SCRIPT, timeout=120)
                process.sample()
                process.check_alive()
            finally:
                sampler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampler
                await asyncio.to_thread(process.stop)
            tally = run.tally
            peak = process.peak_rss_kib / 1024
            results.add(
                "startup.seconds",
                f"Start-up to first update handled, {count:,} participants",
                startup,
                "s",
                at_most=2,
                note=f"polling began after {polled[0].at - _monotonic_at(process):.1f} s"
                if polled
                else None,
            )
            results.add(
                "startup.peak_rss_mb",
                f"Peak RSS of the bot process, {count:,} participants",
                peak,
                "MB",
                at_most=200,
                note=f"after {run.updates:,} updates from {active} participants, dashboard on",
            )
            results.details["startup"] = {
                "participants": count,
                "seconds_to_first_reply": startup,
                "peak_rss_mb": peak,
                "updates_under_load": run.updates,
                "updates_per_second_under_load": run.per_second,
                "errors": dict(tally.errors),
            }
    finally:
        await sandbox.stop()


def _monotonic_at(process: BotProcess) -> float:
    """When the process started, on the clock ApiCall.at uses (time.monotonic)."""
    return time.monotonic() - (time.perf_counter() - process.started_at)


async def _first_answer(process: BotProcess, waiting: asyncio.Future[float]) -> float:
    deadline = time.perf_counter() + 120
    while not waiting.done():
        process.check_alive()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no answer within 120 s:\n{process.log_tail()}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiting), 0.2)
    return waiting.result()


async def _sample(process: BotProcess) -> None:
    while True:
        process.sample()
        await asyncio.sleep(0.2)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="2,000 participants")
    parser.add_argument("--participants", type=int)
    arguments = parser.parse_args()
    asyncio.run(main(Results(smoke=arguments.smoke), arguments.participants))
