"""Reminder fan-out: 10,000 reminders due at once, sent within Telegram's limits.

    .venv/bin/python -m bench.fanout                 # 10,000 reminders (about 6 minutes)
    .venv/bin/python -m bench.fanout --smoke         # 150

Every participant's cohort meets in 90 minutes, so the scheduler's first pass finds one
reminder due for each. The bot runs as `companion run` with the sender's pacing on, against
the local Bot API server enforcing Telegram's limits (30 messages a second overall, one a
second per chat; a 429 with retry_after beyond them). Meanwhile a few other participants
send /progress every few seconds: their replies show whether a man talking to the bot waits
behind the whole fan-out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    COHORT_SIZE,
    TOKEN,
    BotProcess,
    Results,
    TimedSandbox,
    bot_env,
    companion_command,
    percentile,
    seed_enrolled,
    settings,
    settle_garbage,
)
from bench.interactions import Player, Step, Tally
from bot.app import build_core
from bot.db.migrate import upgrade

PROBES = 5
PROBE_EVERY = 3.0


async def main(results: Results, reminders: int | None = None) -> None:
    count = reminders or (120 if results.smoke else 10_000)
    sandbox = TimedSandbox(TOKEN, spec=None, bot_username="companion_bench_bot", rate_limits=True)
    await sandbox.start()
    try:
        with tempfile.TemporaryDirectory(prefix="companion-fanout-") as name:
            await _run(results, sandbox, Path(name), count)
    finally:
        await sandbox.stop()


async def _run(results: Results, sandbox: TimedSandbox, folder: Path, count: int) -> None:
    url = f"sqlite+aiosqlite:///{folder}/fanout.db"
    now = datetime.now(UTC)
    soon = now + timedelta(minutes=90)
    fanout_cohorts = -(-count // COHORT_SIZE)

    def first_session(cohort: int) -> datetime:
        if cohort < fanout_cohorts:
            return soon - timedelta(weeks=9)  # the tenth session starts in 90 minutes
        return now - timedelta(weeks=9) + timedelta(days=3)  # the probes: days away

    core = build_core(settings(url, folder, sandbox.url, pacing=True))
    try:
        await upgrade(core.engine)
        # Whole cohorts of ten for the fan-out, then the probes' cohort (no reminder due).
        total = fanout_cohorts * COHORT_SIZE + PROBES
        enrolled = await seed_enrolled(
            core.services.session_factory,
            total,
            now,
            first_session=first_session,
            reminders=True,
        )
    finally:
        await core.close()
    probes = [
        Player(sandbox.user(uid, f"Probe {n}"), seed=n)
        for n, uid in enumerate(enrolled.user_ids[-PROBES:])
    ]
    by_chat = {p.user.chat_id: p for p in probes}
    reminder_times: list[float] = []
    message_times: list[float] = []  # every message, the probes' replies too
    extra = fanout_cohorts * COHORT_SIZE - count  # whole cohorts: a few more than asked
    wanted = count + extra
    due_chats = set(enrolled.user_ids[:wanted])
    for n, uid in enumerate(enrolled.user_ids[:wanted]):
        sandbox.user(uid, f"Person {n}")  # each has started the bot: Telegram knows his chat
    done = asyncio.Event()

    def on_message(chat_id: int, message: dict[str, Any], at: float) -> None:
        message_times.append(at)
        if chat_id in by_chat:
            by_chat[chat_id].deliver(message, at)
        elif chat_id in due_chats:
            reminder_times.append(at)
            if len(reminder_times) >= wanted:
                done.set()

    sandbox.on_message = on_message
    process = BotProcess(
        companion_command("run", "--no-web"),
        bot_env(url, folder, sandbox.url, pacing=True),
        folder / "bot.log",
    )
    probe_tally = Tally()
    stop_probes = asyncio.Event()

    async def probe(player: Player, offset: float) -> None:
        await asyncio.sleep(offset)
        while not stop_probes.is_set():
            await player.step([Step("progress", text="/progress")], probe_tally, 600)
            await asyncio.sleep(PROBE_EVERY)

    settle_garbage()
    process.start()
    began = process.started_at
    probe_tasks = [
        asyncio.create_task(probe(p, 1.0 + n * PROBE_EVERY / PROBES)) for n, p in enumerate(probes)
    ]
    limit = wanted / 30 * 2 + 120
    try:
        deadline = time.perf_counter() + limit
        while not done.is_set():
            process.check_alive()
            process.sample()
            if time.perf_counter() > deadline:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 1.0)
    finally:
        stop_probes.set()
        # A probe still waiting when the fan-out ends has waited at least this long.
        ended = time.perf_counter()
        unanswered = [ended - p.offered_at for p in probes if p.offered_at is not None]
        for task in probe_tasks:
            task.cancel()
        await asyncio.gather(*probe_tasks, return_exceptions=True)
        await asyncio.to_thread(process.stop)
    sent = len(reminder_times)
    if sent < 2:
        raise RuntimeError(f"only {sent} of {wanted} reminders arrived:\n{process.log_tail()}")
    first, last = reminder_times[0], reminder_times[-1]
    # Telegram's 30 a second covers every message, so the probes' replies sent meanwhile
    # count too (about 1.7 a second of the 30).
    during = sum(1 for at in message_times if first <= at <= last)
    rate = (during - 1) / (last - first) if last > first else None
    results.add(
        "fanout.seconds",
        f"Fan-out: time to send {wanted:,} reminders (bot start to last)",
        last - began,
        "s",
        note=f"first after {first - began:.1f} s; {sent:,} of {wanted:,} arrived",
    )
    results.add(
        "fanout.messages_per_second",
        "Fan-out: messages per second, reminders and replies (first reminder to last)",
        rate,
        "msg/s",
        at_least=0.95 * 30,
    )
    results.add(
        "fanout.429s",
        "Fan-out: 429 answers (server enforcing limits)",
        sandbox.rate_limit_hits,
        "count",
        at_most=0,
    )
    answered = probe_tally.latencies_ms
    waits = answered + [1000 * seconds for seconds in unanswered]
    if waits:
        still = f", {len(unanswered)} still unanswered at the end" if unanswered else ""
        results.add(
            "fanout.interactive_max_ms",
            "Fan-out: a man's reply during it, longest wait",
            max(waits),
            "ms",
            at_most=1000,
            note=f"p50 {percentile(waits, 50):.0f} ms over {len(waits)} /progress{still}",
        )
    limits = sandbox.rate_limits
    results.details["fanout"] = {
        "reminders": wanted,
        "arrived": sent,
        "seconds_to_first": first - began,
        "seconds_first_to_last": last - first,
        "messages_per_second": rate,
        "replies_during": during - sent,
        "rate_limit_hits": sandbox.rate_limit_hits,
        "peak_per_second": limits.peak_per_second if limits else None,
        "probe_waits_ms": answered,
        "probe_unanswered_s": unanswered,
        "probe_errors": dict(probe_tally.errors),
        "peak_rss_mb": process.peak_rss_kib / 1024,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="150 reminders")
    parser.add_argument("--reminders", type=int)
    arguments = parser.parse_args()
    asyncio.run(main(Results(smoke=arguments.smoke), arguments.reminders))
